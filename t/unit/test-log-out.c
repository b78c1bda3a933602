/* test-log-out.c: the bounded, non-blocking writer behind log forwarding. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <systemd/sd-event.h>

#include "log-out.h"
#include "macro.h"

struct waiter {
	struct log_waiter w;
	int calls;
};

static void on_ready(struct log_waiter *w)
{
	((struct waiter *)w)->calls++;
}

/* Writes 100-byte lines until @o refuses one. */
static void fill(struct log_out *o)
{
	char line[100];

	memset(line, 'x', sizeof(line));
	for (int i = 0; i < 100000; i++) {
		if (!log_out_reserve(o, sizeof(line)))
			return;
		log_out_append(o, line, sizeof(line));
		log_out_flush(o);
	}
	cr_assert_fail("the buffer never filled");
}

static void drain_pipe(int fd)
{
	char buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

Test(log_out, a_waiter_is_called_when_another_writer_drains_the_buffer)
{
	sd_event *e = NULL;
	struct log_out *o = NULL;
	struct waiter w = {.w = {.on_ready = on_ready}};
	int p[2];

	cr_assert_eq(sd_event_new(&e), 0);
	cr_assert_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	cr_assert_eq(log_out_new(e, p[1], LOG_OUT_WRITE, 8192, "test", &o), 0);
	fill(o);
	log_out_wait(o, &w.w);

	/* The reader takes everything; then another slot's line makes room by writing
	 * the whole buffer at once (log_out_reserve() flushes), not through the
	 * writable watch. */
	drain_pipe(p[0]);
	cr_assert(log_out_reserve(o, 8000));
	log_out_append(o, "y\n", 2);
	log_out_flush(o);
	cr_assert_leq(log_out_pending(o), 2);

	for (int i = 0; i < 10 && w.calls == 0; i++)
		cr_assert_geq(sd_event_run(e, 10 * USEC_PER_MSEC), 0);
	cr_assert_eq(w.calls, 1, "the waiter was never called: its slot would stay paused");

	log_out_free(o);
	close(p[0]);
	sd_event_unref(e);
}

Test(log_out, a_waiter_is_called_once_the_reader_made_room)
{
	sd_event *e = NULL;
	struct log_out *o = NULL;
	struct waiter w = {.w = {.on_ready = on_ready}};
	int p[2];

	cr_assert_eq(sd_event_new(&e), 0);
	cr_assert_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	cr_assert_eq(log_out_new(e, p[1], LOG_OUT_WRITE, 8192, "test", &o), 0);
	fill(o);
	log_out_wait(o, &w.w);
	cr_assert_gt(log_out_pending(o), 4096);
	cr_assert_geq(sd_event_run(e, 0), 0);
	cr_assert_eq(w.calls, 0, "called while the buffer was full");

	drain_pipe(p[0]);
	for (int i = 0; i < 10 && w.calls == 0; i++)
		cr_assert_geq(sd_event_run(e, 10 * USEC_PER_MSEC), 0);
	cr_assert_eq(w.calls, 1);

	log_out_free(o);
	close(p[0]);
	sd_event_unref(e);
}

/* The reader goes away while a slot waits: the write that finds out (for another
 * slot) must still let the waiter go, or its service stays paused for good. */
Test(log_out, a_waiter_is_called_when_the_sink_dies)
{
	sd_event *e = NULL;
	struct log_out *o = NULL;
	struct waiter w = {.w = {.on_ready = on_ready}};
	int p[2];

	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(sd_event_new(&e), 0);
	cr_assert_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	cr_assert_eq(log_out_new(e, p[1], LOG_OUT_WRITE, 8192, "test", &o), 0);
	fill(o);
	log_out_wait(o, &w.w);
	close(p[0]);
	/* Another slot's line: its flush meets EPIPE. */
	(void)log_out_reserve(o, 8000);
	for (int i = 0; i < 10 && w.calls == 0; i++)
		cr_assert_geq(sd_event_run(e, 10 * USEC_PER_MSEC), 0);
	cr_assert_eq(w.calls, 1, "the waiter was never called: its slot would stay paused");
	/* And the dead sink does not keep the loop awake: its watch goes off. */
	{
		int r = 1;
		for (int i = 0; i < 3 && r > 0; i++)
			r = sd_event_run(e, 0);
		cr_assert_eq(r, 0, "a dead sink keeps waking the loop");
	}
	log_out_free(o);
	sd_event_unref(e);
}

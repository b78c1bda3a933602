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

/* A loop, an 8 KiB sink on a pipe nobody read yet, filled until it refused a line,
 * and a waiter queued on it. */
struct rig {
	sd_event *e;
	struct log_out *o;
	struct waiter w;
	int p[2]; /* p[0]: the reader's end */
};

static void rig_full(struct rig *r)
{
	*r = (struct rig){.w = {.w = {.on_ready = on_ready}}};
	cr_assert_eq(sd_event_new(&r->e), 0);
	cr_assert_eq(pipe2(r->p, O_CLOEXEC | O_NONBLOCK), 0);
	cr_assert_eq(log_out_new(r->e, r->p[1], LOG_OUT_WRITE, 8192, "test", &r->o), 0);
	fill(r->o);
	log_out_wait(r->o, &r->w.w);
}

/* Runs the loop until the waiter was called, for 100 ms at most. */
static void rig_run_until_called(struct rig *r)
{
	for (int i = 0; i < 10 && r->w.calls == 0; i++)
		cr_assert_geq(sd_event_run(r->e, 10 * USEC_PER_MSEC), 0);
}

static void rig_free(struct rig *r)
{
	log_out_free(r->o);
	if (r->p[0] >= 0)
		close(r->p[0]);
	sd_event_unref(r->e);
}

Test(log_out, a_waiter_is_called_when_another_writer_drains_the_buffer)
{
	struct rig r;

	rig_full(&r);
	/* The reader takes everything; then another slot's line makes room by writing
	 * the whole buffer at once (log_out_reserve() flushes), not through the
	 * writable watch. */
	drain_pipe(r.p[0]);
	cr_assert(log_out_reserve(r.o, 8000));
	log_out_append(r.o, "y\n", 2);
	log_out_flush(r.o);
	cr_assert_leq(log_out_pending(r.o), 2);

	rig_run_until_called(&r);
	cr_assert_eq(r.w.calls, 1, "the waiter was never called: its slot would stay paused");
	rig_free(&r);
}

Test(log_out, a_waiter_is_called_once_the_reader_made_room)
{
	struct rig r;

	rig_full(&r);
	cr_assert_gt(log_out_pending(r.o), 4096);
	cr_assert_geq(sd_event_run(r.e, 0), 0);
	cr_assert_eq(r.w.calls, 0, "called while the buffer was full");

	drain_pipe(r.p[0]);
	rig_run_until_called(&r);
	cr_assert_eq(r.w.calls, 1);
	rig_free(&r);
}

/* The reader goes away while a slot waits: the write that finds out (for another
 * slot) must still let the waiter go, or its service stays paused for good. */
Test(log_out, a_waiter_is_called_when_the_sink_dies)
{
	struct rig r;

	signal(SIGPIPE, SIG_IGN);
	rig_full(&r);
	close(TAKE_FD(r.p[0]));
	/* Another slot's line: its flush meets EPIPE. */
	(void)log_out_reserve(r.o, 8000);
	rig_run_until_called(&r);
	cr_assert_eq(r.w.calls, 1, "the waiter was never called: its slot would stay paused");
	/* And the dead sink does not keep the loop awake: its watch goes off. */
	{
		int k = 1;
		for (int i = 0; i < 3 && k > 0; i++)
			k = sd_event_run(r.e, 0);
		cr_assert_eq(k, 0, "a dead sink keeps waking the loop");
	}
	rig_free(&r);
}

/* test-notify.c: parsing sd_notify datagrams, and a notify socket on a real loop:
 * messages delivered, passed fds closed, the watchdog. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <systemd/sd-daemon.h>

#include "macro.h"
#include "notify.h"

static struct notify_message parse(const char *text)
{
	struct notify_message m;

	notify_parse(text, strlen(text), &m);
	return m;
}

Test(notify, parses_the_messages_vigil_understands)
{
	struct notify_message m = parse("READY=1\nSTATUS=Serving 3 clients\nWATCHDOG=1");

	cr_assert(m.ready);
	cr_assert(m.watchdog);
	cr_assert_not(m.stopping);
	cr_assert_not(m.watchdog_trigger);
	cr_assert(m.has_status);
	cr_assert_str_eq(m.status, "Serving 3 clients");

	m = parse("STOPPING=1\n");
	cr_assert(m.stopping);
	cr_assert_not(m.ready);
	cr_assert_not(m.has_status);

	m = parse("WATCHDOG=trigger");
	cr_assert(m.watchdog_trigger);
	cr_assert_not(m.watchdog);
}

Test(notify, ignores_what_it_does_not_know_and_near_misses)
{
	struct notify_message m = parse("MAINPID=42\nREADY=0\nREADY=11\nBARRIER=1\nERRNO=2\n");

	cr_assert_not(m.ready);
	cr_assert_not(m.has_status);
}

Test(notify, an_empty_status_is_a_status)
{
	struct notify_message m = parse("STATUS=");

	cr_assert(m.has_status);
	cr_assert_str_eq(m.status, "");
}

Test(notify, status_keeps_utf8_and_masks_control_characters_and_bad_bytes)
{
	struct notify_message m = parse("STATUS=caf\xc3\xa9 \xe2\x9c\x93\tok\x01\xff\xc3");

	cr_assert_str_eq(m.status, "caf\xc3\xa9 \xe2\x9c\x93 ok ??");
	/* An overlong encoding and a surrogate are not UTF-8. */
	m = parse("STATUS=\xc0\xaf\xed\xa0\x80");
	cr_assert_str_eq(m.status, "?????");
}

Test(notify, a_long_status_is_cut_between_characters)
{
	char text[NOTIFY_STATUS_MAX + 64] = "STATUS=";
	struct notify_message m;
	size_t n = strlen(text);

	/* 'a' then 3-byte characters, so the cap falls inside one of them. */
	text[n++] = 'a';
	while (n + 3 < sizeof(text) - 1) {
		memcpy(text + n, "\xe2\x9c\x93", 3);
		n += 3;
	}
	text[n] = '\0';
	m = parse(text);
	cr_assert_leq(strlen(m.status), NOTIFY_STATUS_MAX);
	cr_assert_eq((strlen(m.status) - 1) % 3, 0);
}

/* ---- on a loop ---- */

struct got {
	sd_event *event;
	int messages, watchdogs;
	struct notify_message last;
};

static void on_message(struct notify *n, const struct notify_message *m, void *userdata)
{
	struct got *g = userdata;

	(void)n;
	g->messages++;
	g->last = *m;
}

static void on_watchdog(struct notify *n, void *userdata)
{
	struct got *g = userdata;

	(void)n;
	g->watchdogs++;
}

/* Runs the loop until @counter reaches @n (the test's timeout bounds it). */
static void run_until(sd_event *e, const int *counter, int n)
{
	while (*counter < n)
		cr_assert_geq(sd_event_run(e, UINT64_MAX), 0);
}

/* Sends @text to @path like sd_notify(), with @fd passed along when >= 0. */
static void send_to(const char *path, const char *text, int fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct iovec iov = {.iov_base = (char *)text, .iov_len = strlen(text)};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control = {0};
	struct msghdr mh = {
		.msg_name = &sa,
		.msg_namelen = sizeof(sa),
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0) {
		struct cmsghdr *c;

		mh.msg_control = &control;
		mh.msg_controllen = sizeof(control.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	cr_assert_geq(sendmsg(s, &mh, 0), 0, "sendmsg: %s", strerror(errno));
	close(s);
}

struct world {
	char dir[64], path[128];
	struct got got;
	struct notify *n;
};

static void world_init(struct world *w)
{
	*w = (struct world){0};
	snprintf(w->dir, sizeof(w->dir), "/tmp/vigil-notify.XXXXXX");
	cr_assert(mkdtemp(w->dir));
	snprintf(w->path, sizeof(w->path), "%s/svc", w->dir);
	cr_assert_geq(sd_event_new(&w->got.event), 0);
	cr_assert_eq(notify_new(w->got.event, w->path, on_message, on_watchdog, &w->got, &w->n), 0);
}

static void world_free(struct world *w)
{
	notify_free(w->n);
	cr_assert_neq(access(w->path, F_OK), 0, "the socket is unlinked");
	sd_event_unref(w->got.event);
	rmdir(w->dir);
}

Test(notify_socket, delivers_messages_and_closes_the_fds_sent_along, .timeout = 10)
{
	struct world w;
	struct stat st;
	int pipefd[2];
	struct pollfd pfd;

	world_init(&w);
	cr_assert_eq(stat(w.path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0666, "any user's service may send");
	cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
	/* Like systemd-notify's BARRIER=1: it waits until vigild closed the write end. */
	send_to(w.path, "READY=1\nSTATUS=up", pipefd[1]);
	close(pipefd[1]);
	run_until(w.got.event, &w.got.messages, 1);
	cr_assert_eq(w.got.messages, 1);
	cr_assert(w.got.last.ready);
	cr_assert_str_eq(w.got.last.status, "up");
	cr_assert_eq(w.got.last.pid, getpid());
	cr_assert_eq(w.got.last.uid, getuid());
	pfd = (struct pollfd){.fd = pipefd[0], .events = POLLIN};
	cr_assert_eq(poll(&pfd, 1, 1000), 1, "the passed fd was closed");
	cr_assert(pfd.revents & POLLHUP);
	close(pipefd[0]);
	cr_assert_eq(notify_get_accepted(w.n), 1);
	world_free(&w);
}

Test(notify_socket, flush_drops_what_an_earlier_run_sent, .timeout = 10)
{
	struct world w;

	world_init(&w);
	send_to(w.path, "READY=1", -1);
	notify_flush(w.n);
	send_to(w.path, "STATUS=second run", -1);
	run_until(w.got.event, &w.got.messages, 1);
	cr_assert_eq(w.got.messages, 1);
	cr_assert_not(w.got.last.ready);
	cr_assert_str_eq(w.got.last.status, "second run");
	world_free(&w);
}

Test(notify_socket, the_watchdog_fires_unless_fed, .timeout = 10)
{
	struct world w;

	world_init(&w);
	notify_watchdog_start(w.n, 300 * MSEC);
	/* Fed once: the deadline moves 300ms on from that message. */
	send_to(w.path, "WATCHDOG=1", -1);
	run_until(w.got.event, &w.got.messages, 1);
	cr_assert_eq(w.got.watchdogs, 0);
	cr_assert(w.got.last.watchdog);
	run_until(w.got.event, &w.got.watchdogs, 1);
	cr_assert_eq(w.got.messages, 1);
	world_free(&w);
}

Test(notify_socket, oversized_datagrams_are_dropped, .timeout = 10)
{
	struct world w;
	char big[6000];

	world_init(&w);
	memset(big, 'x', sizeof(big) - 1);
	memcpy(big, "STATUS=", 7);
	big[sizeof(big) - 1] = '\0';
	send_to(w.path, big, -1);
	send_to(w.path, "STATUS=small", -1);
	run_until(w.got.event, &w.got.messages, 1);
	cr_assert_str_eq(w.got.last.status, "small");
	cr_assert_eq(notify_get_dropped(w.n), 1);
	world_free(&w);
}

Test(notify_prefix, names_abstract_sockets_with_room_for_any_service)
{
	char *a = NULL, *b = NULL;

	cr_assert_eq(notify_prefix_new(&a), 0);
	cr_assert_eq(notify_prefix_new(&b), 0);
	cr_assert_eq(a[0], '@');
	cr_assert_neq(strcmp(a, b), 0, "the random part differs");
	cr_assert_lt(strlen(a) + 1 + 64, sizeof(((struct sockaddr_un *)0)->sun_path));
	free(a);
	free(b);
}

Test(notify_socket, an_abstract_name_receives_what_sd_notify_sends, .timeout = 10)
{
	struct got got = {0};
	struct notify *n = NULL;
	char *prefix = NULL, path[128];

	cr_assert_eq(notify_prefix_new(&prefix), 0);
	snprintf(path, sizeof(path), "%s/svc", prefix);
	cr_assert_geq(sd_event_new(&got.event), 0);
	cr_assert_eq(notify_new(got.event, path, on_message, on_watchdog, &got, &n), 0);
	/* libsystemd reads the '@' itself: the real client, unchanged. */
	setenv("NOTIFY_SOCKET", path, 1);
	cr_assert_gt(sd_notify(0, "READY=1\nSTATUS=abstract"), 0);
	unsetenv("NOTIFY_SOCKET");
	run_until(got.event, &got.messages, 1);
	cr_assert(got.last.ready);
	cr_assert_str_eq(got.last.status, "abstract");
	notify_free(n);
	sd_event_unref(got.event);
	free(prefix);
}

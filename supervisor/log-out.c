/* log-out.c: the non-blocking writer behind log forwarding. */
#include "log-out.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"

#define LOG_OUT_INITIAL (16U * 1024U)

struct log_out {
	sd_event *event;
	sd_event_source *writable; /* created on the first EAGAIN */
	int fd;
	enum log_out_kind kind;
	char *buf;
	size_t off, len, cap, max;
	struct log_waiter *waiters;
	bool dead; /* a write failed for good: drop everything */
	char what[32];
};

static void wake_waiters(struct log_out *o)
{
	struct log_waiter *w = TAKE_PTR(o->waiters);

	/* Each may append and queue itself again: work on a detached list. */
	while (w) {
		struct log_waiter *next = w->next;

		w->next = NULL;
		w->queued = false;
		w->on_ready(w);
		w = next;
	}
}

static int on_writable(sd_event_source *src, int fd, uint32_t revents, void *userdata);

static void watch_writable(struct log_out *o, bool on)
{
	if (!o->writable) {
		if (!on)
			return;
		if (sd_event_add_io(o->event, &o->writable, o->fd, EPOLLOUT, on_writable, o) < 0) {
			/* Cannot wait (epoll refuses this fd): write blocking from now on. */
			o->kind = LOG_OUT_BLOCKING;
			return;
		}
		(void)sd_event_source_set_description(o->writable, "log-out");
	}
	(void)sd_event_source_set_enabled(o->writable, on ? SD_EVENT_ON : SD_EVENT_OFF);
}

static void fail(struct log_out *o, int err)
{
	log_warning_errno(err, "Failed to write to %s; its lines are dropped from now on", o->what);
	o->dead = true;
	o->off = o->len = 0;
	/* Waiters are let go from on_writable(), as ever: a pipe or socket whose reader
	 * left polls at once (EPOLLERR), and with them gone the watch goes off. */
	watch_writable(o, o->waiters != NULL);
}

/* One attempt at writing @n bytes; returns what was written, or -errno. */
static ssize_t write_some(struct log_out *o, const char *p, size_t n)
{
	ssize_t k;

	switch (o->kind) {
	case LOG_OUT_SEND:
		k = send(o->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	case LOG_OUT_POLL:
	case LOG_OUT_POLL_TTY: {
		/* A pipe that polls writable has a free page, so a write of up to PIPE_BUF
		 * bytes completes at once; a terminal polls writable with fewer than 256
		 * bytes queued. */
		struct pollfd pfd = {.fd = o->fd, .events = POLLOUT};
		size_t chunk = o->kind == LOG_OUT_POLL ? PIPE_BUF : 256;

		if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLOUT))
			return pfd.revents & (POLLERR | POLLHUP) ? -EPIPE : -EAGAIN;
		k = write(o->fd, p, MIN(n, chunk));
		break;
	}
	default:
		k = write(o->fd, p, n);
		break;
	}
	return k < 0 ? -errno : k;
}

static void flush(struct log_out *o)
{
	while (o->off < o->len && !o->dead) {
		ssize_t k = write_some(o, o->buf + o->off, o->len - o->off);

		if (k == -EINTR)
			continue;
		if (k == -EAGAIN && o->kind != LOG_OUT_BLOCKING) {
			watch_writable(o, true);
			return;
		}
		if (k < 0) {
			fail(o, (int)k);
			return;
		}
		o->off += (size_t)k;
	}
	o->off = o->len = 0;
	/* Drained, here or from a writer making room: waiters are still called only from
	 * on_writable(), never from inside a writer (they would take the room it just
	 * made), and an fd with room polls writable at once. */
	watch_writable(o, o->waiters != NULL);
}

static int on_writable(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct log_out *o = userdata;

	(void)src;
	(void)fd;
	(void)revents;
	flush(o);
	if (o->len - o->off <= o->max / 2)
		wake_waiters(o);
	return 0;
}

int log_out_new(sd_event *event, int fd, enum log_out_kind kind, size_t max, const char *what,
		struct log_out **ret)
{
	struct log_out *o = calloc(1, sizeof(*o));

	if (!o) {
		close(fd);
		return -ENOMEM;
	}
	o->event = event;
	o->fd = fd;
	o->kind = kind;
	o->max = max;
	snprintf(o->what, sizeof(o->what), "%s", what);
	*ret = o;
	return 0;
}

struct log_out *log_out_free(struct log_out *o)
{
	if (!o)
		return NULL;
	sd_event_source_disable_unref(o->writable);
	if (o->fd >= 0)
		close(o->fd);
	free(o->buf);
	o->buf = NULL;
	o->off = o->len = o->cap = 0;
	o->dead = true;
	wake_waiters(o);
	free(o);
	return NULL;
}

static bool has_room(const struct log_out *o, size_t n)
{
	return o->cap - o->len >= n;
}

bool log_out_reserve(struct log_out *o, size_t n)
{
	if (o->dead || has_room(o, n))
		return true;
	if (o->off > 0 || o->len > 0) {
		flush(o);
		if (o->off > 0) {
			memmove(o->buf, o->buf + o->off, o->len - o->off);
			o->len -= o->off;
			o->off = 0;
		}
		if (o->dead || has_room(o, n))
			return true;
	}
	if (o->cap < o->max || o->len == 0) {
		/* An empty buffer takes any line, even one larger than the cap. */
		size_t cap = MAX(o->cap * 2, LOG_OUT_INITIAL);
		char *b;

		cap = MAX(MIN(cap, o->max), o->len + n);
		if (cap > o->max && o->len > 0)
			return false;
		b = realloc(o->buf, cap);
		if (!b)
			return false;
		o->buf = b;
		o->cap = cap;
	}
	return has_room(o, n);
}

void log_out_append(struct log_out *o, const void *p, size_t n)
{
	if (o->dead || n == 0)
		return;
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

void log_out_flush(struct log_out *o)
{
	if (o->len > o->off && !o->dead &&
	    !(o->writable && sd_event_source_get_enabled(o->writable, NULL) > 0))
		flush(o);
}

void log_out_wait(struct log_out *o, struct log_waiter *w)
{
	if (w->queued)
		return;
	/* FIFO: the first to block is the first to go on. */
	struct log_waiter **i = &o->waiters;
	while (*i)
		i = &(*i)->next;
	w->next = NULL;
	*i = w;
	w->queued = true;
	/* Whoever waits is called from on_writable(): it must be watched. */
	watch_writable(o, true);
}

void log_out_cancel_wait(struct log_out *o, struct log_waiter *w)
{
	if (!w->queued)
		return;
	for (struct log_waiter **i = &o->waiters; *i; i = &(*i)->next)
		if (*i == w) {
			*i = w->next;
			break;
		}
	w->next = NULL;
	w->queued = false;
}

size_t log_out_pending(const struct log_out *o)
{
	return o->len - o->off;
}

bool log_out_drain(struct log_out *o, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = o->fd, .events = POLLOUT};
		uint64_t now;

		flush(o);
		if (o->dead || o->len == o->off)
			return true;
		now = clock_now(CLOCK_MONOTONIC);
		if (now >= deadline)
			return false;
		(void)poll(
			&pfd, 1, (int)MIN((deadline - now) / USEC_PER_MSEC + 1, (uint64_t)INT_MAX));
	}
}

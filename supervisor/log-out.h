/* log-out.h: a bounded buffer in front of a pipe, terminal or socket (vigild's
 * stdout, a journald stream) that never blocks the loop: when the reader is slow
 * the buffer fills, refuses lines, and calls its waiters once it has drained. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

struct log_out;

/* How to write without blocking (log-forward.c chooses). */
enum log_out_kind {
	LOG_OUT_WRITE,    /* write(2) on a description of our own with O_NONBLOCK */
	LOG_OUT_SEND,     /* send(2) with MSG_DONTWAIT: a socket, whatever its flags */
	LOG_OUT_POLL,     /* poll(2) then write(2) of at most PIPE_BUF bytes: a shared
			   * blocking pipe we could not reopen */
	LOG_OUT_POLL_TTY, /* the same with at most 256 bytes: a shared terminal */
	LOG_OUT_BLOCKING, /* write(2) and wait: a regular file, which never says EAGAIN */
};

/* Someone waiting for room; embed it in the owner. */
struct log_waiter {
	void (*on_ready)(struct log_waiter *w);
	struct log_waiter *next; /* the log_out's */
	bool queued;
};

/* Wraps @fd (owned, closed by log_out_free()) written as @kind, holding at most
 * @max bytes; @what names it in messages ("stdout"). The buffer is allocated by the
 * first line. Returns 0 or -ENOMEM (the fd is closed then). */
int log_out_new(sd_event *event, int fd, enum log_out_kind kind, size_t max, const char *what,
		struct log_out **ret);
/* Discards what is left (call log_out_drain() first to keep it), closes the fd and
 * calls every waiter, which must not use @o any more. Accepts NULL, returns NULL. */
struct log_out *log_out_free(struct log_out *o);

/* True when @n more bytes fit, after writing what it can and growing the buffer.
 * A sink that failed for good (EPIPE: nobody reads any more) takes everything and
 * drops it. */
bool log_out_reserve(struct log_out *o, size_t n);
/* Appends @n bytes that log_out_reserve() made room for. */
void log_out_append(struct log_out *o, const void *p, size_t n);
/* Writes what it can now; the rest goes when the fd is writable again. */
void log_out_flush(struct log_out *o);
/* Queues @w to be called once, when at least half the buffer is free again. */
void log_out_wait(struct log_out *o, struct log_waiter *w);
void log_out_cancel_wait(struct log_out *o, struct log_waiter *w);
/* Bytes waiting to be written. */
size_t log_out_pending(const struct log_out *o);
/* Outside the loop (at exit): writes everything, waiting at most until @deadline
 * (CLOCK_MONOTONIC µs) for the reader. Calls no waiter. Returns true when empty. */
bool log_out_drain(struct log_out *o, uint64_t deadline);

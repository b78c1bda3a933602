/* log-tail.h: a service's in-memory tail (`log-buffer`): the newest lines in a
 * byte ring that drops the oldest. Pure: memory only, time comes as an argument. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log-format.h"

/* Bytes a stored line costs on top of its text. */
#define LOG_TAIL_HEADER 16
/* The first allocation, made by the first line (never above the cap). */
#define LOG_TAIL_INITIAL (16U * 1024U)

/* Every line ever appended has a sequence number, counting from 0; the ring holds
 * those in [first_seq, next_seq). */
struct log_tail {
	char *buf;   /* NULL until the first line */
	size_t cap;  /* allocated, <= max */
	size_t max;  /* log-buffer; 0: no tail */
	size_t head; /* offset of the oldest line */
	size_t used;
	uint64_t first_seq, next_seq;
	unsigned gen; /* changes whenever stored lines move */
};

/* A reader's position: the next line it wants. */
struct log_tail_cursor {
	uint64_t seq;
	size_t off;
	unsigned gen;
};

struct log_tail_entry {
	uint64_t seq;
	uint64_t time; /* CLOCK_REALTIME µs when vigild read it */
	enum log_stream stream;
	bool continued;  /* continues the previous line (cut at LOG_LINE_MAX) */
	bool truncated;  /* cut to fit a log-buffer smaller than the line */
	size_t len;      /* bytes of text */
	size_t text_off; /* where the text starts in the ring */
};

/* An empty tail holding at most @max bytes; allocates nothing. */
void log_tail_init(struct log_tail *t, size_t max);
/* Frees the ring; the tail is empty and keeps its cap. */
void log_tail_clear(struct log_tail *t);
/* Changes the cap; shrinking drops the oldest lines. Returns 0 or -ENOMEM (then the
 * tail is emptied and takes the new cap). */
int log_tail_set_max(struct log_tail *t, size_t max);

/* Stores a line, dropping the oldest ones to make room; a line larger than the
 * whole tail keeps its first bytes and is marked truncated. Allocates on the first
 * line and when growing, never beyond the cap. Returns 0, or -ENOMEM (the line is
 * not stored). Sequence numbers count the lines stored. */
int log_tail_append(struct log_tail *t, uint64_t time, enum log_stream s, bool continued,
		    const char *p, size_t n);

/* Counts @n lines without storing them, for a caller that knows the lines it appends
 * next fill the whole tail: every line it holds goes, as they would. */
void log_tail_skip(struct log_tail *t, uint64_t n);

/* Places @c at the oldest of the last @lines lines (at the end for 0). */
void log_tail_seek_last(const struct log_tail *t, size_t lines, struct log_tail_cursor *c);
/* Reads the line at @c into @ret without moving @c. Returns 0, -EAGAIN when @c is at
 * the end, or a positive count of lines dropped before the reader got to them (then
 * @c moved to the oldest line kept; call again). */
int log_tail_peek(const struct log_tail *t, struct log_tail_cursor *c, struct log_tail_entry *ret);
/* Moves @c past @e, the line log_tail_peek() just returned. */
void log_tail_advance(const struct log_tail *t, struct log_tail_cursor *c,
		      const struct log_tail_entry *e);
/* Copies up to @size bytes of the text of @e, from byte @offset on, to @buf.
 * Returns the number copied. */
size_t log_tail_copy(const struct log_tail *t, const struct log_tail_entry *e, size_t offset,
		     char *buf, size_t size);

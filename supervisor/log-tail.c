/* log-tail.c: the in-memory tail, a byte ring of [header][text] records that may
 * wrap around its end. */
#include "log-tail.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

#define FLAG_CONTINUED 1U
#define FLAG_TRUNCATED 2U

struct record_header {
	uint64_t time;
	uint32_t len;
	uint8_t stream;
	uint8_t flags;
	uint16_t pad;
};

_Static_assert(sizeof(struct record_header) == LOG_TAIL_HEADER, "header size");

static size_t wrap(const struct log_tail *t, size_t off)
{
	return off >= t->cap ? off - t->cap : off;
}

/* Every line passes here: the common case, no wrap, is one memcpy. */
static inline void ring_put(struct log_tail *t, size_t off, const void *p, size_t n)
{
	size_t first = t->cap - off;

	if (n <= first) {
		memcpy(t->buf + off, p, n);
		return;
	}
	memcpy(t->buf + off, p, first);
	memcpy(t->buf, (const char *)p + first, n - first);
}

static inline void ring_get(const struct log_tail *t, size_t off, void *p, size_t n)
{
	size_t first = t->cap - off;

	if (n <= first) {
		memcpy(p, t->buf + off, n);
		return;
	}
	memcpy(p, t->buf + off, first);
	memcpy((char *)p + first, t->buf, n - first);
}

/* Headers are read and written once per line: a constant-size memcpy the compiler
 * turns into two moves, unless the header wraps. */
static inline struct record_header header_at(const struct log_tail *t, size_t off)
{
	struct record_header h;

	if (t->cap - off >= sizeof(h))
		memcpy(&h, t->buf + off, sizeof(h));
	else
		ring_get(t, off, &h, sizeof(h));
	return h;
}

static inline void header_put(struct log_tail *t, size_t off, const struct record_header *h)
{
	if (t->cap - off >= sizeof(*h))
		memcpy(t->buf + off, h, sizeof(*h));
	else
		ring_put(t, off, h, sizeof(*h));
}

void log_tail_init(struct log_tail *t, size_t max)
{
	*t = (struct log_tail){.max = max};
}

void log_tail_clear(struct log_tail *t)
{
	size_t max = t->max;
	uint64_t next = t->next_seq;
	unsigned gen = t->gen + 1;

	free(t->buf);
	*t = (struct log_tail){.max = max, .first_seq = next, .next_seq = next, .gen = gen};
}

static void drop_oldest(struct log_tail *t)
{
	struct record_header h = header_at(t, t->head);
	size_t n = sizeof(h) + h.len;

	t->head = wrap(t, t->head + n);
	t->used -= n;
	t->first_seq++;
}

/* Moves the records into a new ring of @cap bytes (>= used), oldest first at 0. */
static int relocate(struct log_tail *t, size_t cap)
{
	char *b = malloc(cap);

	if (!b)
		return -ENOMEM;
	if (t->used > 0)
		ring_get(t, t->head, b, t->used);
	free(t->buf);
	t->buf = b;
	t->cap = cap;
	t->head = 0;
	t->gen++;
	return 0;
}

int log_tail_set_max(struct log_tail *t, size_t max)
{
	t->max = max;
	while (t->used > max)
		drop_oldest(t);
	if (t->cap > max) {
		if (max == 0 || relocate(t, max) < 0) {
			log_tail_clear(t);
			return max == 0 ? 0 : -ENOMEM;
		}
	}
	return 0;
}

int log_tail_append(struct log_tail *t, uint64_t time, enum log_stream s, bool continued,
		    const char *p, size_t n)
{
	struct record_header h = {.time = time, .stream = (uint8_t)s};
	size_t need, off;

	if (t->max <= sizeof(h))
		return 0; /* no tail */
	if (continued)
		h.flags |= FLAG_CONTINUED;
	if (n > t->max - sizeof(h)) {
		n = t->max - sizeof(h);
		h.flags |= FLAG_TRUNCATED;
	}
	h.len = (uint32_t)n;
	need = sizeof(h) + n;
	if (t->cap - t->used < need && t->cap < t->max) {
		size_t cap = MAX(t->cap * 2, LOG_TAIL_INITIAL);

		/* Failing to grow, a ring that is large enough goes on dropping instead. */
		if (relocate(t, MIN(MAX(cap, t->used + need), t->max)) < 0 && t->cap < need)
			return -ENOMEM;
	}
	while (t->cap - t->used < need)
		drop_oldest(t);
	off = wrap(t, t->head + t->used);
	header_put(t, off, &h);
	ring_put(t, wrap(t, off + sizeof(h)), p, n);
	t->used += need;
	t->next_seq++;
	return 0;
}

void log_tail_skip(struct log_tail *t, uint64_t n)
{
	if (t->max <= sizeof(struct record_header) || n == 0)
		return; /* no tail: nothing counts */
	t->head = t->used = 0;
	t->next_seq += n;
	t->first_seq = t->next_seq;
	t->gen++;
}

void log_tail_seek_last(const struct log_tail *t, size_t lines, struct log_tail_cursor *c)
{
	uint64_t kept = t->next_seq - t->first_seq;

	*c = (struct log_tail_cursor){
		.seq = lines >= kept ? t->first_seq : t->next_seq - lines,
		.gen = t->gen - 1, /* not located yet */
	};
}

/* Finds the ring offset of c->seq (first_seq <= seq <= next_seq) by walking. */
static void locate(const struct log_tail *t, struct log_tail_cursor *c)
{
	size_t off = t->head;

	for (uint64_t s = t->first_seq; s < c->seq; s++)
		off = wrap(t, off + sizeof(struct record_header) + header_at(t, off).len);
	c->off = off;
	c->gen = t->gen;
}

int log_tail_peek(const struct log_tail *t, struct log_tail_cursor *c, struct log_tail_entry *ret)
{
	struct record_header h;

	if (c->seq < t->first_seq) {
		uint64_t lost = t->first_seq - c->seq;

		c->seq = t->first_seq;
		c->gen = t->gen - 1;
		return lost > INT32_MAX ? INT32_MAX : (int)lost;
	}
	if (c->seq >= t->next_seq)
		return -EAGAIN;
	if (c->gen != t->gen)
		locate(t, c);
	h = header_at(t, c->off);
	*ret = (struct log_tail_entry){
		.seq = c->seq,
		.time = h.time,
		.stream = h.stream == LOG_STREAM_ERR ? LOG_STREAM_ERR : LOG_STREAM_OUT,
		.continued = h.flags & FLAG_CONTINUED,
		.truncated = h.flags & FLAG_TRUNCATED,
		.len = h.len,
		.text_off = wrap(t, c->off + sizeof(h)),
	};
	return 0;
}

void log_tail_advance(const struct log_tail *t, struct log_tail_cursor *c,
		      const struct log_tail_entry *e)
{
	c->seq = e->seq + 1;
	c->off = wrap(t, e->text_off + e->len);
}

size_t log_tail_copy(const struct log_tail *t, const struct log_tail_entry *e, size_t offset,
		     char *buf, size_t size)
{
	size_t n;

	if (offset >= e->len)
		return 0;
	n = MIN(size, e->len - offset);
	ring_get(t, wrap(t, e->text_off + offset), buf, n);
	return n;
}

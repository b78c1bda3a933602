/* log-split.c: cutting a byte stream into lines, with memchr and memcpy only. */
#include "log-split.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

size_t log_split_next(const char *p, size_t n, size_t max, size_t *ret_len)
{
	const char *nl = memchr(p, '\n', MIN(n, max + 1));

	if (nl) {
		*ret_len = (size_t)(nl - p);
		return *ret_len + 1;
	}
	if (n > max) {
		*ret_len = max;
		return max;
	}
	return 0;
}

static int reserve(struct log_splitter *s, size_t need)
{
	size_t cap = s->cap ? s->cap : 256;
	char *b;

	if (need <= s->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	b = realloc(s->buf, cap);
	if (!b)
		return -ENOMEM;
	s->buf = b;
	s->cap = cap;
	return 0;
}

static int append(struct log_splitter *s, const char *p, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	r = reserve(s, s->len + n);
	if (r < 0) {
		s->len = 0;
		s->continued = false;
		return r;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

/* Hands out the lines of @q[0..@m) while @fn takes them. Returns the bytes used;
 * sets s->stopped on a refusal. */
static size_t emit_lines(struct log_splitter *s, const char *q, size_t m, log_line_fn *fn,
			 void *userdata)
{
	size_t done = 0;

	while (done < m) {
		size_t len, used = log_split_next(q + done, m - done, LOG_LINE_MAX, &len);

		if (used == 0)
			break;
		if (!fn(q + done, len, s->continued, userdata)) {
			s->stopped = true;
			break;
		}
		/* A piece without its newline is continued by the next line. */
		s->continued = used == len;
		done += used;
	}
	return done;
}

int log_splitter_feed(struct log_splitter *s, const char *p, size_t n, log_line_fn *fn,
		      void *userdata)
{
	size_t used;

	/* Complete the held partial line with the fewest bytes of @p. */
	while (s->len > 0 && n > 0) {
		size_t look = MIN(n, LOG_LINE_MAX + 1 - s->len);
		const char *nl = memchr(p, '\n', look);
		size_t take, len;
		int r;

		if (!nl && s->len + n <= LOG_LINE_MAX)
			return append(s, p, n); /* still partial */
		take = nl ? (size_t)(nl - p) + 1 : LOG_LINE_MAX - s->len;
		r = append(s, p, take);
		if (r < 0)
			return r;
		len = nl ? s->len - 1 : s->len;
		p += take;
		n -= take;
		if (!fn(s->buf, len, s->continued, userdata)) {
			s->stopped = true;
			return append(s, p, n);
		}
		s->continued = !nl;
		s->len = 0;
	}
	used = emit_lines(s, p, n, fn, userdata);
	return append(s, p + used, n - used);
}

bool log_splitter_resume(struct log_splitter *s, log_line_fn *fn, void *userdata)
{
	size_t used;

	s->stopped = false;
	used = emit_lines(s, s->buf, s->len, fn, userdata);
	if (used > 0) {
		memmove(s->buf, s->buf + used, s->len - used);
		s->len -= used;
	}
	return !s->stopped;
}

bool log_splitter_finish(struct log_splitter *s, log_line_fn *fn, void *userdata)
{
	if (!log_splitter_resume(s, fn, userdata))
		return false;
	if (s->len > 0) {
		if (!fn(s->buf, s->len, s->continued, userdata)) {
			s->stopped = true;
			return false;
		}
		s->len = 0;
	}
	s->continued = false;
	return true;
}

void log_splitter_clear(struct log_splitter *s)
{
	free(s->buf);
	*s = (struct log_splitter){0};
}

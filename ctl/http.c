/* http.c: vigilctl's HTTP/1.1 client over the control socket (why not libcurl:
 * see http.h), one request per connection, with a response parser that takes its
 * input in any pieces. */
#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum {
	ST_STATUS,
	ST_HEADER,
	ST_BODY_LENGTH,
	ST_BODY_CLOSE,
	ST_CHUNK_SIZE,
	ST_CHUNK_DATA,
	ST_CHUNK_END, /* the CRLF after a chunk's data */
	ST_TRAILER,
	ST_DONE,
};

void http_parser_init(struct http_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->state = ST_STATUS;
}

static int parse_status(struct http_parser *p, const char *l)
{
	/* "HTTP/1.1 200 OK": the reason phrase is optional. */
	if (strncmp(l, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)l[7]) || l[8] != ' ')
		return -EBADMSG;
	l += 9;
	if (!isdigit((unsigned char)l[0]) || !isdigit((unsigned char)l[1]) ||
	    !isdigit((unsigned char)l[2]) || (l[3] != '\0' && l[3] != ' ') || l[0] == '0')
		return -EBADMSG;
	p->status = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	p->state = ST_HEADER;
	return 0;
}

static bool has_token(const char *list, const char *token)
{
	size_t n = strlen(token);

	for (const char *s = list; *s;) {
		s += strspn(s, " \t,");
		if (strncasecmp(s, token, n) == 0 && (s[n] == '\0' || strchr(" \t,;", s[n])))
			return true;
		s += strcspn(s, ",");
	}
	return false;
}

/* The end of the head: decide how the body is delimited (RFC 9112 §6.3). */
static int end_of_head(struct http_parser *p)
{
	p->headers_done = true;
	if (p->status < 200 || p->status == 204 || p->status == 304) {
		/* 1xx would be followed by the real answer; we send no Expect, so none comes. */
		if (p->status < 200)
			return -EBADMSG;
		p->mode = HTTP_BODY_NONE;
		p->state = ST_DONE;
	} else if (p->mode == HTTP_BODY_CHUNKED)
		p->state = ST_CHUNK_SIZE;
	else if (p->have_length) {
		p->mode = HTTP_BODY_LENGTH;
		p->state = p->remaining ? ST_BODY_LENGTH : ST_DONE;
	} else {
		p->mode = HTTP_BODY_CLOSE;
		p->state = ST_BODY_CLOSE;
	}
	p->done = p->state == ST_DONE;
	return 0;
}

static int parse_header(struct http_parser *p, char *l)
{
	char *colon, *v, *end;

	if (!*l)
		return end_of_head(p);
	colon = strchr(l, ':');
	if (!colon || colon == l || strchr(" \t", colon[-1]))
		return -EBADMSG;
	*colon = '\0';
	v = colon + 1 + strspn(colon + 1, " \t");
	for (end = v + strlen(v); end > v && strchr(" \t", end[-1]); end--)
		*(end - 1) = '\0';
	if (strcasecmp(l, "Content-Length") == 0) {
		uint64_t n = 0;

		if (!*v || strlen(v) > 18 || strspn(v, "0123456789") != strlen(v))
			return -EBADMSG;
		n = strtoull(v, NULL, 10);
		if (p->have_length && p->remaining != n)
			return -EBADMSG; /* two different lengths: cannot frame the body */
		p->have_length = true;
		p->remaining = n;
	} else if (strcasecmp(l, "Transfer-Encoding") == 0) {
		if (has_token(v, "chunked"))
			p->mode = HTTP_BODY_CHUNKED;
		else
			return -EBADMSG; /* a coding we cannot undo */
	} else if (strcasecmp(l, "Content-Type") == 0)
		snprintf(p->content_type, sizeof(p->content_type), "%s", v);
	return 0;
}

static int parse_chunk_size(struct http_parser *p, const char *l)
{
	uint64_t n = 0;
	size_t digits = 0;

	for (; isxdigit((unsigned char)*l); l++, digits++) {
		if (digits >= 15)
			return -EBADMSG; /* no overflow, and no chunk needs more */
		n = n * 16 + (uint64_t)(isdigit((unsigned char)*l)
						? *l - '0'
						: tolower((unsigned char)*l) - 'a' + 10);
	}
	l += strspn(l, " \t");
	if (digits == 0 || (*l && *l != ';'))
		return -EBADMSG;
	p->remaining = n;
	p->state = n ? ST_CHUNK_DATA : ST_TRAILER;
	return 0;
}

/* One complete line, CRLF or LF stripped. */
static int parse_line(struct http_parser *p, char *l)
{
	switch (p->state) {
	case ST_STATUS:
		return parse_status(p, l);
	case ST_HEADER:
		return parse_header(p, l);
	case ST_CHUNK_SIZE:
		return parse_chunk_size(p, l);
	case ST_CHUNK_END:
		if (*l)
			return -EBADMSG;
		p->state = ST_CHUNK_SIZE;
		return 0;
	case ST_TRAILER:
		if (!*l) {
			p->state = ST_DONE;
			p->done = true;
		}
		return 0;
	default:
		return -EBADMSG;
	}
}

static bool in_line_state(const struct http_parser *p)
{
	return p->state == ST_STATUS || p->state == ST_HEADER || p->state == ST_CHUNK_SIZE ||
	       p->state == ST_CHUNK_END || p->state == ST_TRAILER;
}

int http_parser_feed(struct http_parser *p, const char *data, size_t len, http_body_fn *on_body,
		     void *userdata)
{
	int r;

	while (len > 0 && p->state != ST_DONE) {
		if (in_line_state(p)) {
			char c = *data++;

			len--;
			if (!p->headers_done && ++p->head_bytes > HTTP_HEADERS_MAX)
				return -EBADMSG;
			if (c != '\n') {
				if (p->line_len + 1 >= sizeof(p->line))
					return -EBADMSG;
				p->line[p->line_len++] = c;
				continue;
			}
			if (p->line_len > 0 && p->line[p->line_len - 1] == '\r')
				p->line_len--;
			if (memchr(p->line, '\0', p->line_len) ||
			    memchr(p->line, '\r', p->line_len))
				return -EBADMSG;
			p->line[p->line_len] = '\0';
			p->line_len = 0;
			r = parse_line(p, p->line);
			if (r < 0)
				return r;
			continue;
		}
		{
			size_t n = len;

			if (p->state != ST_BODY_CLOSE && n > p->remaining)
				n = (size_t)p->remaining;
			if (on_body && n > 0) {
				r = on_body(data, n, userdata);
				if (r < 0)
					return r;
			}
			data += n;
			len -= n;
			if (p->state == ST_BODY_CLOSE)
				continue;
			p->remaining -= n;
			if (p->remaining > 0)
				continue;
			if (p->state == ST_CHUNK_DATA)
				p->state = ST_CHUNK_END;
			else {
				p->state = ST_DONE;
				p->done = true;
			}
		}
	}
	return p->state == ST_DONE ? 1 : 0;
}

int http_parser_eof(struct http_parser *p)
{
	if (p->state == ST_BODY_CLOSE) {
		p->state = ST_DONE;
		p->done = true;
	}
	return p->state == ST_DONE ? 1 : -EBADMSG;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int http_open(const char *path, const char *method, const char *target, int *ret_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t plen = strlen(path);
	char req[2048];
	int fd, n, r;

	if (plen >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, plen + 1);
	n = snprintf(req,
		     sizeof(req),
		     /* HTTP/1.1, so that a stream comes chunked: its end is then told from
		      * vigild going away mid-stream, where HTTP/1.0 reads both as EOF. */
		     "%s %s HTTP/1.1\r\nHost: vigil\r\nConnection: close\r\n"
		     "User-Agent: vigilctl/" PACKAGE_VERSION "\r\n%s\r\n",
		     method,
		     target,
		     strcmp(method, "POST") == 0 ? "Content-Length: 0\r\n" : "");
	if (n < 0 || n >= (int)sizeof(req))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	/* The request goes out whole and the write side stays open: the server reads
	 * a half-close as the client leaving. */
	r = send_all(fd, req, (size_t)n);
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int http_read(int fd, struct http_parser *p, int timeout_ms, http_body_fn *on_body, void *userdata)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char buf[16384];
	ssize_t n;
	int r;

	if (p->done)
		return 1;
	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	do
		n = read(fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == ECONNRESET ? http_parser_eof(p) : -errno;
	if (n == 0)
		return http_parser_eof(p);
	return http_parser_feed(p, buf, (size_t)n, on_body, userdata);
}

static int collect(const char *data, size_t len, void *userdata)
{
	struct http_response *r = userdata;
	char *b;

	if (r->len + len > HTTP_BODY_MAX)
		return -EFBIG;
	b = realloc(r->body, r->len + len + 1);
	if (!b)
		return -ENOMEM;
	memcpy(b + r->len, data, len);
	r->body = b;
	r->len += len;
	b[r->len] = '\0';
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int http_request(const char *path, const char *method, const char *target, int timeout_ms,
		 struct http_response *ret)
{
	struct http_response res = {0};
	struct http_parser p;
	long long end = now_ms() + timeout_ms;
	int fd, r;

	r = http_open(path, method, target, &fd);
	if (r < 0)
		return r;
	http_parser_init(&p);
	do {
		long long left = end - now_ms();

		r = http_read(fd,
			      &p,
			      timeout_ms < 0 ? -1
			      : left > 0     ? (int)left
					     : 0,
			      collect,
			      &res);
	} while (r == 0);
	close(fd);
	if (r < 0) {
		free(res.body);
		return r;
	}
	if (!res.body && !(res.body = calloc(1, 1)))
		return -ENOMEM;
	res.status = p.status;
	*ret = res;
	return 0;
}

void http_response_clear(struct http_response *r)
{
	free(r->body);
	*r = (struct http_response){0};
}

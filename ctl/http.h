/* http.h: vigilctl's HTTP client for the control socket: a response parser
 * (status line, headers, bodies by Content-Length, chunked or until close) and
 * one HTTP/1.1 request per unix-socket connection (Connection: close).
 *
 * This is the one place where vigil speaks a protocol without a library. vigilctl
 * runs inside health checks and scripts, so it must start fast: on our machine an
 * empty program linked with libcurl took 8.6 ms to start against 0.7 ms unlinked
 * (33 shared libraries, a TLS stack among them), more than the whole 3 ms budget of
 * `vigilctl status`. Over a local socket, to our own server, the protocol needed is
 * small: no TLS, proxies, redirects, cookies or keep-alive. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// clang-format off
#define HTTP_LINE_MAX    4096            /* one status, header, chunk-size or trailer line */
#define HTTP_HEADERS_MAX (64 * 1024)     /* the whole head of a response */
#define HTTP_BODY_MAX    (64 * 1024 * 1024) /* what http_request() keeps in memory */
// clang-format on

/* Receives body bytes as they are decoded. Returns 0, or a negative errno to stop. */
typedef int http_body_fn(const char *data, size_t len, void *userdata);

enum http_body_mode { HTTP_BODY_NONE, HTTP_BODY_LENGTH, HTTP_BODY_CHUNKED, HTTP_BODY_CLOSE };

struct http_parser {
	int status; /* valid once headers_done */
	bool headers_done, done;
	char content_type[128];
	enum http_body_mode mode;
	/* the parser's own */
	int state;
	uint64_t remaining; /* of the body, or of the current chunk */
	bool have_length;
	size_t head_bytes;
	size_t line_len;
	char line[HTTP_LINE_MAX];
};

void http_parser_init(struct http_parser *p);

/* Feeds @len bytes from the server; body bytes go to @on_body (may be NULL).
 * Returns 0 while more is expected, 1 once the response is complete (what follows
 * is ignored), -EBADMSG for a malformed response, or @on_body's error. */
int http_parser_feed(struct http_parser *p, const char *data, size_t len, http_body_fn *on_body,
		     void *userdata);

/* The server closed the connection. Returns 1 when the response is complete (a body
 * delimited by the close ends here), -EBADMSG when it was cut short. */
int http_parser_eof(struct http_parser *p);

/* Connects to the unix socket @path and sends `METHOD TARGET HTTP/1.1` (POSTs with
 * an empty body). Returns 0 with the connection in *ret_fd, or a negative errno:
 * connect()'s (-ENOENT, -ECONNREFUSED, -EACCES...) or -ENAMETOOLONG. */
int http_open(const char *path, const char *method, const char *target, int *ret_fd);

/* Reads what arrives on @fd within @timeout_ms (-1: no limit) and feeds @p.
 * Returns 1 once the response is complete, 0 when more is expected, -ETIMEDOUT when
 * nothing came in time, -EBADMSG, or a negative errno. */
int http_read(int fd, struct http_parser *p, int timeout_ms, http_body_fn *on_body, void *userdata);

struct http_response {
	int status;
	char *body; /* NUL-terminated */
	size_t len;
};

/* One whole exchange: connect, send, read the entire response within @timeout_ms.
 * Returns 0 with *ret filled (free with http_response_clear()), or a negative errno
 * as http_open() and http_read() (-EFBIG past HTTP_BODY_MAX). */
int http_request(const char *path, const char *method, const char *target, int timeout_ms,
		 struct http_response *ret);
void http_response_clear(struct http_response *r);

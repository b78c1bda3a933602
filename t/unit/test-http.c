/* test-http.c: vigilctl's HTTP client: the response parser, in whole and in pieces,
 * and one exchange with a server that misbehaves on request. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "http.h"

struct sink {
	char buf[8192];
	size_t len;
	int calls;
};

static int to_sink(const char *data, size_t len, void *userdata)
{
	struct sink *s = userdata;

	cr_assert_lt(s->len + len, sizeof(s->buf));
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	s->buf[s->len] = '\0';
	s->calls++;
	return 0;
}

/* Feeds @text in pieces of @step bytes (0: all at once). Returns the last result. */
static int feed(struct http_parser *p, const char *text, size_t step, struct sink *s)
{
	size_t len = strlen(text);
	int r = 0;

	http_parser_init(p);
	memset(s, 0, sizeof(*s));
	if (step == 0)
		step = len;
	for (size_t i = 0; i < len && r == 0; i += step)
		r = http_parser_feed(p, text + i, len - i < step ? len - i : step, to_sink, s);
	return r;
}

static const char chunked[] = "HTTP/1.1 200 OK\r\n"
			      "Content-Type: application/x-ndjson\r\n"
			      "Transfer-Encoding: chunked\r\n"
			      "\r\n"
			      "6\r\nhello \r\n"
			      "1A;name=value\r\nabcdefghijklmnopqrstuvwxyz\r\n"
			      "0\r\n"
			      "X-Trailer: yes\r\n"
			      "\r\n";

Test(http, reads_a_body_of_content_length)
{
	struct http_parser p;
	struct sink s;

	cr_assert_eq(feed(&p,
			  "HTTP/1.0 404 Not Found\r\nContent-Type: application/json\r\n"
			  "Content-Length: 13\r\n\r\n{\"error\":\"x\"}",
			  0,
			  &s),
		     1);
	cr_assert_eq(p.status, 404);
	cr_assert_str_eq(p.content_type, "application/json");
	cr_assert_eq(p.mode, HTTP_BODY_LENGTH);
	cr_assert_str_eq(s.buf, "{\"error\":\"x\"}");
}

Test(http, decodes_chunks_with_extensions_and_trailers)
{
	struct http_parser p;
	struct sink s;

	cr_assert_eq(feed(&p, chunked, 0, &s), 1);
	cr_assert_eq(p.status, 200);
	cr_assert_eq(p.mode, HTTP_BODY_CHUNKED);
	cr_assert_str_eq(s.buf, "hello abcdefghijklmnopqrstuvwxyz");
}

Test(http, takes_its_input_one_byte_at_a_time)
{
	struct http_parser p;
	struct sink s;

	for (size_t step = 1; step < 8; step++) {
		cr_assert_eq(feed(&p, chunked, step, &s), 1, "step %zu", step);
		cr_assert_str_eq(s.buf, "hello abcdefghijklmnopqrstuvwxyz", "step %zu", step);
	}
	cr_assert_eq(feed(&p, "HTTP/1.0 200 OK\nContent-Length: 5\n\n12345", 1, &s), 1);
	cr_assert_str_eq(s.buf, "12345");
}

Test(http, hands_over_a_stream_as_it_arrives)
{
	struct http_parser p;
	struct sink s;
	const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

	http_parser_init(&p);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(http_parser_feed(&p, head, strlen(head), to_sink, &s), 0);
	cr_assert(p.headers_done);
	cr_assert_eq(http_parser_feed(&p, "4\r\nab\n\r", 7, to_sink, &s), 0);
	cr_assert_str_eq(s.buf, "ab\n\r");
	cr_assert_eq(http_parser_feed(&p, "\n3\r\ncd\n\r\n", 10, to_sink, &s), 0);
	cr_assert_str_eq(s.buf, "ab\n\rcd\n");
	/* The stream was cut: the response is incomplete. */
	cr_assert_eq(http_parser_eof(&p), -EBADMSG);
}

Test(http, a_body_without_a_length_ends_when_the_server_closes)
{
	struct http_parser p;
	struct sink s;

	cr_assert_eq(feed(&p, "HTTP/1.0 200 OK\r\n\r\n{\"a\":1}\n{\"b\":2}\n", 3, &s), 0);
	cr_assert_eq(p.mode, HTTP_BODY_CLOSE);
	cr_assert_eq(http_parser_eof(&p), 1);
	cr_assert_str_eq(s.buf, "{\"a\":1}\n{\"b\":2}\n");
}

Test(http, a_close_before_the_declared_length_is_an_error)
{
	struct http_parser p;
	struct sink s;

	cr_assert_eq(feed(&p, "HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\n12345", 0, &s), 0);
	cr_assert_eq(http_parser_eof(&p), -EBADMSG);
	cr_assert_eq(feed(&p, "HTTP/1.0 200 OK\r\nContent-Le", 0, &s), 0);
	cr_assert_eq(http_parser_eof(&p), -EBADMSG);
}

Test(http, no_content_and_empty_bodies_complete_at_once)
{
	struct http_parser p;
	struct sink s;

	cr_assert_eq(feed(&p, "HTTP/1.1 204 No Content\r\n\r\n", 0, &s), 1);
	cr_assert_eq(feed(&p, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", 0, &s), 1);
	cr_assert_eq(s.calls, 0);
}

Test(http, ignores_what_follows_a_complete_response)
{
	struct http_parser p;
	struct sink s;

	cr_assert_eq(
		feed(&p, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 500 x\r\n", 0, &s),
		1);
	cr_assert_str_eq(s.buf, "ok");
	cr_assert_eq(http_parser_feed(&p, "more", 4, to_sink, &s), 1);
	cr_assert_str_eq(s.buf, "ok");
}

Test(http, rejects_malformed_status_lines)
{
	static const char *const bad[] = {
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000\r\n\r\n",
		"http/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 abc\r\n\r\n",
		"GARBAGE\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\n",
		"HTTP/1.1 099 x\r\n\r\n",
	};
	struct http_parser p;
	struct sink s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(feed(&p, bad[i], 0, &s), -EBADMSG, "accepted %s", bad[i]);
	cr_assert_eq(feed(&p, "HTTP/1.1 200\r\n\r\n", 0, &s), 0, "the reason phrase is optional");
}

Test(http, rejects_bad_framing)
{
	static const char *const bad[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
		"HTTP/1.1 200 OK\r\nSpace : before colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n",
	};
	struct http_parser p;
	struct sink s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(feed(&p, bad[i], 0, &s), -EBADMSG, "accepted %s", bad[i]);
	cr_assert_eq(feed(&p,
			  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
			  0,
			  &s),
		     1,
		     "two equal lengths are fine");
}

Test(http, caps_the_length_of_the_head)
{
	struct http_parser p;
	struct sink s;
	size_t n = HTTP_HEADERS_MAX + 100;
	char *big = malloc(n + 64);
	size_t len = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\n");

	while (len + 20 < n)
		len += (size_t)sprintf(big + len, "X-Filler: 12345678\r\n");
	strcpy(big + len, "\r\n");
	cr_assert_eq(feed(&p, big, 0, &s), -EBADMSG);
	free(big);

	big = malloc(HTTP_LINE_MAX + 64);
	len = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\nX: ");
	memset(big + len, 'a', HTTP_LINE_MAX);
	strcpy(big + len + HTTP_LINE_MAX, "\r\n\r\n");
	cr_assert_eq(feed(&p, big, 0, &s), -EBADMSG);
	free(big);
}

static int refuse(const char *data, size_t len, void *userdata)
{
	(void)data;
	(void)len;
	(void)userdata;
	return -EPIPE;
}

Test(http, a_sink_error_stops_the_parser)
{
	struct http_parser p;
	const char *text = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

	http_parser_init(&p);
	cr_assert_eq(http_parser_feed(&p, text, strlen(text), refuse, NULL), -EPIPE);
}

/* ---- one exchange over a unix socket ---- */

static char dir[64];
static char sock_path[128];
static pid_t server = -1;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/vigil-http.XXXXXX");
	cr_assert(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/s.sock", dir);
}

static void teardown(void)
{
	if (server > 0) {
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
	}
	unlink(sock_path);
	rmdir(dir);
}

/* Starts a server that reads a request head, then writes @answer and closes
 * (with @answer NULL it never answers). */
static void serve(const char *answer)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0);
	strcpy(sa.sun_path, sock_path);
	cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	cr_assert(listen(fd, 4) == 0);
	server = fork();
	cr_assert(server >= 0);
	if (server == 0) {
		char buf[4096];
		size_t len = 0;
		int c = accept(fd, NULL, NULL);
		ssize_t n;

		while (c >= 0 && (n = read(c, buf + len, sizeof(buf) - 1 - len)) > 0) {
			len += (size_t)n;
			buf[len] = '\0';
			if (strstr(buf, "\r\n\r\n"))
				break;
		}
		/* The request line and headers, as vigild will read them: one request per
		 * connection, so that MHD closes it after the answer. */
		if (!strstr(buf, " HTTP/1.1\r\n") || !strstr(buf, "Host: vigil\r\n") ||
		    !strstr(buf, "Connection: close\r\n"))
			_exit(3);
		if (!answer)
			pause();
		(void)!write(c, answer, strlen(answer));
		_exit(0);
	}
	close(fd);
}

TestSuite(http_exchange, .init = setup, .fini = teardown, .timeout = 10);

Test(http_exchange, reads_a_whole_chunked_answer)
{
	struct http_response res;

	serve(chunked);
	cr_assert_eq(http_request(sock_path, "GET", "/v1/events", 2000, &res), 0);
	cr_assert_eq(res.status, 200);
	cr_assert_str_eq(res.body, "hello abcdefghijklmnopqrstuvwxyz");
	cr_assert_eq(res.len, strlen(res.body));
	http_response_clear(&res);
}

Test(http_exchange, reads_a_body_that_ends_at_the_close)
{
	struct http_response res;

	serve("HTTP/1.0 503 Service Unavailable\r\n\r\n{\"status\":\"unhealthy\"}\n");
	cr_assert_eq(http_request(sock_path, "POST", "/v1/reload", 2000, &res), 0);
	cr_assert_eq(res.status, 503);
	cr_assert_str_eq(res.body, "{\"status\":\"unhealthy\"}\n");
	http_response_clear(&res);
}

Test(http_exchange, gives_up_on_a_server_that_never_answers)
{
	struct http_response res;

	serve(NULL);
	cr_assert_eq(http_request(sock_path, "GET", "/v1/services", 200, &res), -ETIMEDOUT);
}

Test(http_exchange, reports_a_missing_socket_and_a_cut_answer)
{
	struct http_response res;

	cr_assert_eq(http_request(sock_path, "GET", "/", 200, &res), -ENOENT);
	serve("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
	cr_assert_eq(http_request(sock_path, "GET", "/", 2000, &res), -EBADMSG);
}

/* vigilctl.c: the command line of SPEC §8: a table of subcommands, each one HTTP
 * request over the control socket (wait: two), printed for people or as JSON, and
 * the SPEC's exit codes. Knows nothing of supervisor/: only the HTTP API. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "http.h"
#include "socket-path.h"

enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1, /* the operation failed, or unhealthy */
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3,
	EXIT_NO_SERVICE = 4,
};

/* A request that does not stream gets this long before vigild counts as unreachable. */
#define VIGILCTL_TIMEOUT_MS 30000
/* `wait` without -t gives up after this many seconds. */
#define VIGILCTL_WAIT_DEFAULT 60.0
/* While waiting, also look again this often: a ready flag may change without a
 * state transition (readiness probes), and only transitions are events. */
#define VIGILCTL_WAIT_RECHECK_MS 1000

struct ctx {
	const char *socket;
	bool json;
	bool color;
	long long deadline; /* ms (now_ms()): no request may outlast it (`wait -t`); 0: none */
};

struct command {
	const char *name;
	int (*run)(struct ctx *c, int argc, char **argv); /* argv[0] is the command */
	const char *args;
};

static int worse(int a, int b)
{
	return a > b ? a : b;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The socket vigild listens on by default (the same code). */
static const char *default_socket(void)
{
	static char buf[4096];

	socket_default_path(buf, sizeof(buf));
	return buf;
}

/* A socket in /tmp/vigil-UID, the default without XDG_RUNTIME_DIR, is trusted only
 * when that directory is this user's own, no link, mode 0700 (vigild checks the
 * same): anyone may create it first and put a socket of theirs in it. */
static bool socket_dir_trusted(const char *socket)
{
	char own[32];
	struct stat st;

	if (!socket_in_own_tmp_dir(socket))
		return true;
	socket_own_tmp_dir(own);
	if (lstat(own, &st) < 0)
		return true; /* nothing there: connecting says so */
	if (socket_dir_private(&st))
		return true;
	fprintf(stderr,
		"vigilctl: not trusting %s: %s is not a directory of this user's with mode "
		"0700\n",
		socket,
		own);
	return false;
}

/* Percent-encodes @s for a path segment or a query value. */
static void encode(const char *s, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s && n + 4 < size; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch))
			out[n++] = (char)ch;
		else {
			out[n++] = '%';
			out[n++] = hex[ch >> 4];
			out[n++] = hex[ch & 15];
		}
	}
	out[n] = '\0';
}

static void unreachable(const struct ctx *c, int err)
{
	fprintf(stderr, "vigilctl: cannot reach vigild at %s: %s\n", c->socket, strerror(-err));
}

/* One whole request. Returns 0 with *res, or the exit code after saying why. */
static int call(const struct ctx *c, const char *method, const char *target,
		struct http_response *res)
{
	long long left = c->deadline ? c->deadline - now_ms() : VIGILCTL_TIMEOUT_MS;
	int r = http_request(c->socket,
			     method,
			     target,
			     left < 1                     ? 1
			     : left > VIGILCTL_TIMEOUT_MS ? VIGILCTL_TIMEOUT_MS
							  : (int)left,
			     res);

	/* `wait -t`'s time is up: its caller says so. */
	if (r == -ETIMEDOUT && c->deadline)
		return -ETIMEDOUT;
	if (r == -EBADMSG || r == -EFBIG) {
		fprintf(stderr, "vigilctl: malformed answer from vigild at %s\n", c->socket);
		return EXIT_FAILED;
	}
	if (r < 0) {
		unreachable(c, r);
		return EXIT_UNREACHABLE;
	}
	return 0;
}

static json_t *parse(const struct http_response *res)
{
	return json_loadb(res->body, res->len, 0, NULL);
}

/* Prints the {"error": ...} of an answer and maps its status to an exit code. */
static int report_error(const struct http_response *res)
{
	json_t *j = parse(res);
	const char *msg = json_string_value(json_object_get(j, "error"));

	if (msg)
		fprintf(stderr, "vigilctl: %s\n", msg);
	else
		fprintf(stderr, "vigilctl: vigild answered with HTTP status %d\n", res->status);
	json_decref(j);
	switch (res->status) {
	case 400:
		return EXIT_USAGE;
	case 404:
		return EXIT_NO_SERVICE;
	default:
		return EXIT_FAILED;
	}
}

/* One request whose answer must carry status @ok or @alt. Returns 0 with the status in
 * *status and the parsed body in *ret (NULL when it is not JSON), or the exit code
 * after saying why. */
static int call_json(const struct ctx *c, const char *method, const char *target, int ok, int alt,
		     int *status, json_t **ret)
{
	struct http_response res;
	int rc = call(c, method, target, &res);

	if (rc)
		return rc;
	if (res.status == ok || res.status == alt) {
		*status = res.status;
		*ret = parse(&res);
	} else
		rc = report_error(&res);
	http_response_clear(&res);
	return rc;
}

/* With --json: each service's answer goes into one array, an error's too
 * ({"service": NAME, "status": 409, "error": "..."}), so that a script sees them all. */
static void add_answer(json_t *answers, const char *name, const struct http_response *res)
{
	json_t *j = parse(res);

	if (!json_is_object(j)) {
		json_decref(j);
		j = json_object();
	}
	if (res->status >= 300)
		(void)json_object_set_new(j, "status", json_integer(res->status));
	if (!json_object_get(j, "service"))
		(void)json_object_set_new(j, "service", json_string(name));
	(void)json_array_append_new(answers, j);
}

static void print_json(const json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2));
	putchar('\n');
}

/* ---- colours ---- */

enum colour { C_NONE, C_GREEN, C_YELLOW, C_RED, C_DIM };

static const char *const colour_codes[] = {
	[C_NONE] = "",
	[C_GREEN] = "\033[32m",
	[C_YELLOW] = "\033[33m",
	[C_RED] = "\033[1;31m",
	[C_DIM] = "\033[2m",
};

static enum colour state_colour(const char *state)
{
	if (strcmp(state, "running") == 0)
		return C_GREEN;
	if (strcmp(state, "failed") == 0)
		return C_RED;
	if (strcmp(state, "stopped") == 0 || strcmp(state, "exited") == 0)
		return C_DIM;
	return C_YELLOW; /* on its way: waiting, starting, stopping, backoff */
}

/* ---- status ---- */

enum { COL_NAME, COL_STATE, COL_PID, COL_UPTIME, COL_RESTARTS, COL_READY, COL_HEALTH, COL_COUNT };

static const char *const col_names[COL_COUNT] = {
	"NAME", "STATE", "PID", "UPTIME", "RESTARTS", "READY", "HEALTH"};

static void format_uptime(json_t *v, char *buf, size_t size)
{
	long long s;

	if (!json_is_integer(v)) {
		snprintf(buf, size, "-");
		return;
	}
	s = json_integer_value(v);
	if (s < 60)
		snprintf(buf, size, "%llds", s);
	else if (s < 3600)
		snprintf(buf, size, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, size, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

static void status_cells(json_t *svc, char cells[COL_COUNT][72], enum colour colours[COL_COUNT])
{
	const char *state = json_string_value(json_object_get(svc, "state"));
	const char *health = json_string_value(json_object_get(svc, "health"));
	json_t *pid = json_object_get(svc, "pid");
	bool ready = json_is_true(json_object_get(svc, "ready"));

	memset(colours, 0, sizeof(colours[0]) * COL_COUNT);
	snprintf(cells[COL_NAME], 72, "%s", json_string_value(json_object_get(svc, "name")) ?: "?");
	snprintf(cells[COL_STATE], 72, "%s", state ? state : "?");
	colours[COL_STATE] = state_colour(cells[COL_STATE]);
	if (json_is_integer(pid))
		snprintf(cells[COL_PID], 72, "%lld", (long long)json_integer_value(pid));
	else
		snprintf(cells[COL_PID], 72, "-");
	format_uptime(json_object_get(svc, "uptime"), cells[COL_UPTIME], 72);
	snprintf(cells[COL_RESTARTS],
		 72,
		 "%lld",
		 (long long)json_integer_value(json_object_get(svc, "restarts")));
	snprintf(cells[COL_READY], 72, "%s", ready ? "yes" : "no");
	colours[COL_READY] = ready ? C_GREEN : C_NONE;
	snprintf(cells[COL_HEALTH], 72, "%s", health ? health : "?");
	colours[COL_HEALTH] = !health                            ? C_NONE
			      : strcmp(health, "healthy") == 0   ? C_GREEN
			      : strcmp(health, "unhealthy") == 0 ? C_RED
								 : C_NONE;
}

static void print_table(const struct ctx *c, json_t *list)
{
	size_t n = json_array_size(list), width[COL_COUNT];
	char(*cells)[COL_COUNT][72] = calloc(n ? n : 1, sizeof(*cells));
	enum colour(*colours)[COL_COUNT] = calloc(n ? n : 1, sizeof(*colours));

	if (!cells || !colours) {
		free(cells);
		free(colours);
		fprintf(stderr, "vigilctl: out of memory\n");
		return;
	}
	for (int k = 0; k < COL_COUNT; k++)
		width[k] = strlen(col_names[k]);
	for (size_t i = 0; i < n; i++) {
		status_cells(json_array_get(list, i), cells[i], colours[i]);
		for (int k = 0; k < COL_COUNT; k++)
			if (strlen(cells[i][k]) > width[k])
				width[k] = strlen(cells[i][k]);
	}
	for (int k = 0; k + 1 < COL_COUNT; k++)
		printf("%-*s  ", (int)width[k], col_names[k]);
	printf("%s\n", col_names[COL_COUNT - 1]);
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < COL_COUNT; k++) {
			bool paint = c->color && colours[i][k] != C_NONE;

			/* Pad outside the escape codes so the columns stay aligned. */
			printf("%s%s%s",
			       paint ? colour_codes[colours[i][k]] : "",
			       cells[i][k],
			       paint ? "\033[0m" : "");
			if (k + 1 < COL_COUNT)
				printf("%*s", (int)(width[k] - strlen(cells[i][k]) + 2), "");
			else
				putchar('\n');
		}
	free(cells);
	free(colours);
}

static json_t *find_by_name(json_t *list, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
	{
		const char *n = json_string_value(json_object_get(v, "name"));
		if (n && strcmp(n, name) == 0)
			return v;
	}
	return NULL;
}

/* GETs the list of services into *ret. Returns 0, or an exit code. */
static int get_services(const struct ctx *c, json_t **ret)
{
	json_t *list;
	int status, rc = call_json(c, "GET", "/v1/services", 200, 200, &status, &list);

	if (rc)
		return rc;
	if (!json_is_array(list)) {
		json_decref(list);
		fprintf(stderr, "vigilctl: malformed answer from vigild at %s\n", c->socket);
		return EXIT_FAILED;
	}
	*ret = list;
	return 0;
}

/* GETs one service's detailed view into *ret. Returns 0, or an exit code. */
static int get_service(const struct ctx *c, const char *name, json_t **ret)
{
	char enc[256], target[512];
	json_t *j;
	int status, rc;

	encode(name, enc, sizeof(enc));
	snprintf(target, sizeof(target), "/v1/services/%s", enc);
	rc = call_json(c, "GET", target, 200, 404, &status, &j);
	if (rc)
		return rc;
	if (status == 404) {
		json_decref(j);
		fprintf(stderr, "vigilctl: no such service '%s'\n", name);
		return EXIT_NO_SERVICE;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		fprintf(stderr, "vigilctl: malformed answer from vigild at %s\n", c->socket);
		return EXIT_FAILED;
	}
	*ret = j;
	return 0;
}

/* The lines under the table for `status NAME`: why, STATUS= text, last exit, and
 * each probe's last result. */
static void print_detail(json_t *svc)
{
	const char *name = json_string_value(json_object_get(svc, "name")) ?: "?";
	const char *reason = json_string_value(json_object_get(svc, "reason"));
	const char *status = json_string_value(json_object_get(svc, "status"));
	json_t *ex = json_object_get(svc, "exit"), *probes = json_object_get(svc, "probes"), *p;
	size_t i;

	printf("\n%s:\n", name);
	if (reason && *reason)
		printf("  reason:  %s\n", reason);
	if (status)
		printf("  status:  %s\n", status);
	if (json_is_object(ex)) {
		json_t *code = json_object_get(ex, "code");
		if (json_is_integer(code))
			printf("  exit:    code %lld\n", (long long)json_integer_value(code));
		else
			printf("  exit:    signal %s\n",
			       json_string_value(json_object_get(ex, "signal")) ?: "?");
	}
	json_array_foreach(probes, i, p)
	{
		json_t *last = json_object_get(p, "last");

		printf("  %-9s %s %s: ",
		       json_string_value(json_object_get(p, "role")) ?: "?",
		       json_string_value(json_object_get(p, "type")) ?: "?",
		       json_string_value(json_object_get(p, "target")) ?: "?");
		if (!json_is_object(last))
			printf("not checked yet\n");
		else
			printf("%s at %s in %.1fms, \"%s\", %lld failing in a row\n",
			       json_string_value(json_object_get(last, "result")) ?: "?",
			       json_string_value(json_object_get(last, "time")) ?: "?",
			       json_real_value(json_object_get(last, "duration")) * 1000.0,
			       json_string_value(json_object_get(last, "message")) ?: "",
			       (long long)json_integer_value(
				       json_object_get(p, "consecutive_failures")));
	}
}

static int cmd_status(struct ctx *c, int argc, char **argv)
{
	json_t *list;
	int rc = 0;

	if (argc == 1) {
		rc = get_services(c, &list);
		if (rc)
			return rc;
	} else {
		/* Named services: their detailed views, probes included. */
		list = json_array();
		for (int i = 1; i < argc; i++) {
			json_t *v = NULL;
			int r = get_service(c, argv[i], &v);

			if (r == EXIT_UNREACHABLE) {
				json_decref(list);
				return r;
			}
			if (r)
				rc = worse(rc, r);
			else
				json_array_append_new(list, v);
		}
	}
	if (c->json)
		print_json(list);
	else if (json_array_size(list) > 0 || argc == 1) {
		size_t i;
		json_t *v;

		print_table(c, list);
		if (argc > 1)
			json_array_foreach(list, i, v) print_detail(v);
	}
	json_decref(list);
	return rc;
}

/* ---- start, stop, restart, signal ---- */

static const char *const progress[][2] = {
	{"start", "starting"},
	{"stop", "stopping"},
	{"restart", "restarting"},
};

static int act(struct ctx *c, int argc, char **argv, const char *action)
{
	json_t *all = NULL, *answers = json_array();
	const char *gerund = action;
	char **names = argv + 1;
	int n = argc - 1, rc = EXIT_OK;

	for (size_t i = 0; i < sizeof(progress) / sizeof(progress[0]); i++)
		if (strcmp(progress[i][0], action) == 0)
			gerund = progress[i][1];
	for (int i = 0; i < n; i++)
		if (n > 1 && strcmp(names[i], "all") == 0) {
			fprintf(stderr,
				"vigilctl: %s all takes no service names beside it\n",
				action);
			json_decref(answers);
			return EXIT_USAGE;
		}
	if (n == 1 && strcmp(names[0], "all") == 0) {
		rc = get_services(c, &all);
		if (rc) {
			json_decref(answers);
			return rc;
		}
		n = (int)json_array_size(all);
	}
	for (int i = 0; i < n; i++) {
		const char *name = all ? json_string_value(json_object_get(
						 json_array_get(all, (size_t)i), "name"))
				       : names[i];
		char enc[256], target[512];
		struct http_response res;
		int r;

		if (!name)
			continue;
		encode(name, enc, sizeof(enc));
		snprintf(target, sizeof(target), "/v1/services/%s/%s", enc, action);
		r = call(c, "POST", target, &res);
		if (r == EXIT_UNREACHABLE) {
			rc = r;
			break;
		}
		if (r) {
			rc = worse(rc, r);
			continue;
		}
		if (c->json)
			add_answer(answers, name, &res);
		if (res.status == 202) {
			if (!c->json)
				printf("%s: %s\n", name, gerund);
		} else if (res.status == 409) {
			/* Nothing to do (already running, already stopped) is not a failure;
			 * with `all` it is the common case and goes unsaid. */
			if (!all)
				(void)report_error(&res);
		} else
			rc = worse(rc, report_error(&res));
		http_response_clear(&res);
	}
	if (c->json && rc != EXIT_UNREACHABLE)
		print_json(answers);
	json_decref(answers);
	json_decref(all);
	return rc;
}

static int cmd_start(struct ctx *c, int argc, char **argv)
{
	return act(c, argc, argv, "start");
}

static int cmd_stop(struct ctx *c, int argc, char **argv)
{
	return act(c, argc, argv, "stop");
}

static int cmd_restart(struct ctx *c, int argc, char **argv)
{
	return act(c, argc, argv, "restart");
}

static int cmd_signal(struct ctx *c, int argc, char **argv)
{
	json_t *answers = json_array();
	char sig[64];
	int rc = EXIT_OK;

	encode(argv[1], sig, sizeof(sig));
	for (int i = 2; i < argc; i++) {
		char enc[256], target[512];
		struct http_response res;
		int r;

		encode(argv[i], enc, sizeof(enc));
		snprintf(target, sizeof(target), "/v1/services/%s/signal?signal=%s", enc, sig);
		r = call(c, "POST", target, &res);
		if (r == EXIT_UNREACHABLE) {
			json_decref(answers);
			return r;
		}
		if (r) {
			rc = worse(rc, r);
			continue;
		}
		if (c->json)
			add_answer(answers, argv[i], &res);
		if (res.status == 200) {
			json_t *j = parse(&res);

			if (!c->json)
				printf("%s: SIG%s sent\n",
				       argv[i],
				       json_string_value(json_object_get(j, "signal")) ?: argv[1]);
			json_decref(j);
		} else
			rc = worse(rc, report_error(&res));
		http_response_clear(&res);
	}
	if (c->json)
		print_json(answers);
	json_decref(answers);
	return rc;
}

/* ---- streams: logs -f and events ---- */

struct stream {
	struct http_parser p;
	struct http_response err; /* the body of an error answer */
	http_body_fn *sink;       /* the body of a 200 */
	void *userdata;
};

static int stream_body(const char *data, size_t len, void *userdata)
{
	struct stream *s = userdata;
	char *b;

	if (s->p.status == 200)
		return s->sink(data, len, s->userdata);
	if (s->err.len + len > 65536)
		return 0;
	b = realloc(s->err.body, s->err.len + len + 1);
	if (!b)
		return -ENOMEM;
	memcpy(b + s->err.len, data, len);
	s->err.body = b;
	s->err.len += len;
	b[s->err.len] = '\0';
	return 0;
}

/* Streams the answer to GET @target into @sink until vigild ends it. Returns 0
 * after a complete 200, or the exit code; *status gets the HTTP status. */
static int stream(const struct ctx *c, const char *target, http_body_fn *sink, void *userdata,
		  int *status)
{
	struct stream s = {.sink = sink, .userdata = userdata};
	int fd, r, rc = EXIT_OK;

	r = http_open(c->socket, "GET", target, &fd);
	if (r < 0) {
		unreachable(c, r);
		return EXIT_UNREACHABLE;
	}
	http_parser_init(&s.p);
	do
		r = http_read(fd, &s.p, -1, stream_body, &s);
	while (r == 0);
	close(fd);
	*status = s.p.status;
	if (r < 0 && !s.p.headers_done) {
		fprintf(stderr, "vigilctl: malformed answer from vigild at %s\n", c->socket);
		rc = EXIT_FAILED;
	} else if (s.p.status != 200) {
		s.err.status = s.p.status;
		if (!s.err.body)
			s.err.body = calloc(1, 1);
		rc = report_error(&s.err);
	} else if (r < 0)
		rc = EXIT_FAILED; /* cut short mid-body */
	free(s.err.body);
	return rc;
}

static int write_out(const char *data, size_t len, void *userdata)
{
	(void)userdata;
	if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
		return -EPIPE;
	return 0;
}

static int cmd_logs(struct ctx *c, int argc, char **argv)
{
	char enc[256], target[512];
	long lines = -1;
	bool follow = false;
	int opt, status = 0, rc;

	optind = 0; /* glibc: start over, on the command's own arguments */
	/* Options may follow the name too (`logs web -f`). */
	while ((opt = getopt(argc, argv, "fn:")) >= 0) {
		char *end;

		switch (opt) {
		case 'f':
			follow = true;
			break;
		case 'n':
			lines = strtol(optarg, &end, 10);
			if (*end || end == optarg || lines < 0) {
				fprintf(stderr, "vigilctl: logs -n takes a number of lines\n");
				return EXIT_USAGE;
			}
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "Usage: vigilctl logs [-f] [-n N] NAME\n");
		return EXIT_USAGE;
	}
	encode(argv[optind], enc, sizeof(enc));
	if (lines >= 0)
		snprintf(target,
			 sizeof(target),
			 "/v1/services/%s/logs?lines=%ld%s",
			 enc,
			 lines,
			 follow ? "&follow=1" : "");
	else
		snprintf(target,
			 sizeof(target),
			 "/v1/services/%s/logs%s",
			 enc,
			 follow ? "?follow=1" : "");
	rc = stream(c, target, write_out, NULL, &status);
	if (status == 404) {
		/* Tell "no such service" (4) from an endpoint that answers 404 itself. */
		struct http_response res;

		snprintf(target, sizeof(target), "/v1/services/%s", enc);
		if (call(c, "GET", target, &res) == 0) {
			rc = res.status == 404 ? EXIT_NO_SERVICE : EXIT_FAILED;
			http_response_clear(&res);
		}
	}
	return rc;
}

/* Splits a body into lines and hands each complete one to @fn. */
struct lines {
	char buf[8192];
	size_t len;
	void (*fn)(const struct ctx *c, const char *line);
	const struct ctx *c;
	bool seen; /* a line arrived */
};

static int split_lines(const char *data, size_t len, void *userdata)
{
	struct lines *l = userdata;

	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n') {
			if (l->len + 1 < sizeof(l->buf))
				l->buf[l->len++] = data[i];
			continue;
		}
		l->buf[l->len] = '\0';
		l->len = 0;
		l->seen = true;
		if (l->fn && l->buf[0])
			l->fn(l->c, l->buf);
	}
	return 0;
}

static void print_event(const struct ctx *c, const char *line)
{
	json_t *j;
	const char *to;

	if (c->json) {
		printf("%s\n", line);
		fflush(stdout);
		return;
	}
	j = json_loads(line, 0, NULL);
	to = json_string_value(json_object_get(j, "to"));
	if (!to) {
		printf("%s\n", line);
	} else {
		enum colour col = state_colour(to);

		printf("%s %s: %s -> %s%s%s (%s)\n",
		       json_string_value(json_object_get(j, "time")) ?: "?",
		       json_string_value(json_object_get(j, "service")) ?: "?",
		       json_string_value(json_object_get(j, "from")) ?: "?",
		       c->color ? colour_codes[col] : "",
		       to,
		       c->color && col ? "\033[0m" : "",
		       json_string_value(json_object_get(j, "reason")) ?: "");
	}
	fflush(stdout);
	json_decref(j);
}

static int cmd_events(struct ctx *c, int argc, char **argv)
{
	struct lines l = {.fn = print_event, .c = c};
	int status = 0;

	(void)argc;
	(void)argv;
	return stream(c, "/v1/events", split_lines, &l, &status);
}

/* ---- reload, health, shutdown ---- */

static void print_names(const char *label, json_t *a)
{
	size_t i;
	json_t *v;

	printf("%s:", label);
	if (json_array_size(a) == 0)
		printf(" (none)");
	json_array_foreach(a, i, v)
	{
		printf("%s %s", i ? "," : "", json_string_value(v) ?: "?");
	}
	putchar('\n');
}

static int cmd_reload(struct ctx *c, int argc, char **argv)
{
	json_t *j;
	int status, rc;

	(void)argc;
	(void)argv;
	rc = call_json(c, "POST", "/v1/reload", 200, 422, &status, &j);
	if (rc)
		return rc;
	if (c->json)
		print_json(j);
	else if (status == 200) {
		print_names("added", json_object_get(j, "added"));
		print_names("removed", json_object_get(j, "removed"));
		print_names("changed", json_object_get(j, "changed"));
		printf("unchanged: %lld\n",
		       (long long)json_integer_value(json_object_get(j, "unchanged")));
	} else {
		size_t i;
		json_t *v;

		fprintf(stderr, "vigilctl: reload failed, nothing changed:\n");
		json_array_foreach(json_object_get(j, "errors"), i, v)
		{
			fprintf(stderr, "%s\n", json_string_value(v) ?: "?");
		}
	}
	json_decref(j);
	return status == 200 ? EXIT_OK : EXIT_FAILED;
}

static int cmd_health(struct ctx *c, int argc, char **argv)
{
	json_t *j;
	int status, rc;

	(void)argc;
	(void)argv;
	rc = call_json(c, "GET", "/healthz", 200, 503, &status, &j);
	if (rc)
		return rc;
	if (c->json)
		print_json(j);
	else if (status == 200)
		printf("healthy\n");
	else {
		size_t i;
		json_t *v;

		printf("unhealthy:\n");
		json_array_foreach(json_object_get(j, "failing"), i, v)
		{
			printf("  %s: %s (%s)\n",
			       json_string_value(json_object_get(v, "name")) ?: "?",
			       json_string_value(json_object_get(v, "state")) ?: "?",
			       json_string_value(json_object_get(v, "why")) ?: "");
		}
	}
	json_decref(j);
	return status == 200 ? EXIT_OK : EXIT_FAILED;
}

static int cmd_shutdown(struct ctx *c, int argc, char **argv)
{
	struct http_response res;
	int rc;

	(void)argc;
	(void)argv;
	rc = call(c, "POST", "/v1/shutdown", &res);
	if (rc)
		return rc;
	if (res.status == 202) {
		if (c->json)
			printf("%s", res.body);
		else
			printf("vigild is shutting down\n");
	} else
		rc = report_error(&res);
	http_response_clear(&res);
	return rc;
}

static int cmd_version(struct ctx *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (c->json) {
		json_t *j = json_pack("{s:s}", "vigilctl", PACKAGE_VERSION);

		if (!j)
			return EXIT_FAILED;
		print_json(j);
		json_decref(j);
	} else
		printf("vigilctl %s\n", PACKAGE_VERSION);
	return EXIT_OK;
}

/* ---- wait ---- */

/* Looks at the named services once, and writes what is not ready yet into @report
 * (said if the wait times out, without asking vigild again). Returns 0 when all are
 * ready, -EAGAIN when some are not yet, or an exit code (EXIT_NO_SERVICE,
 * EXIT_FAILED: a service failed and stays so until started again). */
static int wait_check(const struct ctx *c, char **names, int n, char *report, size_t size)
{
	json_t *list;
	int rc = get_services(c, &list), result = 0;
	size_t used = 0;

	if (rc)
		return rc;
	report[0] = '\0';
	for (int i = 0; i < n; i++) {
		json_t *v = find_by_name(list, names[i]);
		const char *state = json_string_value(json_object_get(v, "state"));

		if (!v) {
			fprintf(stderr, "vigilctl: no such service '%s'\n", names[i]);
			result = EXIT_NO_SERVICE;
			break;
		}
		if (json_is_true(json_object_get(v, "ready")))
			continue;
		/* Not ready and nothing will start it again by itself. */
		if (state && (strcmp(state, "failed") == 0 || strcmp(state, "exited") == 0)) {
			fprintf(stderr,
				"vigilctl: %s %s and will not become ready\n",
				names[i],
				state);
			result = EXIT_FAILED;
			break;
		}
		if (used < size) {
			int k = snprintf(report + used,
					 size - used,
					 "vigilctl: %s is not ready (%s)\n",
					 names[i],
					 state ? state : "?");
			used += k > 0 ? (size_t)k : 0;
		}
		if (!result)
			result = -EAGAIN;
	}
	json_decref(list);
	return result;
}

static int cmd_wait(struct ctx *c, int argc, char **argv)
{
	struct lines l = {.c = c};
	struct http_parser p;
	char report[2048] = "";
	double timeout = VIGILCTL_WAIT_DEFAULT;
	long long deadline;
	int opt, fd = -1, r, rc;

	optind = 0; /* glibc: start over, on the command's own arguments */
	/* Options may follow the names too (`wait web -t 5`). */
	while ((opt = getopt(argc, argv, "t:")) >= 0) {
		char *end;

		switch (opt) {
		case 't':
			timeout = strtod(optarg, &end);
			if (*end || end == optarg || !(timeout >= 0) || timeout > 1e7) {
				fprintf(stderr,
					"vigilctl: wait -t takes seconds (fractions allowed)\n");
				return EXIT_USAGE;
			}
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "Usage: vigilctl wait [-t SECONDS] NAME...\n");
		return EXIT_USAGE;
	}
	deadline = now_ms() + (long long)(timeout * 1000 + 0.5);
	/* A vigild slow to answer does not stretch the wait either. */
	c->deadline = deadline;

	/* Subscribe first, then look: a transition between the two is not missed. */
	r = http_open(c->socket, "GET", "/v1/events", &fd);
	if (r < 0) {
		unreachable(c, r);
		return EXIT_UNREACHABLE;
	}
	http_parser_init(&p);
	while (!p.headers_done) {
		long long left = deadline - now_ms();

		r = http_read(fd, &p, left > 0 ? (int)left : 0, split_lines, &l);
		if (r == -ETIMEDOUT || r == 1)
			break;
		if (r < 0) {
			close(fd);
			fprintf(stderr,
				"vigilctl: malformed answer from vigild at %s\n",
				c->socket);
			return EXIT_FAILED;
		}
	}
	if (p.headers_done && (p.status != 200 || p.done)) {
		/* Too many streams (a 503 that came whole in one read), or a stream that
		 * already ended: fall back to looking every so often. */
		close(fd);
		fd = -1;
	}
	for (;;) {
		long long left;

		rc = wait_check(c, argv + optind, argc - optind, report, sizeof(report));
		if (rc != -EAGAIN && rc != -ETIMEDOUT)
			break;
		left = deadline - now_ms();
		if (left <= 0 || rc == -ETIMEDOUT) {
			/* What the last answer said, or that none came in time: vigild is
			 * not asked again past the deadline. */
			if (!report[0])
				fprintf(stderr,
					"vigilctl: timed out after %gs: vigild at %s did not "
					"answer in time\n",
					timeout,
					c->socket);
			else
				fprintf(stderr,
					"vigilctl: timed out after %gs\n%s",
					timeout,
					report);
			rc = EXIT_FAILED;
			break;
		}
		if (left > VIGILCTL_WAIT_RECHECK_MS)
			left = VIGILCTL_WAIT_RECHECK_MS;
		if (fd < 0) {
			poll(NULL, 0, (int)left);
			continue;
		}
		/* Any event is a reason to look again; so is the recheck period. */
		l.seen = false;
		do
			r = http_read(fd, &p, (int)left, split_lines, &l);
		while (r == 0 && !l.seen);
		if (r == 1 || (r < 0 && r != -ETIMEDOUT)) {
			fprintf(stderr, "vigilctl: vigild closed the connection\n");
			rc = EXIT_UNREACHABLE;
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- main ---- */

static const struct command commands[] = {
	{"status", cmd_status, "[NAME...]"},
	{"start", cmd_start, "NAME...|all"},
	{"stop", cmd_stop, "NAME...|all"},
	{"restart", cmd_restart, "NAME...|all"},
	{"signal", cmd_signal, "SIGNAL NAME..."},
	{"logs", cmd_logs, "[-f] [-n N] NAME"},
	{"events", cmd_events, ""},
	{"reload", cmd_reload, ""},
	{"wait", cmd_wait, "[-t SECONDS] NAME..."},
	{"health", cmd_health, ""},
	{"shutdown", cmd_shutdown, ""},
	{"version", cmd_version, ""},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: vigilctl [-s SOCKET] [--json] COMMAND\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].args);
	fprintf(f,
		"\nThe socket is -s, else $VIGIL_SOCKET, else %s.\n"
		"Exit codes: 0 ok, 1 failed or unhealthy, 2 usage, 3 cannot reach vigild,\n"
		"4 no such service.\n",
		default_socket());
}

/* How many arguments after the command it needs, at least and at most (-1: any). */
static bool args_ok(const char *cmd, int n)
{
	static const struct {
		const char *name;
		int min, max;
	} t[] = {
		{"status", 0, -1},
		{"start", 1, -1},
		{"stop", 1, -1},
		{"restart", 1, -1},
		{"signal", 2, -1},
		{"logs", 1, -1},
		{"events", 0, 0},
		{"reload", 0, 0},
		{"wait", 1, -1},
		{"health", 0, 0},
		{"shutdown", 0, 0},
		{"version", 0, 0},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(t[i].name, cmd) == 0)
			return n >= t[i].min && (t[i].max < 0 || n <= t[i].max);
	return false;
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct ctx c = {0};
	const char *env;
	int opt;

	while ((opt = getopt_long(argc, argv, "+s:h", options, NULL)) >= 0) {
		switch (opt) {
		case 's':
			c.socket = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'vigilctl --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	env = getenv("VIGIL_SOCKET");
	if (!c.socket)
		c.socket = env && env[0] ? env : default_socket();
	env = getenv("NO_COLOR");
	c.color = isatty(STDOUT_FILENO) && !(env && env[0]);

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, argv[optind]) != 0)
			continue;
		/* Only logs and wait have options of their own; a service name never
		 * starts with '-' (`status web --json` is no service '--json'). */
		if (commands[i].run != cmd_logs && commands[i].run != cmd_wait)
			for (int a = optind + 1; a < argc; a++)
				if (argv[a][0] == '-' && argv[a][1]) {
					fprintf(stderr,
						"vigilctl: %s takes no option '%s' (vigilctl's "
						"own options go before the command)\n",
						commands[i].name,
						argv[a]);
					return EXIT_USAGE;
				}
		if (!args_ok(commands[i].name, argc - optind - 1)) {
			fprintf(stderr,
				"Usage: vigilctl %s %s\n",
				commands[i].name,
				commands[i].args);
			return EXIT_USAGE;
		}
		if (commands[i].run != cmd_version && !socket_dir_trusted(c.socket))
			return EXIT_UNREACHABLE;
		return commands[i].run(&c, argc - optind, argv + optind);
	}
	fprintf(stderr, "vigilctl: unknown command '%s'\nTry 'vigilctl --help'.\n", argv[optind]);
	return EXIT_USAGE;
}

/* fuzz-control.c: what the control API makes of a request (SPEC §7): the route for a
 * method and path, the query arguments of .../logs and .../signal, and the JSON error
 * that answers a bad one. The input is a request line, "METHOD URL"; the URL's path and
 * query are decoded by libmicrohttpd's own MHD_http_unescape(), split as it splits
 * them before vigild sees them. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>

#include <jansson.h>
#include <microhttpd.h>

#include "control-json.h"
#include "control.h"
#include "fuzz.h"
#include "macro.h"
#include "signame.h"

#define ARG_COUNT 3
static const char *const arg_names[ARG_COUNT] = {"lines", "follow", "signal"};

/* A query's name or value as libmicrohttpd hands it over: '+' is a space, then %XX. */
static void query_unescape(char *s)
{
	for (char *p = s; (p = strchr(p, '+')); p++)
		*p = ' ';
	MHD_http_unescape(s);
}

/* Splits "a=1&b=2" in place; the first value of each known name is kept, NULL for
 * a bare name (libmicrohttpd gives no value then). *@seen marks the names found. */
static void split_query(char *q, const char *args[ARG_COUNT], bool seen[ARG_COUNT])
{
	for (char *save = NULL, *kv = strtok_r(q, "&", &save); kv;
	     kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '='), *v = NULL;

		if (eq) {
			*eq = '\0';
			v = eq + 1;
			query_unescape(v);
		}
		query_unescape(kv);
		for (size_t i = 0; i < ARG_COUNT; i++)
			if (!seen[i] && STREQ(kv, arg_names[i])) {
				seen[i] = true;
				args[i] = v;
			}
	}
}

static void check_json_error(const char *fmt_name, json_t *j)
{
	char *s;

	FUZZ_CHECK(j, "no JSON for the error '%s'", fmt_name);
	s = json_dumps(j, JSON_COMPACT);
	FUZZ_CHECK(s, "the error '%s' does not serialize", fmt_name);
	free(s);
	json_decref(j);
}

static void check_route(const char *method, const char *path, bool tcp)
{
	struct control_match m, again;
	int r, r_get, r_post;

	memset(&m, 0, sizeof(m));
	r = control_route_find(method, path, tcp, &m);
	FUZZ_CHECK(r == 0 || r == -ENOENT || r == -EOPNOTSUPP, "returned %d", r);

	/* HEAD is GET; whether a path exists does not depend on the method. */
	r_get = control_route_find("GET", path, tcp, &again);
	if (STREQ(method, "HEAD"))
		FUZZ_CHECK(r == r_get, "HEAD %d, GET %d", r, r_get);
	r_post = control_route_find("POST", path, tcp, &again);
	FUZZ_CHECK((r == -ENOENT) == (r_get == -ENOENT) && (r == -ENOENT) == (r_post == -ENOENT),
		   "%s %d, GET %d, POST %d",
		   method,
		   r,
		   r_get,
		   r_post);

	if (r == 0) {
		/* The pattern, its '*' replaced by the name, is the path. */
		const char *star = strchr(m.pattern, '*');
		char rebuilt[512];

		FUZZ_CHECK(m.route, "no route");
		if (star) {
			size_t name_len = strlen(m.name);

			FUZZ_CHECK(name_len > 0 && name_len <= CONTROL_NAME_MAX,
				   "name of %zu",
				   name_len);
			FUZZ_CHECK(!strchr(m.name, '/'), "a name with a slash");
			snprintf(rebuilt,
				 sizeof(rebuilt),
				 "%.*s%s%s",
				 (int)(star - m.pattern),
				 m.pattern,
				 m.name,
				 star + 1);
		} else
			snprintf(rebuilt, sizeof(rebuilt), "%s", m.pattern);
		FUZZ_CHECK(STREQ(rebuilt, path), "pattern %s does not rebuild the path", m.pattern);
		if (tcp)
			FUZZ_CHECK(m.flags & CONTROL_ROUTE_TCP, "%s served on TCP", m.pattern);
		FUZZ_CHECK(!(m.flags & CONTROL_ROUTE_MUTATES) || !STREQ(method, "GET"),
			   "GET %s mutates",
			   m.pattern);
	}
	if (r == -EOPNOTSUPP) {
		/* HEAD is named wherever GET is. */
		FUZZ_CHECK(STREQ(m.allow, "GET, HEAD") || STREQ(m.allow, "POST") ||
				   STREQ(m.allow, "GET, HEAD, POST") ||
				   STREQ(m.allow, "POST, GET, HEAD"),
			   "Allow: %s",
			   m.allow);
		const char *as = STREQ(method, "HEAD") ? "GET" : method;

		if (STREQ(as, "GET") || STREQ(as, "POST"))
			FUZZ_CHECK(
				!strstr(m.allow, as), "%s refused, yet Allow: %s", method, m.allow);
	}
	if (tcp && r == 0) {
		r = control_route_find(method, path, false, &again);
		FUZZ_CHECK(
			r == 0 && STREQ(again.pattern, m.pattern), "TCP-only route %s", m.pattern);
	}
}

static void check_lines(const char *v)
{
	size_t n = 12345;
	bool digits = v && *v;
	int r = control_parse_lines(v, &n);

	for (const char *p = v; digits && *p; p++)
		digits = isdigit((unsigned char)*p);
	FUZZ_CHECK(r == 0 || r == -EINVAL, "returned %d", r);
	if (r < 0) {
		FUZZ_CHECK(n == 12345, "an error wrote the result");
		FUZZ_CHECK(!digits || strlen(v) > 19, "'%s' refused", v);
		return;
	}
	FUZZ_CHECK(n <= CONTROL_LOG_LINES_MAX, "%zu lines", n);
	if (!v)
		FUZZ_CHECK(n == CONTROL_LOG_LINES, "%zu lines by default", n);
	else {
		FUZZ_CHECK(digits, "'%s' accepted as %zu lines", v, n);
		if (strlen(v) <= 18)
			FUZZ_CHECK(n == MIN(strtoull(v, NULL, 10),
					    (unsigned long long)CONTROL_LOG_LINES_MAX),
				   "'%s' read as %zu",
				   v,
				   n);
	}
}

static void check_follow(const char *v)
{
	static const char *const yes[] = {"1", "true", "yes"}, *const no[] = {"0", "false", "no"};
	bool f = false, is_yes = false, is_no = !v;
	int r = control_parse_follow(v, &f);

	for (size_t i = 0; v && i < ELEMENTSOF(yes); i++) {
		is_yes |= STREQ(v, yes[i]);
		is_no |= STREQ(v, no[i]);
	}
	FUZZ_CHECK(r == ((is_yes || is_no) ? 0 : -EINVAL), "'%s': %d", v ? v : "(null)", r);
	if (r == 0)
		FUZZ_CHECK(f == is_yes, "'%s' read as %d", v ? v : "(null)", f);
}

static void check_signal(const char *v)
{
	int sig = signame_from_string(v);
	const char *name;
	char prefixed[16];

	FUZZ_CHECK(sig == -EINVAL || (sig >= 1 && sig < _NSIG), "'%s' read as %d", v, sig);
	if (sig < 0)
		return;
	name = signame_to_string(sig);
	if (!name)
		return;
	FUZZ_CHECK(signame_from_string(name) == sig, "%s does not read back", name);
	snprintf(prefixed, sizeof(prefixed), "SIG%s", name);
	FUZZ_CHECK(signame_from_string(prefixed) == sig, "%s does not read back", prefixed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_string(data, size), *url, *query, *nl;
	char said[512]; /* as large as control.c's error texts */
	const char *method = line;
	const char *args[ARG_COUNT] = {NULL};
	bool seen[ARG_COUNT] = {false};

	nl = strchr(line, '\n');
	if (nl)
		*nl = '\0';
	url = strchr(line, ' ');
	if (url)
		*url++ = '\0';
	else {
		method = "GET";
		url = line;
	}
	/* vigild's error answers quote what the client sent, whole or cut short (which
	 * may split a UTF-8 sequence): either way the body is JSON. */
	snprintf(said, sizeof(said), "%s %s", method, url);
	check_json_error("the request", error_to_json(said));
	snprintf(said, sizeof(said), "%.16s %.31s", method, url);
	check_json_error("the request cut", error_to_json(said));
	query = strchr(url, '?');
	if (query)
		*query++ = '\0';
	MHD_http_unescape(url);
	check_route(method, url, false);
	check_route(method, url, true);
	if (query)
		split_query(query, args, seen);
	check_lines(args[0]);
	check_follow(args[1]);
	if (args[2])
		check_signal(args[2]);
	free(line);
	return 0;
}

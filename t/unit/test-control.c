/* test-control.c: the control API's pure parts: routing, query arguments, addresses, paths,
 * times. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "control-json.h"
#include "control.h"
#include "listen.h"
#include "macro.h"

static int route(const char *method, const char *path, bool tcp, struct control_match *m)
{
	memset(m, 0, sizeof(*m));
	return control_route_find(method, path, tcp, m);
}

Test(control_route, finds_every_endpoint_of_the_spec)
{
	static const struct {
		const char *method, *path, *pattern, *name;
		bool mutates;
	} t[] = {
		{"GET", "/v1/services", "/v1/services", "", false},
		{"GET", "/v1/services/web", "/v1/services/*", "web", false},
		{"POST", "/v1/services/web/start", "/v1/services/*/start", "web", true},
		{"POST", "/v1/services/db.main/stop", "/v1/services/*/stop", "db.main", true},
		{"POST", "/v1/services/a-b_c/restart", "/v1/services/*/restart", "a-b_c", true},
		{"POST", "/v1/services/web/signal", "/v1/services/*/signal", "web", true},
		{"GET", "/v1/services/web/logs", "/v1/services/*/logs", "web", false},
		{"GET", "/v1/events", "/v1/events", "", false},
		{"POST", "/v1/reload", "/v1/reload", "", true},
		{"POST", "/v1/shutdown", "/v1/shutdown", "", true},
		{"GET", "/healthz", "/healthz", "", false},
		{"GET", "/readyz", "/readyz", "", false},
		{"GET", "/metrics", "/metrics", "", false},
	};
	struct control_match m;

	for (size_t i = 0; i < ELEMENTSOF(t); i++) {
		cr_assert_eq(route(t[i].method, t[i].path, false, &m),
			     0,
			     "%s %s",
			     t[i].method,
			     t[i].path);
		cr_assert_str_eq(m.pattern, t[i].pattern);
		if (t[i].name[0])
			cr_assert_str_eq(m.name, t[i].name);
		cr_assert_eq(!!(m.flags & CONTROL_ROUTE_MUTATES), t[i].mutates, "%s", t[i].path);
	}
}

Test(control_route, a_known_path_with_another_method_is_405_with_allow)
{
	struct control_match m;

	cr_assert_eq(route("DELETE", "/v1/services/web", false, &m), -EOPNOTSUPP);
	cr_assert_str_eq(m.allow, "GET, HEAD");
	cr_assert_eq(route("GET", "/v1/services/web/start", false, &m), -EOPNOTSUPP);
	cr_assert_str_eq(m.allow, "POST");
	cr_assert_eq(route("POST", "/metrics", false, &m), -EOPNOTSUPP);
	cr_assert_eq(route("PUT", "/v1/reload", false, &m), -EOPNOTSUPP);
}

Test(control_route, unknown_paths_are_404)
{
	static const char *const paths[] = {
		"/",
		"/v1",
		"/v1/services/",
		"/v1/services//start",
		"/v1/services/web/",
		"/v1/services/web/start/now",
		"/v1/servicesx",
		"/healthzz",
		"/v2/services",
		"",
	};
	struct control_match m;

	for (size_t i = 0; i < ELEMENTSOF(paths); i++)
		cr_assert_eq(route("GET", paths[i], false, &m), -ENOENT, "'%s'", paths[i]);
}

Test(control_route, a_name_longer_than_any_service_matches_nothing)
{
	char path[256];
	struct control_match m;

	snprintf(path, sizeof(path), "/v1/services/%0*d", CONTROL_NAME_MAX, 0);
	cr_assert_eq(route("GET", path, false, &m), 0);
	snprintf(path, sizeof(path), "/v1/services/%0*d", CONTROL_NAME_MAX + 1, 0);
	cr_assert_eq(route("GET", path, false, &m), -ENOENT);
}

Test(control_route, the_tcp_listener_serves_only_health_and_metrics)
{
	struct control_match m;

	cr_assert_eq(route("GET", "/healthz", true, &m), 0);
	cr_assert_eq(route("GET", "/readyz", true, &m), 0);
	cr_assert_eq(route("GET", "/metrics", true, &m), 0);
	cr_assert_eq(route("GET", "/v1/services", true, &m), -ENOENT);
	cr_assert_eq(route("POST", "/v1/shutdown", true, &m), -ENOENT);
	cr_assert_eq(route("GET", "/v1/events", true, &m), -ENOENT);
}

Test(control_route, head_is_answered_like_get)
{
	struct control_match m;

	cr_assert_eq(route("HEAD", "/v1/services", false, &m), 0);
	cr_assert_eq(route("HEAD", "/v1/reload", false, &m), -EOPNOTSUPP);
}

Test(control_query, lines_is_100_when_absent_and_cut_at_the_maximum)
{
	size_t n = 0;

	cr_assert_eq(control_parse_lines(NULL, &n), 0);
	cr_assert_eq(n, CONTROL_LOG_LINES);
	cr_assert_eq(control_parse_lines("0", &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(control_parse_lines("25", &n), 0);
	cr_assert_eq(n, 25);
	cr_assert_eq(control_parse_lines("1000001", &n), 0);
	cr_assert_eq(n, CONTROL_LOG_LINES_MAX);
}

Test(control_query, lines_must_be_a_whole_number)
{
	static const char *const bad[] = {"", "-1", "ten", "10x", "1.5"};
	size_t n = 7;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		cr_assert_eq(control_parse_lines(bad[i], &n), -EINVAL, "'%s'", bad[i]);
		cr_assert_eq(n, 7, "'%s' wrote the result", bad[i]);
	}
}

/* Found by t/fuzz/fuzz-control (corpus/control/regress-lines-*): "?lines=+00" was
 * read as " 00" and taken, and " -5" gave the longest tail there is. */
Test(control_query, lines_refuses_blanks_and_signs)
{
	static const char *const bad[] = {" 00", " -5", "\t5", "+5", "-0"};
	size_t n = 7;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		cr_assert_eq(control_parse_lines(bad[i], &n), -EINVAL, "'%s'", bad[i]);
	cr_assert_eq(n, 7);
}

Test(control_query, follow_is_1_true_yes_or_0_false_no)
{
	static const char *const yes[] = {"1", "true", "yes"}, *const no[] = {"0", "false", "no"};
	static const char *const bad[] = {"", "2", "TRUE", "y", "1 "};
	bool f;

	for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
		f = false;
		cr_assert_eq(control_parse_follow(yes[i], &f), 0);
		cr_assert(f, "%s", yes[i]);
	}
	for (size_t i = 0; i < ELEMENTSOF(no); i++) {
		f = true;
		cr_assert_eq(control_parse_follow(no[i], &f), 0);
		cr_assert_not(f, "%s", no[i]);
	}
	f = true;
	cr_assert_eq(control_parse_follow(NULL, &f), 0);
	cr_assert_not(f);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		cr_assert_eq(control_parse_follow(bad[i], &f), -EINVAL, "'%s'", bad[i]);
}

Test(listen, parses_host_and_port)
{
	char host[64], port[8];

	cr_assert_eq(listen_parse_address("127.0.0.1:9100", host, sizeof(host), port, sizeof(port)),
		     0);
	cr_assert_str_eq(host, "127.0.0.1");
	cr_assert_str_eq(port, "9100");
	cr_assert_eq(listen_parse_address("[::1]:80", host, sizeof(host), port, sizeof(port)), 0);
	cr_assert_str_eq(host, "::1");
	cr_assert_eq(listen_parse_address(":9100", host, sizeof(host), port, sizeof(port)), 0);
	cr_assert_str_eq(host, "");
	cr_assert_eq(listen_parse_address("localhost:0", host, sizeof(host), port, sizeof(port)),
		     0);

	static const char *const bad[] = {"127.0.0.1",
					  "127.0.0.1:",
					  "::1:80",
					  "[::1]80",
					  "host:http",
					  "host:70000",
					  "[::1:80",
					  "host:-1",
					  "host:1 ",
					  ""};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		cr_assert_eq(listen_parse_address(bad[i], host, sizeof(host), port, sizeof(port)),
			     -EINVAL,
			     "accepted '%s'",
			     bad[i]);
}

static gid_t group_of(const char *text, const char *name)
{
	return listen_group_in_text(text, strlen(text), name);
}

Test(listen, a_group_is_found_by_its_whole_name_in_etc_group_text)
{
	const char *file = "root:x:0:\n"
			   "vigilant:x:7:vigil\n"
			   "  vigil:x:1234:alice,bob\n"
			   "vigil:x:99:\n"
			   "last:*:4294967294";

	cr_assert_eq(group_of(file, "vigil"), 1234, "the first line of that name counts");
	cr_assert_eq(group_of(file, "root"), 0);
	cr_assert_eq(group_of(file, "vigilant"), 7);
	cr_assert_eq(group_of(file, "last"), 4294967294, "a last line without a newline");
	cr_assert_eq(group_of(file, "vigi"), (gid_t)-1, "a name's prefix is not that name");
	cr_assert_eq(group_of(file, "alice"), (gid_t)-1, "a member is not a group");
	cr_assert_eq(group_of(file, "x"), (gid_t)-1);
	cr_assert_eq(group_of("", "vigil"), (gid_t)-1);
}

Test(listen, a_malformed_group_line_is_passed_over)
{
	static const char *const bad[] = {"vigil\n",
					  "vigil:x\n",
					  "vigil:x::\n",
					  "vigil:x:12a:\n",
					  "vigil:x:-1:\n",
					  "vigil:x:4294967295:\n",
					  "vigil:x:99999999999999999999:\n",
					  "vigil x:5:\n",
					  "#vigil:x:5:\n"};
	char text[128];

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		cr_assert_eq(group_of(bad[i], "vigil"), (gid_t)-1, "accepted '%s'", bad[i]);
		snprintf(text, sizeof(text), "%svigil:x:42:\n", bad[i]);
		cr_assert_eq(group_of(text, "vigil"), 42, "a later good line after '%s'", bad[i]);
	}
}

Test(listen, the_socket_option_wins_over_the_configuration_and_the_default)
{
	char *p = NULL, cwd[4096], want[4200];

	cr_assert_eq(listen_socket_path("/a/opt.sock", "/b/conf.sock", &p), 0);
	cr_assert_str_eq(p, "/a/opt.sock");
	free(p);
	cr_assert_eq(listen_socket_path(NULL, "/b/conf.sock", &p), 0);
	cr_assert_str_eq(p, "/b/conf.sock");
	free(p);
	cr_assert_eq(listen_socket_path(NULL, "rel/c.sock", &p), 0);
	cr_assert(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want), "%s/rel/c.sock", cwd);
	cr_assert_str_eq(p, want, "a relative path is made absolute");
	free(p);
	cr_assert_eq(listen_socket_path(NULL, NULL, &p), 0);
	if (geteuid() == 0)
		cr_assert_str_eq(p, "/run/vigil/control.sock");
	else
		cr_assert(strstr(p, "/vigil") && strstr(p, "control.sock"));
	free(p);
}

Test(control_json, times_are_rfc3339_utc_with_milliseconds)
{
	char buf[CONTROL_TIME_SIZE];

	cr_assert_str_eq(control_format_time(0, buf), "1970-01-01T00:00:00.000Z");
	cr_assert_str_eq(control_format_time(1700000000123456ULL, buf), "2023-11-14T22:13:20.123Z");
}

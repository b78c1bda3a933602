/* test-control.c: the control API of SPEC §7 against a real vigild: every endpoint
 * and error status, limits, the socket itself, authorization and metrics. */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "api.h"
#include "harness.h"
#include "http.h"

static struct vh v;

static void setup(void)
{
	vh_init(&v);
}

static void teardown(void)
{
	vh_cleanup(&v);
}

TestSuite(control, .init = setup, .fini = teardown, .timeout = 40);

/* Writes a configuration with a paused service `web`, plus @extra, and starts
 * vigild through @wrapper (NULL: none). */
static void start_under_with(const char *const *wrapper, const char *extra)
{
	vh_write(&v,
		 "vigil.conf",
		 "service web {\n  command = \"%s trap HUP %s pidfile %s pause\"\n}\n%s",
		 vh_helper(),
		 vh_path(&v, "web.sigs"),
		 vh_path(&v, "web.pid"),
		 extra);
	vh_start_under(&v, wrapper, NULL);
	api_wait_up(&v);
}

/* The same without a wrapper, what @fmt says (each %s in it is the helper program)
 * being the extra configuration. */
static void start_with(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void start_with(const char *fmt, ...)
{
	char extra[2048] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(extra, sizeof(extra), fmt, ap);
		va_end(ap);
	}
	start_under_with(NULL, extra);
}

static void assert_error_body(const char *body)
{
	json_t *j = json_loads(body, 0, NULL);

	cr_assert(j, "not JSON: %s", body);
	cr_assert(json_is_string(json_object_get(j, "error")), "no \"error\": %s", body);
	cr_assert_gt(strlen(json_string_value(json_object_get(j, "error"))), 0);
	json_decref(j);
}

/* The status of a request whose body must be {"error": ...}. */
static int error_status(const char *method, const char *target)
{
	char *body = NULL;
	int status = api_call(&v, method, target, &body);

	assert_error_body(body);
	free(body);
	return status;
}

Test(control, lists_every_service_with_the_fields_of_the_spec)
{
	json_t *list, *web, *off;

	start_with("service off {\n  command = \"/bin/true\"\n  autostart = false\n}\n");
	cr_assert(api_wait_state(&v, "web", "running", 5000));
	list = api_json(&v, "GET", "/v1/services", 200);
	cr_assert_eq(json_array_size(list), 2);
	web = json_array_get(list, 0);
	off = json_array_get(list, 1);
	cr_assert_str_eq(json_string_value(json_object_get(web, "name")), "web");
	cr_assert_str_eq(json_string_value(json_object_get(web, "state")), "running");
	cr_assert(json_is_integer(json_object_get(web, "pid")));
	cr_assert(json_is_true(json_object_get(web, "ready")));
	cr_assert_str_eq(json_string_value(json_object_get(web, "health")), "unknown");
	cr_assert_eq(json_integer_value(json_object_get(web, "restarts")), 0);
	cr_assert(json_is_null(json_object_get(web, "exit")));
	cr_assert(json_is_integer(json_object_get(web, "uptime")));
	cr_assert(json_is_null(json_object_get(web, "status")));
	{
		const char *since = json_string_value(json_object_get(web, "since"));
		int y, mo, d, h, mi, s, ms;
		char z;

		cr_assert(since);
		cr_assert_eq(sscanf(since,
				    "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c",
				    &y,
				    &mo,
				    &d,
				    &h,
				    &mi,
				    &s,
				    &ms,
				    &z),
			     8,
			     "since is not RFC 3339: %s",
			     since);
		cr_assert_eq(z, 'Z');
	}
	cr_assert_str_eq(json_string_value(json_object_get(off, "state")), "stopped");
	cr_assert(json_is_null(json_object_get(off, "pid")));
	cr_assert(json_is_false(json_object_get(off, "ready")));
	cr_assert(json_is_null(json_object_get(off, "uptime")));
	json_decref(list);
}

Test(control, shows_one_service_with_its_last_exit_and_probes)
{
	json_t *j, *e;

	start_with("service three {\n  command = \"%s exit 3\"\n  restart = never\n}\n"
		   "service killed {\n  command = \"%s kill KILL\"\n  restart = never\n}\n",
		   vh_helper(),
		   vh_helper());
	cr_assert(api_wait_state(&v, "three", "exited", 5000));
	cr_assert(api_wait_state(&v, "killed", "exited", 5000));

	j = api_json(&v, "GET", "/v1/services/three", 200);
	e = json_object_get(j, "exit");
	cr_assert_eq(json_integer_value(json_object_get(e, "code")), 3);
	/* SPEC §4: every exit records its status and time. */
	{
		const char *t = json_string_value(json_object_get(e, "time"));
		const char *since = json_string_value(json_object_get(j, "since"));

		cr_assert(t && since, "no exit time");
		cr_assert_eq(strlen(t), strlen(since), "not RFC 3339: %s", t);
		cr_assert_leq(strcmp(t, since), 0, "exit at %s, exited since %s", t, since);
	}
	cr_assert(json_is_array(json_object_get(j, "probes")));
	cr_assert(json_is_string(json_object_get(j, "reason")));
	cr_assert(json_is_false(json_object_get(j, "ready")));
	json_decref(j);

	j = api_json(&v, "GET", "/v1/services/killed", 200);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "exit"), "signal")),
			 "KILL");
	json_decref(j);

	cr_assert_eq(error_status("GET", "/v1/services/nope"), 404);
}

/* Significant digits of the number at @p. */
static size_t significant_digits(const char *p)
{
	size_t digits = 0;
	bool leading = true;

	for (; (*p >= '0' && *p <= '9') || *p == '.'; p++)
		if (*p != '.' && !(leading && *p == '0')) {
			leading = false;
			digits++;
		}
	return digits;
}

Test(control, seconds_are_written_without_binary_noise)
{
	int seen = 0;

	start_with("service p {\n  command = \"%s pause\"\n"
		   "  liveness { exec = \"/bin/true\" period = 100ms }\n}\n",
		   vh_helper());
	/* Ten probe durations: jansson's default of 17 digits shows most of them with
	 * binary noise (0.00072800000000000002); at most 9 significant digits. */
	for (int i = 0; i < 200 && seen < 10; i++) {
		char *body = NULL;
		const char *d;

		cr_assert_eq(api_call(&v, "GET", "/v1/services/p", &body), 200);
		d = strstr(body, "\"duration\":");
		if (d) {
			cr_assert_leq(
				significant_digits(d + strlen("\"duration\":")), 9, "%s", body);
			seen++;
		}
		free(body);
		vh_msleep(100);
	}
	cr_assert_eq(seen, 10, "the probe did not run");
}

Test(control, start_stop_and_restart_answer_202_404_or_409)
{
	long first;

	start_with("service off {\n  command = \"/bin/sleep 100\"\n  autostart = false\n}\n");
	first = vh_wait_long(&v, "web.pid", 5000);

	cr_assert_eq(error_status("POST", "/v1/services/web/start"), 409);
	cr_assert_eq(error_status("POST", "/v1/services/off/stop"), 409);
	cr_assert_eq(error_status("POST", "/v1/services/nope/start"), 404);
	cr_assert_eq(error_status("POST", "/v1/services/nope/stop"), 404);
	cr_assert_eq(error_status("POST", "/v1/services/nope/restart"), 404);

	cr_assert_eq(api_call(&v, "POST", "/v1/services/off/start", NULL), 202);
	cr_assert(api_wait_state(&v, "off", "running", 5000));
	cr_assert_eq(api_call(&v, "POST", "/v1/services/off/stop", NULL), 202);
	cr_assert(api_wait_state(&v, "off", "stopped", 5000));

	cr_assert_eq(api_call(&v, "POST", "/v1/services/web/restart", NULL), 202);
	for (long long end = vh_now_ms() + 5000;
	     vh_read_long(vh_path(&v, "web.pid")) == first && vh_now_ms() < end;)
		vh_msleep(10);
	cr_assert_neq(vh_read_long(vh_path(&v, "web.pid")), first);
	cr_assert(api_wait_state(&v, "web", "running", 5000));
}

/* ---- start and restart of a service that is down ---- */

Test(control, a_start_runs_again_a_service_that_exited_or_failed)
{
	start_with("service quick {\n  command = \"%s record %s exit 0\"\n  restart = never\n}\n"
		   "service lim {\n  command = \"%s record %s exit 1\"\n"
		   "  restart-delay = 10ms\n  restart-limit = 1\n}\n"
		   "service job {\n  command = \"%s record %s exit 0\"\n  type = oneshot\n}\n",
		   vh_helper(),
		   vh_path(&v, "quick.runs"),
		   vh_helper(),
		   vh_path(&v, "lim.runs"),
		   vh_helper(),
		   vh_path(&v, "job.runs"));
	cr_assert(api_wait_state(&v, "quick", "exited", 5000));
	cr_assert(api_wait_state(&v, "lim", "failed", 5000));
	cr_assert(api_wait_state(&v, "job", "exited", 5000));
	cr_assert_eq(vh_count_lines(vh_path(&v, "quick.runs")), 1);
	cr_assert_eq(vh_count_lines(vh_path(&v, "lim.runs")), 2);
	cr_assert_eq(vh_count_lines(vh_path(&v, "job.runs")), 1);

	/* Each one runs again; the failed one with a fresh restart count. */
	cr_assert_eq(api_call(&v, "POST", "/v1/services/quick/start", NULL), 202);
	cr_assert_eq(api_call(&v, "POST", "/v1/services/lim/start", NULL), 202);
	cr_assert_eq(api_call(&v, "POST", "/v1/services/job/start", NULL), 202);
	cr_assert(vh_wait_lines(vh_path(&v, "quick.runs"), 2, 5000), "exited: never started");
	cr_assert(vh_wait_lines(vh_path(&v, "lim.runs"), 4, 5000), "failed: never started");
	cr_assert(vh_wait_lines(vh_path(&v, "job.runs"), 2, 5000), "oneshot: never run again");
	cr_assert(vh_wait_log(&v, "quick: exited -> starting (start requested)", 1, 5000));
	cr_assert(vh_wait_log(&v, "lim: failed -> starting (start requested)", 1, 5000));
	cr_assert(api_wait_state(&v, "lim", "failed", 5000));
}

Test(control, a_restart_of_a_service_that_is_down_runs_it_once)
{
	start_with("service idle {\n  command = \"%s record %s pause\"\n  autostart = false\n}\n"
		   "service crashy {\n  command = \"%s record %s exit 1\"\n"
		   "  restart-delay = 30s\n}\n",
		   vh_helper(),
		   vh_path(&v, "idle.runs"),
		   vh_helper(),
		   vh_path(&v, "crashy.runs"));
	cr_assert(api_wait_state(&v, "crashy", "backoff", 5000));

	cr_assert_eq(api_call(&v, "POST", "/v1/services/idle/restart", NULL), 202);
	cr_assert_eq(api_call(&v, "POST", "/v1/services/crashy/restart", NULL), 202);
	cr_assert(vh_wait_lines(vh_path(&v, "idle.runs"), 1, 5000));
	cr_assert(vh_wait_lines(vh_path(&v, "crashy.runs"), 2, 5000));
	vh_msleep(vh_ms(300));
	cr_assert_eq(vh_count_lines(vh_path(&v, "idle.runs")), 1, "stopped: spawned twice");
	cr_assert_eq(vh_count_lines(vh_path(&v, "crashy.runs")), 2, "backoff: spawned twice");
	cr_assert_eq(vh_count_log(&v, "-> stopping"), 0);
	cr_assert(vh_wait_log(&v, "idle: stopped -> starting (restart requested)", 1, 5000));
	cr_assert(vh_wait_log(&v, "crashy: backoff -> starting (restart requested)", 1, 5000));
}

static const char *const chain[] = {"a", "b", "c", NULL};

/* The file where @name records its runs. */
static const char *chain_runs(const char *name)
{
	char file[16];

	snprintf(file, sizeof(file), "%s.runs", name);
	return vh_path(&v, file);
}

/* a <- b <- c (each requires the one before), each recording its runs; c ignores
 * TERM for its stop-timeout of 1 s when @slow_c. */
static void start_chain(bool slow_c)
{
	start_with("service a {\n  command = \"%s record %s pause\"\n}\n"
		   "service b {\n  command = \"%s record %s pause\"\n  requires = a\n}\n"
		   "service c {\n  command = \"%s record %s %s pause\"\n  requires = b\n"
		   "  stop-timeout = 1s\n}\n",
		   vh_helper(),
		   vh_path(&v, "a.runs"),
		   vh_helper(),
		   vh_path(&v, "b.runs"),
		   vh_helper(),
		   vh_path(&v, "c.runs"),
		   slow_c ? "ignore TERM" : "");
	for (const char *const *n = chain; *n; n++)
		cr_assert(api_wait_state(&v, *n, "running", 5000));
	cr_assert(vh_wait_lines(chain_runs("c"), 1, 5000));
}

/* Each of a, b and c runs again (a second run at least) and ends up running. */
static void expect_chain_ran_again(void)
{
	for (const char *const *n = chain; *n; n++)
		cr_assert(vh_wait_lines(chain_runs(*n), 2, 5000), "%s: %s", *n, vh_read(v.log));
	vh_msleep(vh_ms(300));
	for (const char *const *n = chain; *n; n++)
		cr_assert(api_wait_state(&v, *n, "running", 5000), "%s: %s", *n, vh_read(v.log));
}

/* Each of a, b and c runs a second time, and no more. */
static void expect_chain_ran_twice(void)
{
	expect_chain_ran_again();
	for (const char *const *n = chain; *n; n++)
		cr_assert_eq(vh_count_lines(chain_runs(*n)), 2, "%s: %s", *n, vh_read(v.log));
}

/* A restart is a stop and a start: what requires the service stops first (SPEC §3,
 * "stop before db") and comes back once it is ready again. */
Test(control, a_restart_stops_the_dependents_first_and_brings_them_back)
{
	start_chain(false);
	cr_assert_eq(api_call(&v, "POST", "/v1/services/a/restart", NULL), 202);
	expect_chain_ran_twice();
	vh_expect_log_order(&v, "c: stopping -> waiting", "b: running -> stopping");
	vh_expect_log_order(
		&v, "b: stopping -> waiting", "a: running -> stopping (restart requested)");
	vh_expect_log_order(&v, "a: starting -> running", "b: waiting -> starting");
}

/* `restart all` asks for each in turn, the next one perhaps while the first one's
 * restart still waits for the others to stop: each runs again, a dependent once more
 * for each restart of what it requires that came after its own, and all end up
 * running. */
Test(control, restart_all_on_a_chain_runs_each_again_and_ends_running)
{
	const char *argv[] = {vh_vigilctl(), "-s", v.sock, "restart", "all", NULL};

	start_chain(false);
	cr_assert_eq(ctl_runv(NULL, argv, NULL, NULL), 0);
	expect_chain_ran_again();
}

/* A start of the last dependent while the restart waits for it to stop (it ignores
 * TERM) starts nothing early and calls nothing off: b still goes down before a, and
 * all three come back. */
Test(control, a_start_during_a_restarts_stop_leaves_the_restart_going)
{
	int st;

	start_chain(true);
	cr_assert_eq(api_call(&v, "POST", "/v1/services/a/restart", NULL), 202);
	cr_assert(vh_wait_log(&v, "c: running -> stopping", 1, 5000));
	st = api_call(&v, "POST", "/v1/services/c/start", NULL);
	cr_assert(st == 202 || st == 409, "start: %d", st);
	expect_chain_ran_twice();
	vh_expect_log_order(
		&v, "b: stopping -> waiting", "a: running -> stopping (restart requested)");
}

Test(control, a_start_starts_what_the_service_requires_whatever_its_state)
{
	start_with("service noauto {\n  command = \"%s record %s pause\"\n  autostart = false\n}\n"
		   "service dep {\n  command = \"%s pause\"\n  requires = {\"noauto\"}\n}\n"
		   "service db {\n  command = \"/bin/sh -c 'test -e %s'\"\n"
		   "  type = oneshot\n  autostart = false\n}\n"
		   "service app {\n  command = \"%s pause\"\n  requires = {\"db\"}\n"
		   "  autostart = false\n}\n",
		   vh_helper(),
		   vh_path(&v, "noauto.runs"),
		   vh_helper(),
		   vh_path(&v, "db.ok"),
		   vh_helper());
	/* An autostart service pulls in a requirement that is not one. */
	cr_assert(api_wait_state(&v, "dep", "running", 5000));
	cr_assert(api_wait_state(&v, "noauto", "running", 5000));
	/* Running from its exec on (ready = started): its record may come later, and
	 * a stop before it would leave one line for two runs. */
	cr_assert(vh_wait_lines(vh_path(&v, "noauto.runs"), 1, 5000));

	/* Stopped on request, the requirement leaves its dependent waiting; starting
	 * the dependent starts it again. */
	cr_assert_eq(api_call(&v, "POST", "/v1/services/noauto/stop", NULL), 202);
	cr_assert(api_wait_state(&v, "noauto", "stopped", 5000));
	cr_assert(api_wait_state(&v, "dep", "waiting", 5000));
	cr_assert_eq(api_call(&v, "POST", "/v1/services/dep/start", NULL), 202);
	cr_assert(api_wait_state(&v, "dep", "running", 5000));
	cr_assert(api_wait_state(&v, "noauto", "running", 5000));
	cr_assert(vh_wait_lines(vh_path(&v, "noauto.runs"), 2, 5000));
	/* Then it is waiting for nobody: nothing to do. */
	cr_assert_eq(error_status("POST", "/v1/services/dep/start"), 409);

	/* A requirement that failed is started again by the next start of its
	 * dependent. */
	cr_assert_eq(api_call(&v, "POST", "/v1/services/app/start", NULL), 202);
	cr_assert(api_wait_state(&v, "db", "failed", 5000));
	cr_assert(api_wait_state(&v, "app", "waiting", 5000));
	vh_write(&v, "db.ok", "\n");
	cr_assert_eq(api_call(&v, "POST", "/v1/services/app/start", NULL), 202);
	cr_assert(api_wait_state(&v, "db", "exited", 5000));
	cr_assert(api_wait_state(&v, "app", "running", 5000));
}

Test(control, signal_reaches_the_process_group_or_says_why_not)
{
	char *sigs;

	start_with("service off {\n  command = \"/bin/true\"\n  autostart = false\n}\n"
		   "service grp {\n  command = \"%s trap HUP %s fork-pause %s pause\"\n}\n",
		   vh_helper(),
		   vh_path(&v, "grp.sigs"),
		   vh_path(&v, "grp.child"));
	cr_assert(vh_wait_lines(vh_path(&v, "web.pid"), 1, 5000));

	cr_assert_eq(api_call(&v, "POST", "/v1/services/web/signal?signal=HUP", NULL), 200);
	cr_assert_eq(vh_wait_long(&v, "web.sigs", 5000), SIGHUP);
	cr_assert_eq(api_call(&v, "POST", "/v1/services/web/signal?signal=SIGHUP", NULL), 200);
	cr_assert(vh_wait_lines(vh_path(&v, "web.sigs"), 2, 5000), "SIGHUP by name never came");

	/* The whole group: the service and the child it forked (same handler) each
	 * record it. */
	cr_assert(vh_wait_lines(vh_path(&v, "grp.child"), 1, 5000));
	cr_assert_eq(api_call(&v, "POST", "/v1/services/grp/signal?signal=HUP", NULL), 200);
	cr_assert(vh_wait_lines(vh_path(&v, "grp.sigs"), 2, 5000), "only one process got it");
	sigs = vh_read(vh_path(&v, "grp.sigs"));
	cr_assert_str_eq(sigs, "1\n1\n");
	free(sigs);

	cr_assert_eq(error_status("POST", "/v1/services/web/signal"), 400);
	cr_assert_eq(error_status("POST", "/v1/services/web/signal?signal=NOPE"), 400);
	cr_assert_eq(error_status("POST", "/v1/services/nope/signal?signal=HUP"), 404);
	cr_assert_eq(error_status("POST", "/v1/services/off/signal?signal=HUP"), 409);
}

/* kill-mode rules how a service is stopped; an explicit signal is for the group. */
Test(control, signal_reaches_the_process_group_whatever_kill_mode_says)
{
	const char *ctl[] = {vh_vigilctl(), "-s", v.sock, "signal", "USR1", "grp", NULL};
	char want[32], *sigs;

	start_with("service grp {\n  command = \"%s trap HUP %s trap USR1 %s fork-pause %s "
		   "pause\"\n  kill-mode = process\n}\n",
		   vh_helper(),
		   vh_path(&v, "grp.sigs"),
		   vh_path(&v, "grp.sigs"),
		   vh_path(&v, "grp.child"));
	cr_assert(vh_wait_lines(vh_path(&v, "grp.child"), 1, 5000));

	/* The service and the child it forked (same handlers) each record it. */
	cr_assert_eq(api_call(&v, "POST", "/v1/services/grp/signal?signal=HUP", NULL), 200);
	cr_assert(vh_wait_lines(vh_path(&v, "grp.sigs"), 2, 5000), "only one process got it");
	cr_assert_eq(vh_run(ctl, NULL, 5000), 0);
	cr_assert(vh_wait_lines(vh_path(&v, "grp.sigs"), 4, 5000), "only one process got it");
	sigs = vh_read(vh_path(&v, "grp.sigs"));
	snprintf(want, sizeof(want), "%d\n%d\n%d\n%d\n", SIGHUP, SIGHUP, SIGUSR1, SIGUSR1);
	cr_assert_str_eq(sigs, want);
	free(sigs);
}

Test(control, logs_serve_the_tail_as_text_and_check_their_arguments)
{
	char *body = NULL;

	start_with("service talk {\n  command = \"%s out first out second out third pause\"\n}\n",
		   vh_helper());
	for (int i = 0; i < 200; i++) {
		free(body);
		body = NULL;
		cr_assert_eq(api_call(&v, "GET", "/v1/services/talk/logs?lines=2", &body), 200);
		if (strstr(body, "out third\n"))
			break;
		vh_msleep(10);
	}
	cr_assert_null(strstr(body, "out first"), "%s", body);
	cr_assert(strstr(body, "Z out second\n") && strstr(body, "Z out third\n"), "%s", body);
	free(body);
	cr_assert_eq(api_call(&v, "GET", "/v1/services/talk/logs?lines=abc", &body), 400);
	assert_error_body(body);
	free(body);
	cr_assert_eq(api_call(&v, "GET", "/v1/services/talk/logs?follow=perhaps", &body), 400);
	assert_error_body(body);
	free(body);
	cr_assert_eq(api_call(&v, "GET", "/v1/services/nope/logs", &body), 404);
	cr_assert(strstr(body, "no such service"), "%s", body);
	free(body);
}

struct lines {
	char buf[65536];
	size_t len;
};

static int keep(const char *data, size_t len, void *userdata)
{
	struct lines *l = userdata;

	if (l->len + len >= sizeof(l->buf))
		return -EFBIG;
	memcpy(l->buf + l->len, data, len);
	l->len += len;
	l->buf[l->len] = '\0';
	return 0;
}

/* Reads the stream until @needle shows up. */
static bool read_until(int fd, struct http_parser *p, struct lines *l, const char *needle,
		       int timeout_ms)
{
	long long end = vh_now_ms() + timeout_ms;

	while (!strstr(l->buf, needle)) {
		long long left = end - vh_now_ms();

		if (left <= 0 || http_read(fd, p, (int)left, keep, l) != 0)
			return strstr(l->buf, needle) != NULL;
	}
	return true;
}

/* A stream's length is unknown: its HEAD answer says no Content-Length (RFC 9110
 * §8.6 forbids one other than GET's) and has no body, chunk or terminator. */
Test(control, head_of_a_stream_has_its_headers_and_no_length_or_body)
{
	static const struct {
		const char *target, *type;
	} streams[] = {
		{"/v1/events", "Content-Type: application/x-ndjson\r\n"},
		{"/v1/services/web/logs", "Content-Type: text/plain"},
		{"/v1/services/web/logs?follow=1", "Content-Type: text/plain"},
	};

	start_with(NULL);
	for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
		char req[256], *out = NULL;
		const char *end;
		bool closed = false;

		snprintf(req,
			 sizeof(req),
			 "HEAD %s HTTP/1.1\r\nHost: vigil\r\n\r\n",
			 streams[i].target);
		cr_assert_gt(api_raw(v.sock, req, strlen(req), &out, 5000, &closed), 0);
		cr_assert(closed, "%s: the closed connection ends the answer: %s", req, out);
		cr_assert_eq(strncmp(out, "HTTP/1.1 200 OK\r\n", 17), 0, "%s", out);
		cr_assert(strstr(out, streams[i].type), "%s", out);
		end = strstr(out, "\r\n\r\n");
		cr_assert(end && end[4] == '\0', "%s: a body after the headers: %s", req, out);
		cr_assert_null(strcasestr(out, "Content-Length"), "%s", out);
		cr_assert_null(strcasestr(out, "Transfer-Encoding"), "%s", out);
		free(out);
	}
	cr_assert_eq(api_call(&v, "GET", "/healthz", NULL), 200);
}

Test(control, events_stream_each_transition_as_a_json_line)
{
	struct http_parser p;
	struct lines l = {0};
	char *line, *save = NULL;
	int fd, n = 0;

	start_with(NULL);
	cr_assert(api_wait_state(&v, "web", "running", 5000));
	cr_assert_eq(http_open(v.sock, "GET", "/v1/events", &fd), 0);
	http_parser_init(&p);
	while (!p.headers_done)
		cr_assert_eq(http_read(fd, &p, 5000, keep, &l), 0);
	cr_assert_eq(p.status, 200);
	cr_assert_str_eq(p.content_type, "application/x-ndjson");

	cr_assert_eq(api_call(&v, "POST", "/v1/services/web/stop", NULL), 202);
	cr_assert(read_until(fd, &p, &l, "\"to\":\"stopped\"", 5000), "got: %s", l.buf);
	close(fd);

	for (line = strtok_r(l.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
		json_t *e = json_loads(line, 0, NULL);

		cr_assert(e, "not a JSON line: %s", line);
		cr_assert_str_eq(json_string_value(json_object_get(e, "service")), "web");
		cr_assert(json_is_string(json_object_get(e, "time")));
		cr_assert(json_is_string(json_object_get(e, "reason")));
		if (n == 0) {
			cr_assert_str_eq(json_string_value(json_object_get(e, "from")), "running");
			cr_assert_str_eq(json_string_value(json_object_get(e, "to")), "stopping");
		}
		json_decref(e);
	}
	cr_assert_eq(n, 2);
}

Test(control, event_streams_are_capped_and_a_closed_one_frees_its_slot)
{
	enum { N = 64 };
	int fds[N], fd;
	struct http_parser p;
	struct lines l = {0};
	long long end;

	start_with(NULL);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(http_open(v.sock, "GET", "/v1/events", &fds[i]), 0);
		http_parser_init(&p);
		while (!p.headers_done)
			cr_assert_eq(http_read(fds[i], &p, 5000, NULL, NULL), 0);
		cr_assert_eq(p.status, 200);
	}
	cr_assert_eq(error_status("GET", "/v1/events"), 503);
	/* Other requests still work. */
	cr_assert_eq(api_call(&v, "GET", "/v1/services", NULL), 200);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	/* vigild sees the clients leave without any event happening. */
	end = vh_now_ms() + 5000;
	for (;;) {
		cr_assert_eq(http_open(v.sock, "GET", "/v1/events", &fd), 0);
		http_parser_init(&p);
		while (!p.headers_done)
			cr_assert_geq(http_read(fd, &p, 5000, keep, &l), 0);
		close(fd);
		if (p.status == 200)
			break;
		cr_assert_lt(vh_now_ms(), end, "the closed streams were never noticed");
		vh_msleep(20);
	}
}

Test(control, reload_answers_the_diff_or_422_with_every_error)
{
	json_t *j;
	long pid;

	start_with("service gone {\n  command = \"/bin/sleep 100\"\n}\n");
	pid = vh_wait_long(&v, "web.pid", 5000);
	vh_write(&v,
		 "vigil.conf",
		 "service web {\n  command = \"%s trap HUP %s pidfile %s pause\"\n}\n"
		 "service new {\n  command = \"/bin/sleep 100\"\n}\n",
		 vh_helper(),
		 vh_path(&v, "web.sigs"),
		 vh_path(&v, "web.pid"));
	j = api_json(&v, "POST", "/v1/reload", 200);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "added"), 0)), "new");
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "removed"), 0)),
			 "gone");
	cr_assert_eq(json_array_size(json_object_get(j, "changed")), 0);
	cr_assert_eq(json_integer_value(json_object_get(j, "unchanged")), 1);
	json_decref(j);
	cr_assert(api_wait_state(&v, "new", "running", 5000));

	vh_write(&v,
		 "vigil.conf",
		 "service web {\n  command = \"/bin/true\"\n  restrat = always\n}\n"
		 "service other {\n  command = \"/bin/true\"\n  requires = {\"missing\"}\n}\n");
	j = api_json(&v, "POST", "/v1/reload", 422);
	cr_assert_geq(json_array_size(json_object_get(j, "errors")), 1);
	{
		const char *e = json_string_value(json_array_get(json_object_get(j, "errors"), 0));
		char want[256];

		snprintf(want, sizeof(want), "%s:3:", v.conf);
		cr_assert(e && strstr(e, want), "no FILE:LINE in '%s'", e ? e : "");
	}
	json_decref(j);
	/* Nothing changed: web runs on with the same pid, new is still there. */
	cr_assert_eq(vh_read_long(vh_path(&v, "web.pid")), pid);
	cr_assert(vh_alive((pid_t)pid));
	cr_assert(api_wait_state(&v, "new", "running", 1000));
}

/* A reload asked for during a shutdown is refused with 503, not taken for a bad
 * configuration (422), and starts nothing. */
Test(control, a_reload_during_a_shutdown_answers_503)
{
	char *body = NULL;

	/* The pidfile is written once TERM is ignored: the shutdown then waits for
	 * slow's 2 s stop-timeout. */
	start_with("service slow {\n  command = \"%s ignore TERM pidfile %s pause\"\n"
		   "  stop-timeout = 2s\n}\n",
		   vh_helper(),
		   vh_path(&v, "slow.pid"));
	cr_assert(vh_wait_lines(vh_path(&v, "slow.pid"), 1, 5000));
	cr_assert_eq(api_call(&v, "POST", "/v1/shutdown", NULL), 202);
	cr_assert(vh_wait_log(&v, "slow: running -> stopping", 1, 5000));
	/* A service the reload would add, were it taken. */
	vh_write(&v,
		 "vigil.conf",
		 "service slow {\n  command = \"%s ignore TERM pidfile %s pause\"\n"
		 "  stop-timeout = 2s\n}\n"
		 "service late {\n  command = \"%s pause\"\n}\n",
		 vh_helper(),
		 vh_path(&v, "slow.pid"),
		 vh_helper());
	cr_assert_eq(api_call(&v, "POST", "/v1/reload", &body), 503);
	{
		json_t *j = json_loads(body, 0, NULL);

		cr_assert_str_eq(json_string_value(json_object_get(j, "error")) ?: "",
				 "vigild is shutting down",
				 "%s",
				 body);
		json_decref(j);
	}
	free(body);
	cr_assert_eq(vh_count_log(&v, "Reload failed"), 0);
	cr_assert_eq(vh_wait_exit(&v, 10000), 0);
	cr_assert_eq(vh_count_log(&v, "late:"), 0, "the reload started late");
	cr_assert_eq(vh_count_log(&v, "Reloading the configuration"), 0);
}

Test(control, shutdown_answers_202_then_vigild_exits_cleanly)
{
	char *body = NULL;

	start_with(NULL);
	cr_assert_eq(api_call(&v, "POST", "/v1/shutdown", &body), 202);
	cr_assert(strstr(body, "shutting down"));
	free(body);
	cr_assert_eq(vh_wait_exit(&v, 10000), 0);
	cr_assert(access(v.sock, F_OK) < 0, "the socket file was left behind");
}

Test(control, healthz_and_readyz_name_the_culprits)
{
	char *body = NULL;

	start_with("service late {\n  command = \"%s sleep 1500 exit 0\"\n  type = oneshot\n}\n"
		   "service broken {\n  command = \"/bin/false\"\n  type = oneshot\n"
		   "  autostart = false\n}\n",
		   vh_helper());

	cr_assert_eq(api_call(&v, "GET", "/readyz", &body), 503);
	cr_assert(strstr(body, "\"late\""), "%s", body);
	free(body);
	cr_assert(api_wait_state(&v, "late", "exited", 5000));
	cr_assert_eq(api_call(&v, "GET", "/readyz", NULL), 200);
	cr_assert_eq(api_call(&v, "GET", "/healthz", NULL), 200);

	/* Failed, but not autostart: not a health problem. */
	cr_assert_eq(api_call(&v, "POST", "/v1/services/broken/start", NULL), 202);
	cr_assert(api_wait_state(&v, "broken", "failed", 5000));
	cr_assert_eq(api_call(&v, "GET", "/healthz", NULL), 200);
	cr_assert_eq(api_call(&v, "GET", "/readyz", &body), 503, "a wanted service is not ready");
	cr_assert(strstr(body, "\"broken\""), "%s", body);
	free(body);

	vh_write(&v,
		 "vigil.conf",
		 "service web {\n  command = \"%s pause\"\n}\n"
		 "service broken {\n  command = \"/bin/false\"\n  type = oneshot\n}\n",
		 vh_helper());
	cr_assert_eq(api_call(&v, "POST", "/v1/reload", NULL), 200);
	cr_assert(api_wait_state(&v, "broken", "failed", 5000));
	cr_assert_eq(api_call(&v, "GET", "/healthz", &body), 503);
	cr_assert(strstr(body, "\"broken\""), "%s", body);
	free(body);
}

/* libmicrohttpd sets TCP options on every connection and, on a unix socket, logs
 * that they failed: three debug lines per request that mean nothing there. */
Test(control, requests_on_the_unix_socket_log_no_tcp_option_noise)
{
	static const char *const noise[] = {"TCP_NODELAY", "TCP_CORK", "push the data"};

	start_with(NULL);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(api_call(&v, "GET", "/healthz", NULL), 200);
	for (size_t i = 0; i < sizeof(noise) / sizeof(noise[0]); i++)
		cr_assert_eq(vh_count_log(&v, noise[i]), 0, "%s", vh_read(v.log));
}

Test(control, unknown_paths_are_404_and_wrong_methods_405)
{
	char *out = NULL;
	bool closed;
	const char req[] = "DELETE /v1/services/web HTTP/1.0\r\n\r\n";

	start_with(NULL);
	cr_assert_eq(error_status("GET", "/v2/nothing"), 404);
	cr_assert_eq(error_status("GET", "/v1/services/web/bogus"), 404);
	/* Not UTF-8 once unescaped: still a JSON error, not a failure to answer. */
	cr_assert_eq(error_status("GET", "/v1/services/%FF%FE"), 404);
	cr_assert_eq(error_status("POST", "/v1/services/%C3/start"), 404);
	cr_assert_eq(error_status("POST", "/v1/services"), 405);
	cr_assert_eq(error_status("GET", "/v1/reload"), 405);
	cr_assert_eq(error_status("GET", "/v1/services/web/stop"), 405);
	cr_assert_geq(api_raw(v.sock, req, strlen(req), &out, 5000, &closed), 0);
	cr_assert(strstr(out, " 405 "), "%s", out);
	cr_assert(strstr(out, "Allow: GET"), "%s", out);
	free(out);
}

Test(control, large_bodies_get_413_and_bad_requests_do_not_hurt_the_next)
{
	enum { BODY = 100 * 1024 };
	char *req = malloc(BODY + 256), *out = NULL;
	size_t len = (size_t)sprintf(req,
				     "POST /v1/reload HTTP/1.1\r\nHost: x\r\n"
				     "Content-Length: %d\r\n\r\n",
				     BODY);
	bool closed;
	static const char *const malformed[] = {
		"GARBAGE\r\n\r\n",
		"GET /v1/services HTTP/9.9\r\n\r\n",
		"GET /v1/services HTTP/1.1\r\nBad Header Line\r\n\r\n",
		"\x01\x02\x03\xff\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
	};

	start_with(NULL);
	memset(req + len, 'x', BODY);
	cr_assert_geq(api_raw(v.sock, req, len + BODY, &out, 5000, &closed), 0);
	cr_assert(strstr(out, " 413 "), "got: %.300s", out);
	cr_assert(strstr(out, "{\"error\":"), "got: %.300s", out);
	free(out);
	cr_assert_eq(api_call(&v, "GET", "/v1/services", NULL), 200);

	/* Without a length: read and dropped up to a point, then 413 or cut. */
	len = (size_t)sprintf(req,
			      "POST /v1/reload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
			      "Transfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 20; i++)
		len += (size_t)sprintf(req + len, "1000\r\n%04096d\r\n", 0);
	len += (size_t)sprintf(req + len, "0\r\n\r\n");
	cr_assert_geq(api_raw(v.sock, req, len, &out, 5000, &closed), 0);
	/* Never a success: a 413, or the connection cut without an answer. */
	cr_assert(strstr(out, " 413 ") || (closed && !*out), "got: %.300s", out);
	free(out);
	cr_assert_eq(api_call(&v, "GET", "/v1/services", NULL), 200);

	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		cr_assert_geq(
			api_raw(v.sock, malformed[i], strlen(malformed[i]), &out, 5000, &closed),
			0);
		/* A 400 or 505, or closed without any answer: never a 200. */
		cr_assert(strstr(out, " 400 ") || strstr(out, " 505 ") || (closed && !*out),
			  "got: %.300s",
			  out);
		free(out);
		cr_assert_eq(api_call(&v, "GET", "/v1/services", NULL), 200);
	}
	free(req);
	cr_assert(vh_alive(v.pid));
}

Test(control, a_stalled_client_is_cut_off_and_delays_nobody)
{
	char *out = NULL;
	bool closed;
	long long t0;
	const char half[] = "GET /v1/serv";

	start_with(NULL);
	t0 = vh_now_ms();
	/* Meanwhile (api_raw blocks), nothing would be served if it stalled the loop:
	 * run it in a child and ask in the parent. */
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		ssize_t n = api_raw(v.sock, half, strlen(half), &out, 20000, &closed);
		_exit(n >= 0 && closed ? 0 : 1);
	}
	vh_msleep(100);
	cr_assert_eq(api_call(&v, "GET", "/v1/services", NULL), 200);
	{
		int status;
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "the stalled connection was not closed");
	}
	/* CONTROL_TIMEOUT_SEC is 10 s. */
	cr_assert_geq(vh_now_ms() - t0, 9000);
	cr_assert_lt(vh_now_ms() - t0, 16000);
}

/* Connects to the control socket and sends @first, then a header line every 500 ms
 * (each resets any timeout that only measures silence). Returns how long after the
 * first byte vigild closed the connection, in ms, or -1 if it had not after 20 s. */
static long long trickle(const char *first)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	long long t0 = vh_now_ms();

	cr_assert_lt(strlen(v.sock), sizeof(sa.sun_path));
	memcpy(sa.sun_path, v.sock, strlen(v.sock));
	cr_assert(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	cr_assert_eq(send(fd, first, strlen(first), MSG_NOSIGNAL), (ssize_t)strlen(first));
	while (vh_now_ms() - t0 < 20000) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		char buf[256];

		if (poll(&pfd, 1, 500) > 0 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			break;
		if (send(fd, "X-Slow: 1\r\n", 11, MSG_NOSIGNAL) < 0)
			break;
	}
	close(fd);
	return vh_now_ms() - t0 < 20000 ? vh_now_ms() - t0 : -1;
}

Test(control, a_client_that_trickles_its_request_is_cut_off_at_the_deadline)
{
	long long took;
	pid_t pid;

	start_with(NULL);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		/* Meanwhile the API answers others. */
		for (int i = 0; i < 20; i++) {
			if (api_call(&v, "GET", "/healthz", NULL) != 200)
				_exit(1);
			vh_msleep(500);
		}
		_exit(0);
	}
	took = trickle("GET /healthz HTTP/1.1\r\nHost: vigil\r\n");
	{
		int status;
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "others were not served");
	}
	/* CONTROL_TIMEOUT_SEC is 10 s, from the connection. */
	cr_assert_neq(took, -1, "a trickling client kept its connection for 20 s");
	cr_assert_geq(took, 9000);
	cr_assert_lt(took, 13000);
}

/* Reads the port vigild logged for http-listen = "127.0.0.1:0". */
static int tcp_port(void)
{
	char *log, *p;
	int port = -1;

	cr_assert(vh_wait_log(&v, "Serving /healthz, /readyz and /metrics on 127.0.0.1:", 1, 5000));
	log = vh_read(v.log);
	p = strstr(log, "metrics on 127.0.0.1:");
	if (p)
		port = atoi(p + strlen("metrics on 127.0.0.1:"));
	free(log);
	return port;
}

static int tcp_get(int port, const char *path, char **out)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	char req[256];
	struct http_parser p;
	struct lines *l = calloc(1, sizeof(*l));
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
	cr_assert(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	http_parser_init(&p);
	while ((r = http_read(fd, &p, 5000, keep, l)) == 0)
		;
	cr_assert_eq(r, 1);
	close(fd);
	*out = strdup(l->buf);
	free(l);
	return p.status;
}

Test(control, the_tcp_listener_serves_health_and_metrics_only)
{
	char *body;
	int port;

	start_with("http-listen = \"127.0.0.1:0\"\n");
	port = tcp_port();
	cr_assert_gt(port, 0);
	cr_assert_eq(tcp_get(port, "/healthz", &body), 200);
	free(body);
	cr_assert_eq(tcp_get(port, "/readyz", &body), 200);
	free(body);
	cr_assert_eq(tcp_get(port, "/metrics", &body), 200);
	cr_assert(strstr(body, "vigil_service_up{service=\"web\"} 1"), "%s", body);
	free(body);
	cr_assert_eq(tcp_get(port, "/v1/services", &body), 404);
	free(body);
}

Test(control, a_bad_http_listen_stops_vigild_at_start)
{
	char want[512];

	/* Not an address: a configuration error at its line. */
	vh_write(&v,
		 "vigil.conf",
		 "http-listen = \"nonsense\"\nservice web {\n  command = \"/bin/sleep 100\"\n}\n");
	vh_start(&v);
	cr_assert_eq(vh_wait_exit(&v, 5000), 1);
	snprintf(want, sizeof(want), "%s:1: bad value 'nonsense' for option 'http-listen'", v.conf);
	cr_assert_eq(vh_count_log(&v, want), 1);
}

Test(control, an_http_listen_that_cannot_be_bound_stops_vigild_at_start)
{
	/* An address of no interface here (TEST-NET-1): bind() fails. */
	vh_write(&v,
		 "vigil.conf",
		 "http-listen = \"192.0.2.1:9\"\nservice web {\n  command = \"/bin/sleep "
		 "100\"\n}\n");
	vh_start(&v);
	cr_assert_eq(vh_wait_exit(&v, 5000), 1);
	cr_assert_eq(vh_count_log(&v, "Failed to listen on '192.0.2.1:9'"), 1);
}

Test(control, metrics_pass_promtool)
{
	char *body = NULL, *out = NULL, cmd[512];
	const char *sh[] = {"sh", "-c", cmd, NULL};

	vh_need(&v, "promtool", "prometheus");
	start_with("service crash {\n  command = \"/bin/false\"\n  restart-delay = 50ms\n}\n");
	cr_assert_eq(api_call(&v, "GET", "/metrics", &body), 200);
	cr_assert(strstr(body, "# TYPE vigil_service_restarts_total counter"));
	cr_assert(strstr(body, "vigil_service_state{service=\"web\",state=\"running\"} 1"),
		  "%s",
		  body);
	cr_assert(strstr(body, "vigil_build_info{version=\""));
	cr_assert(strstr(body, "vigil_service_start_time_seconds{service=\"web\"} "));
	vh_write(&v, "metrics.txt", "%s", body);
	free(body);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", vh_path(&v, "metrics.txt"));
	cr_assert_eq(vh_run(sh, &out, 20000), 0, "promtool: %s", out);
	free(out);
}

/* ---- the socket ---- */

Test(control, creates_the_parent_directory_with_mode_0660)
{
	struct stat st;
	char sock[192];
	const char *args[] = {"-c", v.conf, "-s", sock, NULL};

	snprintf(sock, sizeof(sock), "%s/a/b/c.sock", v.dir);
	vh_write(&v, "vigil.conf", "service web {\n  command = \"/bin/sleep 100\"\n}\n");
	vh_start_args(&v, args);
	cr_assert(vh_wait_log(&v, "Listening on", 1, 5000));
	cr_assert_eq(stat(sock, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0660);
}

Test(control, replaces_a_stale_socket_and_refuses_a_live_one)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct vh second;

	/* A socket file nobody listens on any more. */
	strcpy(sa.sun_path, v.sock);
	cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(fd);
	start_with(NULL);
	cr_assert_eq(vh_count_log(&v, "Replaced the stale socket"), 1);

	vh_init(&second);
	vh_write(&second, "vigil.conf", "service x {\n  command = \"/bin/sleep 100\"\n}\n");
	{
		const char *args[] = {"-c", second.conf, "-s", v.sock, NULL};
		vh_start_args(&second, args);
	}
	cr_assert_eq(vh_wait_exit(&second, 5000), 1);
	cr_assert_eq(vh_count_log(&second, "another vigild is answering there"), 1);
	vh_cleanup(&second);
	/* The first one still answers. */
	cr_assert_eq(api_call(&v, "GET", "/v1/services", NULL), 200);
}

Test(control, refuses_a_path_that_is_not_a_socket)
{
	vh_write(&v, "control.sock", "not a socket\n");
	vh_write(&v, "vigil.conf", "service web {\n  command = \"/bin/sleep 100\"\n}\n");
	vh_start(&v);
	cr_assert_eq(vh_wait_exit(&v, 5000), 1);
	cr_assert_eq(vh_count_log(&v, "the file exists and is not a socket"), 1);
}

/* vigild's own socket, in place of one vigild inherited (from an outer vigild). */
Test(control, services_get_vigil_socket)
{
	char *d;

	setenv("VIGIL_SOCKET", "/outer/vigil.sock", 1);
	start_with("service d {\n  command = \"%s describe %s pause\"\n}\n",
		   vh_helper(),
		   vh_path(&v, "d.txt"));
	cr_assert(vh_wait_lines(vh_path(&v, "d.txt"), 5, 5000));
	d = vh_read(vh_path(&v, "d.txt"));
	{
		char want[256];
		snprintf(want, sizeof(want), "env: VIGIL_SOCKET=%s\n", v.sock);
		cr_assert(strstr(d, want), "%s", d);
		cr_assert_null(strstr(d, "/outer/vigil.sock"), "%s", d);
	}
	free(d);
}

/* ---- authorization ---- */

/* Runs vigilctl as nobody with the given group options. */
static int as_nobody(const char *regid, const char *groups, char **err, const char *cmd,
		     const char *arg)
{
	char regid_opt[64];
	const char *prefix[] = {"setpriv",
				"--reuid=nobody",
				regid_opt,
				groups ? "--groups" : "--clear-groups",
				groups,
				NULL};
	const char *argv[] = {vh_vigilctl(), "-s", v.sock, cmd, arg, NULL};

	snprintf(regid_opt, sizeof(regid_opt), "--regid=%s", regid);
	if (!groups)
		prefix[4] = NULL;
	return ctl_runv(prefix, argv, NULL, err);
}

Test(control, an_unprivileged_client_cannot_change_anything)
{
	char *err = NULL;
	long pid;

	vh_need(&v, "setpriv", "util-linux");
	if (geteuid() != 0)
		VH_SKIP(&v, "needs root to switch to nobody");
	start_with(NULL);
	pid = vh_wait_long(&v, "web.pid", 5000);

	/* The socket is 0660 root's: nobody cannot even connect. */
	cr_assert_eq(chmod(v.dir, 0755), 0);
	cr_assert_eq(as_nobody("nogroup", NULL, &err, "stop", "web"), 3, "%s", err);
	cr_assert(strstr(err, "cannot reach vigild"), "%s", err);
	free(err);

	/* Opened up by hand: nobody may read, but every mutation gets 403. */
	cr_assert_eq(chmod(v.sock, 0666), 0);
	cr_assert_eq(as_nobody("nogroup", NULL, NULL, "status", "web"), 0);
	cr_assert_eq(as_nobody("nogroup", NULL, &err, "stop", "web"), 1);
	cr_assert(strstr(err, "permission denied"), "%s", err);
	free(err);
	cr_assert_eq(as_nobody("nogroup", NULL, NULL, "restart", "web"), 1);
	cr_assert_eq(as_nobody("nogroup", NULL, NULL, "reload", NULL), 1);
	cr_assert_eq(as_nobody("nogroup", NULL, NULL, "shutdown", NULL), 1);
	cr_assert_eq(as_nobody("nogroup", NULL, NULL, "start", "web"), 1);

	cr_assert_eq(vh_read_long(vh_path(&v, "web.pid")), pid);
	cr_assert(vh_alive((pid_t)pid));
	cr_assert(vh_alive(v.pid));
	cr_assert_geq(vh_count_log(&v, "control: denied POST /v1/services/web/stop to uid 65534"),
		      1);
}

Test(control, control_group_members_get_through_the_directories_vigild_creates)
{
	struct stat st;
	mode_t old;

	vh_need(&v, "setpriv", "util-linux");
	if (!getgrnam("nogroup") || geteuid() != 0)
		VH_SKIP(&v, "needs root and the group nogroup");
	/* Two missing levels under /tmp (the temp dir), created under a umask that
	 * would take every bit from group and others. */
	snprintf(v.sock, sizeof(v.sock), "%s/run/vigil/control.sock", v.dir);
	cr_assert_eq(chmod(v.dir, 0755), 0);
	old = umask(077);
	start_with("control-group = \"nogroup\"\n");
	umask(old);
	cr_assert_eq(stat(vh_path(&v, "run"), &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0755, "run is %o", st.st_mode & 07777);
	cr_assert_eq(stat(vh_path(&v, "run/vigil"), &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0755, "run/vigil is %o", st.st_mode & 07777);

	cr_assert_eq(as_nobody("nogroup", NULL, NULL, "restart", "web"), 0);
	cr_assert(vh_wait_log(&v, "web: restart requested by uid 65534", 1, 5000));
	/* Not in the group: the socket's mode keeps it out. */
	cr_assert_eq(as_nobody("daemon", NULL, NULL, "restart", "web"), 3);
}

/* z requires y requires x. A stop of x waits for z (which ignores SIGTERM) and
 * then y; a start of x meanwhile calls the stop off, and y, not stopped yet, keeps
 * running: only z, already stopping, goes (and comes back, as y is up). */
Test(control, a_start_during_a_held_stop_leaves_the_dependents_not_yet_stopped_running)
{
	pid_t y, z;

	vh_write(&v,
		 "vigil.conf",
		 "service x {\n  command = \"%s pause\"\n}\n"
		 "service y {\n  command = \"%s pidfile %s pause\"\n  requires = {\"x\"}\n}\n"
		 "service z {\n  command = \"%s ignore TERM pidfile %s pause\"\n"
		 "  requires = {\"y\"}\n  stop-timeout = 1s\n}\n",
		 vh_helper(),
		 vh_helper(),
		 vh_path(&v, "y.pid"),
		 vh_helper(),
		 vh_path(&v, "z.pid"));
	vh_start(&v);
	api_wait_up(&v);
	(void)vh_wait_long(&v, "y.pid", 5000);
	z = (pid_t)vh_wait_long(&v, "z.pid", 5000);
	y = api_pid(&v, "y");
	cr_assert(y > 0 && z > 0);
	cr_assert_eq(api_call(&v, "POST", "/v1/services/x/stop", NULL), 202);
	cr_assert(api_wait_state(&v, "z", "stopping", 5000));
	cr_assert_eq(api_call(&v, "POST", "/v1/services/x/start", NULL), 202);
	/* z is killed at its stop-timeout, then starts again. */
	cr_assert(vh_wait_dead(z, 10000));
	cr_assert(api_wait_state(&v, "z", "running", 10000));
	vh_msleep(300);
	cr_assert_eq(api_pid(&v, "y"), y, "y was restarted");
	cr_assert_eq(vh_count_log(&v, "y: running -> stopping"), 0);
	cr_assert_eq(vh_count_log(&v, "x: running -> stopping"), 0);
}

/* Text from outside that is not valid UTF-8 (here a probe's command) is answered
 * with '?' for each stray byte, and the valid characters around them kept. */
Test(control, bytes_that_are_not_utf8_become_question_marks_and_the_rest_stays)
{
	json_t *probes;
	const char *target;

	start_with("service p {\n  command = \"%s pause\"\n"
		   "  liveness { exec = \"true caf\xc3\xa9\xff\" period = 1h }\n}\n",
		   vh_helper());
	probes = api_field(&v, "p", "probes");
	cr_assert(json_is_array(probes) && json_array_size(probes) == 1);
	target = json_string_value(json_object_get(json_array_get(probes, 0), "target"));
	cr_assert_str_eq(target, "true caf\xc3\xa9?");
	json_decref(probes);
}

/* Without control-group the socket goes to group "vigil" when /etc/group has it
 * (files only, no NSS): here a private /etc/group of 300 groups, "vigil" last, in a
 * mount namespace of vigild's own; skipped where there is none. */
Test(control, the_default_group_comes_from_etc_group)
{
	char script[1024], *text = NULL;
	struct stat st;
	size_t len = 0;
	FILE *f;

	vh_need(&v, "unshare", "util-linux");
	vh_need(&v, "mount", "mount");
	f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	for (int i = 0; i < 299; i++)
		fprintf(f, "vigil%d:x:%d:\n", i, 5000 + i);
	fprintf(f, "vigil:x:4343:\n");
	fclose(f);
	vh_write(&v, "group", "%s", text);
	free(text);
	snprintf(script,
		 sizeof(script),
		 "mount --bind %s /etc/group || exit 77; exec \"$0\" \"$@\"",
		 vh_path(&v, "group"));
	{
		const char *probe[] = {"unshare", "-m", "sh", "-c", script, "true", NULL};

		if (vh_run(probe, NULL, vh_ms(10000)) != 0)
			VH_SKIP(&v, "no private /etc/group here");
	}
	{
		/* unshare -m execs in place: v.pid ends up vigild's. */
		const char *wrapper[] = {"unshare", "-m", "sh", "-c", script, NULL};

		start_under_with(wrapper, "");
	}
	cr_assert_eq(lstat(v.sock, &st), 0);
	cr_assert_eq(st.st_gid, 4343, "the socket's group is %u", (unsigned)st.st_gid);
	cr_assert_eq(st.st_mode & 07777, 0660, "the socket is %o", st.st_mode & 07777);
}

/* Without XDG_RUNTIME_DIR a non-root vigild's socket goes to /tmp/vigil-UID, 0700.
 * Anyone may create that directory first and swap the socket inside for their own:
 * vigild uses it only when it is its user's, a directory and closed to others. */
Test(control, a_tmp_vigil_uid_directory_someone_else_made_is_refused)
{
	const char *argv[] = {"setpriv",
			      "--reuid=4242",
			      "--regid=4242",
			      "--clear-groups",
			      "env",
			      "-u",
			      "XDG_RUNTIME_DIR",
			      "sh",
			      "-c",
			      "exec \"$0\" -- true 2>&1",
			      vh_vigild(),
			      NULL};
	const char *dir = "/tmp/vigil-4242";
	struct stat st;
	char *out = NULL;

	vh_need(&v, "setpriv", "util-linux");
	if (geteuid() != 0)
		VH_SKIP(&v, "needs root to act as uid 4242");
	/* A uid no one has: the directory is this test's alone. */
	(void)unlink("/tmp/vigil-4242/control.sock");
	(void)rmdir(dir);
	cr_assert_eq(mkdir(dir, 0777), 0);
	cr_assert_eq(chmod(dir, 0777), 0);
	/* `--` mode goes on without a control socket (README), and puts none there. */
	cr_assert_eq(vh_run(argv, &out, vh_ms(10000)), 0, "%s", out);
	cr_assert(strstr(out, "its directory /tmp/vigil-4242 is not a directory of this user's"),
		  "%s",
		  out);
	cr_assert_neq(lstat("/tmp/vigil-4242/control.sock", &st), 0);
	free(out);
	out = NULL;
	cr_assert_eq(rmdir(dir), 0);
	/* Made by vigild itself: used. */
	cr_assert_eq(vh_run(argv, &out, vh_ms(10000)), 0, "%s", out);
	free(out);
	cr_assert_eq(lstat(dir, &st), 0);
	cr_assert(S_ISDIR(st.st_mode) && st.st_uid == 4242 && (st.st_mode & 07777) == 0700);
	(void)unlink("/tmp/vigil-4242/control.sock");
	cr_assert_eq(rmdir(dir), 0);
}

/* SPEC §4: a service stopped on request is never restarted until started again,
 * also when its process dies while the stop waits for a dependent to go first. */
Test(control, a_service_whose_process_dies_while_its_stop_waits_is_not_restarted)
{
	pid_t x, y;

	vh_write(&v,
		 "vigil.conf",
		 "service x {\n  command = \"%s record %s pause\"\n  restart-delay = 100ms\n}\n"
		 "service y {\n  command = \"%s ignore TERM pidfile %s pause\"\n"
		 "  requires = {\"x\"}\n  stop-timeout = 60s\n}\n",
		 vh_helper(),
		 vh_path(&v, "x.rec"),
		 vh_helper(),
		 vh_path(&v, "y.pid"));
	vh_start(&v);
	api_wait_up(&v);
	/* y ignores SIGTERM once its pidfile is there (running comes at its exec). */
	(void)vh_wait_long(&v, "y.pid", 5000);
	/* x is running from its exec; its record comes a moment later. */
	(void)vh_wait_long(&v, "x.rec", 5000);
	x = api_pid(&v, "x");
	y = api_pid(&v, "y");
	cr_assert(x > 0 && y > 0);
	cr_assert_eq(api_call(&v, "POST", "/v1/services/x/stop", NULL), 202);
	/* y ignores SIGTERM: x's stop waits as long as the test wants. */
	cr_assert(api_wait_state(&v, "y", "stopping", 5000));
	kill(x, SIGKILL);
	cr_assert(api_wait_state(&v, "x", "exited", 5000));
	/* y goes; then x's stop completes. */
	kill(y, SIGKILL);
	cr_assert(api_wait_state(&v, "x", "stopped", 10000));
	cr_assert_eq(vh_count_lines(vh_path(&v, "x.rec")), 1, "x ran again");
	cr_assert_eq(vh_count_log(&v, "x: running -> backoff"), 0);
}

Test(control, a_request_is_logged_with_the_clients_uid_and_pid)
{
	char want[128];

	start_with(NULL);
	cr_assert_eq(api_call(&v, "POST", "/v1/services/web/restart", NULL), 202);
	snprintf(want,
		 sizeof(want),
		 "web: restart requested by uid %u (pid %d)\n",
		 (unsigned)geteuid(),
		 (int)getpid());
	cr_assert(vh_wait_log(&v, want, 1, 5000), "no '%s' in:\n%s", want, vh_read(v.log));
}

Test(control, a_client_outside_vigilds_pid_namespace_is_logged_without_a_pid)
{
	/* vigild in a container, the client on the host: the kernel gives vigild no
	 * pid for it (SO_PEERCRED says 0), and "pid 0" would name no process. */
	const char *unshare[] = {"unshare", "--fork", "--pid", "--kill-child", NULL};
	char want[128];

	vh_need_pid_namespace(&v);
	start_under_with(unshare, "");
	cr_assert_eq(api_call(&v, "POST", "/v1/services/web/restart", NULL), 202);
	snprintf(want,
		 sizeof(want),
		 "web: restart requested by uid %u (outside vigild's pid namespace)\n",
		 (unsigned)geteuid());
	cr_assert(vh_wait_log(&v, want, 1, 5000), "no '%s' in:\n%s", want, vh_read(v.log));
}

Test(control, members_of_control_group_may_change_things)
{
	struct group *g = getgrnam("nogroup");
	struct stat st;

	vh_need(&v, "setpriv", "util-linux");
	if (!g || geteuid() != 0)
		VH_SKIP(&v, "needs root and the group nogroup");
	start_with("control-group = \"nogroup\"\n"
		   "service off {\n  command = \"/bin/sleep 100\"\n  autostart = false\n}\n");
	cr_assert_eq(stat(v.sock, &st), 0);
	cr_assert_eq(st.st_gid, g->gr_gid, "the socket belongs to control-group");
	cr_assert_eq(chmod(v.dir, 0755), 0);

	/* Primary group, then a supplementary one (SO_PEERGROUPS). */
	cr_assert_eq(as_nobody("nogroup", NULL, NULL, "start", "off"), 0);
	cr_assert(api_wait_state(&v, "off", "running", 5000));
	cr_assert_eq(as_nobody("daemon", "nogroup", NULL, "stop", "off"), 0);
	cr_assert(api_wait_state(&v, "off", "stopped", 5000));
	/* Not in the group: the mode keeps it out. */
	cr_assert_eq(as_nobody("daemon", NULL, NULL, "start", "off"), 3);
}

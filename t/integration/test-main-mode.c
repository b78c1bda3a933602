/* test-main-mode.c: `vigild -- COMMAND` as a container's init (SPEC §2). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "macro.h"

static struct vh v;

static void setup(void)
{
	vh_init(&v);
}

static void teardown(void)
{
	vh_cleanup(&v);
}

TestSuite(main_mode, .init = setup, .fini = teardown, .timeout = 30);

static int run_main(const char *const *cmd)
{
	const char *args[32] = {"--"};
	size_t n = 1;

	for (; *cmd; cmd++)
		args[n++] = *cmd;
	args[n] = NULL;
	vh_start_args(&v, args);
	return vh_wait_exit(&v, 10000);
}

Test(main_mode, exits_with_mains_exit_code)
{
	const char *cmd[] = {vh_helper(), "exit", "7", NULL};
	cr_assert_eq(run_main(cmd), 7);
}

Test(main_mode, exits_with_128_plus_the_signal_that_killed_main)
{
	/* USR2, not SEGV: under check-sanitize the helper's SEGV is caught by ASan. */
	const char *cmd[] = {vh_helper(), "kill", "USR2", NULL};
	cr_assert_eq(run_main(cmd), 128 + SIGUSR2);
}

Test(main_mode, a_missing_command_exits_127_with_a_clear_error)
{
	const char *cmd[] = {"/no/such/program", NULL};
	cr_assert_eq(run_main(cmd), 127);
	cr_assert(vh_count_log(
			  &v, "cannot execute '/no/such/program': No such file or directory") >= 1);
}

Test(main_mode, a_double_dash_without_a_command_is_a_usage_error)
{
	const char *none[] = {NULL};

	cr_assert_eq(run_main(none), 1);
	cr_assert_eq(vh_count_log(&v, "vigild: -- needs a COMMAND after it"), 1);
}

Test(main_mode, stopping_main_on_request_ends_vigild_with_its_status)
{
	const char *args[] = {"--", vh_helper(), "pidfile", vh_path(&v, "pid"), "pause", NULL};
	const char *stop[] = {vh_vigilctl(), "-s", v.sock, "stop", "main", NULL};

	vh_start_args(&v, args);
	cr_assert(vh_wait_lines(vh_path(&v, "pid"), 1, 5000));
	cr_assert_eq(vh_run(stop, NULL, 5000), 0);
	/* Stopped with SIGTERM, which the helper does not catch. */
	cr_assert_eq(vh_wait_exit(&v, 10000), 128 + SIGTERM);
}

Test(main_mode, forwards_signals_to_main_and_term_stops_it)
{
	const char *args[] = {"--",
			      vh_helper(),
			      "trap",
			      "USR1",
			      vh_path(&v, "sigs"),
			      "trap",
			      "HUP",
			      vh_path(&v, "sigs"),
			      "pidfile",
			      vh_path(&v, "pid"),
			      "pause",
			      NULL};

	vh_start_args(&v, args);
	cr_assert(vh_wait_lines(vh_path(&v, "pid"), 1, 5000));
	kill(v.pid, SIGUSR1);
	cr_assert(vh_wait_lines(vh_path(&v, "sigs"), 1, 5000));
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_lines(vh_path(&v, "sigs"), 2, 5000));
	{
		char *s = vh_read(vh_path(&v, "sigs"));
		char want[32];
		snprintf(want, sizeof(want), "%d\n%d\n", SIGUSR1, SIGHUP);
		cr_assert_str_eq(s, want);
		free(s);
	}
	kill(v.pid, SIGTERM);
	cr_assert_eq(vh_wait_exit(&v, 10000), 128 + SIGTERM);
}

/* Starts `vigild -- helper` with main trapping each of @sigs (@names, as the helper
 * spells them), sends them to vigild one at a time, and asserts that main got each,
 * in order, and that vigild is still there to stop. */
static void assert_forwarded(const char *const names[], const int sigs[], size_t n)
{
	const char *args[32], *file = vh_path(&v, "sigs");
	char want[128] = "", *s;
	size_t a = 0;

	cr_assert_lt(3 * n + 6, sizeof(args) / sizeof(args[0]));
	args[a++] = "--";
	args[a++] = vh_helper();
	for (size_t i = 0; i < n; i++) {
		args[a++] = "trap";
		args[a++] = names[i];
		args[a++] = file;
	}
	args[a++] = "pidfile";
	args[a++] = vh_path(&v, "pid");
	args[a++] = "pause";
	args[a] = NULL;
	vh_start_args(&v, args);
	cr_assert(vh_wait_lines(vh_path(&v, "pid"), 1, 5000));
	for (size_t i = 0; i < n; i++) {
		kill(v.pid, sigs[i]);
		cr_assert(vh_wait_lines(file, (int)i + 1, 5000), "%s was not forwarded", names[i]);
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "%d\n", sigs[i]);
	}
	s = vh_read(file);
	cr_assert_str_eq(s, want);
	free(s);
	cr_assert(vh_alive(v.pid));
	kill(v.pid, SIGTERM);
	cr_assert_eq(vh_wait_exit(&v, 10000), 128 + SIGTERM);
}

/* SPEC §2: every catchable signal but SIGCHLD; ABRT, SYS and TTIN too (vigild not PID 1
 * died of ABRT and left main behind), not only tini's set. valgrind keeps SIGSYS to
 * itself. */
Test(main_mode, abrt_sys_and_ttin_are_forwarded_too)
{
	static const char *const names[] = {"ABRT", "TTIN", "SYS"};
	static const int sigs[] = {SIGABRT, SIGTTIN, SIGSYS};

	assert_forwarded(names, sigs, vh_valgrind() ? 2 : 3);
}

/* SPEC §2 again: a fault signal someone sent (`kill -BUS`) is forwarded like any
 * other; vigild's own faults still end it (the kernel goes through the block). */
Test(main_mode, fault_signals_sent_with_kill_are_forwarded_too)
{
	static const char *const names[] = {"SEGV", "BUS", "ILL", "FPE"};
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE};

	if (VIGIL_ASAN)
		VH_SKIP(&v, "built with AddressSanitizer, whose handler keeps these signals");
	/* valgrind takes a fault signal as the program's fault, even when sent. */
	if (vh_valgrind())
		VH_SKIP(&v, "valgrind keeps the fault signals to itself");
	assert_forwarded(names, sigs, ELEMENTSOF(sigs));
}

/* Without -c the forwarding is tini's: to main's process group, so a child main
 * forked (it keeps the handler) records the signal too. */
Test(main_mode, forwarded_signals_reach_mains_whole_group)
{
	const char *args[] = {"--",
			      vh_helper(),
			      "trap",
			      "USR1",
			      vh_path(&v, "sigs"),
			      "fork-pause",
			      vh_path(&v, "child"),
			      "pidfile",
			      vh_path(&v, "pid"),
			      "pause",
			      NULL};
	char want[32], *s;

	vh_start_args(&v, args);
	cr_assert(vh_wait_lines(vh_path(&v, "pid"), 1, 5000));
	cr_assert(vh_wait_lines(vh_path(&v, "child"), 1, 5000));
	kill(v.pid, SIGUSR1);
	cr_assert(vh_wait_lines(vh_path(&v, "sigs"), 2, 5000), "only main got it");
	s = vh_read(vh_path(&v, "sigs"));
	snprintf(want, sizeof(want), "%d\n%d\n", SIGUSR1, SIGUSR1);
	cr_assert_str_eq(s, want);
	free(s);
	kill(v.pid, SIGTERM);
	cr_assert_eq(vh_wait_exit(&v, 10000), 128 + SIGTERM);
}

Test(main_mode, int_reaches_main_as_int)
{
	const char *args[] = {"--",
			      vh_helper(),
			      "trap",
			      "INT",
			      vh_path(&v, "sigs"),
			      "pidfile",
			      vh_path(&v, "pid"),
			      "sleep",
			      "500",
			      "exit",
			      "9",
			      NULL};

	vh_start_args(&v, args);
	cr_assert(vh_wait_lines(vh_path(&v, "pid"), 1, 5000));
	kill(v.pid, SIGINT);
	cr_assert_eq(vh_wait_exit(&v, 10000), 9);
	cr_assert(vh_wait_lines(vh_path(&v, "sigs"), 1, 1000));
}

Test(main_mode, with_a_config_sidecars_are_stopped_when_main_exits)
{
	const char *args[] = {"-c",
			      v.conf,
			      "--log-level",
			      "debug",
			      "--",
			      vh_helper(),
			      "sleep",
			      "300",
			      "exit",
			      "5",
			      NULL};

	vh_write(&v,
		 "vigil.conf",
		 "service sidecar {\n  command = \"%s pidfile %s pause\"\n}\n",
		 vh_helper(),
		 vh_path(&v, "side"));
	vh_start_args(&v, args);
	cr_assert_eq(vh_wait_exit(&v, 10000), 5);
	cr_assert(vh_count_log(&v, "sidecar: running -> stopping (shutdown)") == 1);
	cr_assert(!vh_alive((pid_t)vh_read_long(vh_path(&v, "side"))));
}

Test(main_mode, with_a_config_term_stops_main_before_the_sidecars)
{
	const char *args[] = {"-c",
			      v.conf,
			      "--log-level",
			      "debug",
			      "--",
			      vh_helper(),
			      "trap",
			      "TERM",
			      vh_path(&v, "t"),
			      "pidfile",
			      vh_path(&v, "pid"),
			      "pause",
			      NULL};
	char *log;

	vh_write(&v, "vigil.conf", "service sidecar {\n  command = \"%s pause\"\n}\n", vh_helper());
	vh_start_args(&v, args);
	cr_assert(vh_wait_lines(vh_path(&v, "pid"), 1, 5000));
	kill(v.pid, SIGTERM);
	/* main traps TERM and goes on, so it is killed at its stop-timeout (10 s) at the
	 * latest; a SIGKILL'd main gives 137. */
	cr_assert_eq(vh_wait_exit(&v, 20000), 128 + SIGKILL);
	log = vh_read(v.log);
	cr_assert_lt(strstr(log, "main: stopping -> stopped"),
		     strstr(log, "sidecar: running -> stopping"));
	free(log);
}

/* Once the shutdown has begun, TERM and INT are forwarded like any other signal: a
 * main that traps the first INT still gets the TERM that follows (they used to be
 * dropped, and main was SIGKILLed at its stop-timeout). */
Test(main_mode, a_second_term_or_int_during_the_shutdown_reaches_main)
{
	const char *args[] = {"--",
			      vh_helper(),
			      "trap",
			      "INT",
			      vh_path(&v, "sigs"),
			      "pidfile",
			      vh_path(&v, "pid"),
			      "pause",
			      NULL};
	long long t0;

	vh_start_args(&v, args);
	cr_assert(vh_wait_lines(vh_path(&v, "pid"), 1, 5000));
	kill(v.pid, SIGINT);
	cr_assert(vh_wait_lines(vh_path(&v, "sigs"), 1, 5000));
	kill(v.pid, SIGINT);
	cr_assert(vh_wait_lines(vh_path(&v, "sigs"), 2, 5000), "the second INT did not reach main");
	t0 = vh_now_ms();
	kill(v.pid, SIGTERM);
	cr_assert_eq(vh_wait_exit(&v, 20000), 128 + SIGTERM);
	cr_assert_lt(vh_now_ms() - t0, vh_ms(5000), "main waited for its stop-timeout");
}

/* A sidecar may require main: it starts once main runs, and a shutdown stops it
 * before main (main goes first only for the services that do not need it). */
Test(main_mode, a_sidecar_may_require_main_and_stops_before_it)
{
	const char *args[] = {"-c",
			      v.conf,
			      "--log-level",
			      "debug",
			      "--",
			      vh_helper(),
			      "pidfile",
			      vh_path(&v, "pid"),
			      "pause",
			      NULL};
	char *log;

	vh_write(&v,
		 "vigil.conf",
		 "service shipper {\n  command = \"%s pidfile %s pause\"\n  requires = "
		 "{\"main\"}\n}\n"
		 "service other {\n  command = \"%s pause\"\n}\n",
		 vh_helper(),
		 vh_path(&v, "side"),
		 vh_helper());
	vh_start_args(&v, args);
	cr_assert(vh_wait_lines(vh_path(&v, "side"), 1, 5000), "the sidecar never started");
	cr_assert(vh_wait_log(&v, "main: stopped -> starting", 1, 1000));
	kill(v.pid, SIGTERM);
	/* Neither traps TERM: no stop-timeout is waited for. */
	cr_assert_eq(vh_wait_exit(&v, 5000), 128 + SIGTERM);
	log = vh_read(v.log);
	cr_assert_lt(strstr(log, "shipper: stopping -> stopped"),
		     strstr(log, "main: running -> stopping"),
		     "%s",
		     log);
	cr_assert_lt(strstr(log, "main: stopping -> stopped"),
		     strstr(log, "other: running -> stopping"),
		     "%s",
		     log);
	free(log);
}

/* Returns @text with every @from replaced by @to (a new string); frees @text. */
static char *replace_all(char *text, const char *from, const char *to)
{
	size_t n = 0, fl = strlen(from), tl = strlen(to);
	char *out, *o;

	for (const char *p = strstr(text, from); p; p = strstr(p + fl, from))
		n++;
	out = o = malloc(strlen(text) + n * tl + 1);
	cr_assert_not_null(out);
	for (const char *p = text, *q; *p; p = q + fl) {
		q = strstr(p, from);
		if (!q) {
			strcpy(o, p);
			o += strlen(p);
			break;
		}
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		memcpy(o, to, tl);
		o += tl;
	}
	*o = '\0';
	free(text);
	return out;
}

/* etc/container/vigil.conf, as its Dockerfile runs it, on loopback and free ports:
 * the sidecars start, app-port is ready once main listens, `vigilctl health` and
 * `wait` answer, and SIGTERM (docker stop) ends the lot with main's status. */
Test(main_mode, the_container_example_runs_as_its_dockerfile_says)
{
	const char *src = getenv("VIGIL_SRCDIR");
	char path[512], app[32], listen[32], www[300];
	char *conf;
	int app_port = vh_free_port(), vigil_port = vh_free_port();

	snprintf(path, sizeof(path), "%s/etc/container/vigil.conf", src ? src : "..");
	conf = vh_read(path);
	cr_assert_not_null(conf, "%s", path);
	snprintf(app, sizeof(app), "127.0.0.1:%d", app_port);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", vigil_port);
	snprintf(www, sizeof(www), "%s/www", v.dir);
	conf = replace_all(conf, "0.0.0.0:9100", listen);
	conf = replace_all(conf, "127.0.0.1:8080", app);
	conf = replace_all(conf, "/tmp/www", www);
	vh_write(&v, "vigil.conf", "%s", conf);
	free(conf);
	{
		char port[16];
		const char *args[] = {"-c",
				      v.conf,
				      "--log-level",
				      "info",
				      "--",
				      vh_helper(),
				      "http-serve",
				      port,
				      vh_path(&v, "status"),
				      NULL};
		snprintf(port, sizeof(port), "%d", app_port);
		vh_start_args(&v, args);
	}
	{
		const char *wait[] = {vh_vigilctl(),
				      "-s",
				      v.sock,
				      "wait",
				      "-t",
				      "20",
				      "app-port",
				      "prepare",
				      NULL};
		const char *health[] = {vh_vigilctl(), "-s", v.sock, "health", NULL};
		int rc;
		long long end = vh_now_ms() + vh_ms(20000);

		/* 3: the control socket is not there yet (valgrind starts slowly). */
		while ((rc = vh_run(wait, NULL, vh_ms(25000))) == 3 && vh_now_ms() < end)
			vh_msleep(50);
		cr_assert_eq(rc, 0, "app-port never got ready (vigilctl wait: %d)", rc);
		cr_assert_eq(vh_run(health, NULL, vh_ms(5000)), 0);
	}
	{
		char stamp[320];
		snprintf(stamp, sizeof(stamp), "%s/healthz", www);
		cr_assert(vh_wait_lines(stamp, 1, 1000), "prepare did not run");
	}
	cr_assert(vh_wait_log(&v, "reporter: starting -> running", 1, 5000));
	kill(v.pid, SIGTERM);
	cr_assert_eq(vh_wait_exit(&v, 20000), 128 + SIGTERM);
	cr_assert_eq(vh_count_log(&v, "reporter: stopping -> stopped"), 1);
}

/* Whether a sidecar needs main (then it stops before main) is worked out once per
 * service, not once per path: 24 layers of 2, each requiring both of the next and
 * none main, are 2^24 paths, which the shutdown walked for every service at every
 * settle to find that none leads to main. */
Test(main_mode, a_deep_web_of_sidecars_does_not_slow_the_shutdown)
{
	const char *args[] = {"-c", v.conf, "--", vh_helper(), "pause", NULL};
	char *conf = calloc(1, 1 << 16);
	size_t len = 0;
	long long t0;

	cr_assert_not_null(conf);
	for (int layer = 0; layer < 24; layer++)
		for (int k = 0; k < 2; k++) {
			len += (size_t)snprintf(conf + len,
						(1 << 16) - len,
						"service s%d_%d {\n  command = \"%s pause\"\n",
						layer,
						k,
						vh_helper());
			if (layer < 23)
				len += (size_t)snprintf(conf + len,
							(1 << 16) - len,
							"  requires = {\"s%d_0\", \"s%d_1\"}\n",
							layer + 1,
							layer + 1);
			len += (size_t)snprintf(conf + len, (1 << 16) - len, "}\n");
		}
	vh_write(&v, "vigil.conf", "%s", conf);
	free(conf);
	vh_start_args(&v, args);
	cr_assert(vh_wait_log(&v, "s0_1: starting -> running", 1, vh_ms(10000)));
	cr_assert(vh_wait_log(&v, "main: starting -> running", 1, vh_ms(10000)));
	t0 = vh_now_ms();
	kill(v.pid, SIGTERM);
	cr_assert_eq(vh_wait_exit(&v, 20000), 128 + SIGTERM);
	cr_log_info("shutdown of 49 services took %lld ms", vh_now_ms() - t0);
	cr_assert_lt(vh_now_ms() - t0, vh_ms(8000), "the shutdown took %lld ms", vh_now_ms() - t0);
}

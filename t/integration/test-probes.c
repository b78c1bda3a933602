/* test-probes.c: liveness, readiness and startup probes of every kind against real
 * servers on loopback, with a real vigild. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

static struct vh v;

static void setup(void)
{
	vh_init(&v);
}

static void teardown(void)
{
	vh_cleanup(&v);
}

TestSuite(probes, .init = setup, .fini = teardown, .timeout = 40);

/* Reads a whole file, also one of /proc (whose size reads as 0). */
static char *read_all(const char *path)
{
	FILE *f = fopen(path, "re");
	size_t len = 0, cap = 65536;
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(cap);
	for (;;) {
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
		if (cap - len < 4096)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* Waits for the pid file to name a process other than @old; returns it. */
static long wait_new_pid(const char *path, long old)
{
	for (int i = 0; i < 1000; i++) {
		long pid = vh_read_long(path);
		if (pid > 0 && pid != old)
			return pid;
		vh_msleep(10);
	}
	return -1;
}

Test(probes, an_http_service_whose_health_turns_to_500_is_restarted)
{
	int port = vh_free_port();
	long first, second;

	vh_write(&v, "status", "200\n");
	vh_write(&v,
		 "vigil.conf",
		 "service web {\n"
		 "  command = \"%s pidfile %s http-serve %d %s\"\n"
		 "  ready = probe\n"
		 "  restart-delay = 0s\n"
		 "  readiness { http = \"http://127.0.0.1:%d/ready\" period = 100ms }\n"
		 /* Liveness starts once the server listens, however slow the machine. */
		 "  startup { tcp = \"127.0.0.1:%d\" period = 50ms failure-threshold = 200 }\n"
		 "  liveness { http = \"http://127.0.0.1:%d/health\" period = 100ms "
		 "failure-threshold = 3 }\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "pid"),
		 port,
		 vh_path(&v, "status"),
		 port,
		 port,
		 port);
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "web: starting -> running (readiness passed)", 1, 10000));
	first = wait_new_pid(vh_path(&v, "pid"), 0);
	cr_assert_gt(first, 0);

	vh_write(&v, "status", "500\n");
	cr_assert(vh_wait_log(&v, "web: liveness check failed (1/3): HTTP 500", 1, 5000));
	cr_assert(vh_wait_log(&v, "web: running -> stopping (liveness failed: HTTP 500)", 1, 5000));
	/* The reason stays in status after the exit, and the run counts as a failure
	 * (with restart-delay = 0s the backoff lasts until the loop's next turn). */
	cr_assert(vh_wait_log(&v,
			      "web: stopping -> backoff (liveness failed: HTTP 500; then killed by "
			      "SIGTERM)",
			      1,
			      5000));
	vh_write(&v, "status", "200\n");
	cr_assert(vh_wait_log(&v, "web: starting -> running (readiness passed)", 2, 10000));
	second = wait_new_pid(vh_path(&v, "pid"), first);
	cr_assert_gt(second, 0);
	cr_assert_neq(second, first);
	cr_assert(vh_wait_dead((pid_t)first, 5000));
}

Test(probes, an_exec_probe_that_fails_restarts_the_service_with_its_output_as_reason)
{
	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s pause\"\n"
		 "  restart-delay = 10s\n"
		 "  liveness { exec = \"%s out 'disk full' exit 3\" period = 100ms "
		 "failure-threshold = 2 }\n"
		 "}\n",
		 vh_helper(),
		 vh_helper());
	vh_start(&v);
	cr_assert(
		vh_wait_log(&v, "s: liveness check failed (1/2): exit code 3: disk full", 1, 5000));
	cr_assert(vh_wait_log(
		&v, "s: running -> stopping (liveness failed: exit code 3: disk full)", 1, 5000));
	cr_assert(vh_wait_log(&v, "s: stopping -> backoff", 1, 5000));
}

Test(probes, an_exec_probe_that_hangs_is_killed_with_its_group_and_counts_as_a_failure)
{
	long probe, child;

	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s pause\"\n"
		 "  liveness { exec = \"%s pidfile %s fork-pause %s pause\" period = 10s "
		 "timeout = 300ms failure-threshold = 5 }\n"
		 "}\n",
		 vh_helper(),
		 vh_helper(),
		 vh_path(&v, "probe"),
		 vh_path(&v, "child"));
	vh_start(&v);
	probe = vh_wait_long(&v, "probe", 5000);
	child = vh_wait_long(&v, "child", 5000);
	cr_assert(
		vh_wait_log(&v, "s: liveness check failed (1/5): timed out after 300ms", 1, 5000));
	/* The probe and what it forked into its group are gone, and vigild reaped them. */
	cr_assert(vh_wait_reaped((pid_t)probe, 2000));
	cr_assert(vh_wait_reaped((pid_t)child, 2000));
	cr_assert_eq(vh_count_log(&v, "s: running -> stopping"), 0);
}

Test(probes, what_a_passing_exec_check_leaves_in_its_group_is_killed_when_it_exits)
{
	long child;

	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s pause\"\n"
		 "  liveness { exec = \"%s fork-pause %s exit 0\" period = 10s }\n"
		 "}\n",
		 vh_helper(),
		 vh_helper(),
		 vh_path(&v, "child"));
	vh_start(&v);
	child = vh_wait_long(&v, "child", 5000);
	/* It used to stay, one more at every check, until vigild ended. */
	cr_assert(vh_wait_reaped((pid_t)child, 5000));
	cr_assert_eq(vh_count_log(&v, "liveness check failed"), 0);
}

/* period <= timeout: the next check is due when the one that timed out is killed,
 * before vigild reaped it. It waits for that and runs; it is no second failure. */
Test(probes, an_exec_check_that_timed_out_counts_once_when_the_next_is_due_at_once)
{
	vh_write(&v,
		 "check.sh",
		 "echo check >> \"$1/checks\"\n"
		 "[ -e \"$1/hung\" ] && exit 0\n"
		 ": > \"$1/hung\"\n"
		 "exec sleep 30\n");
	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s pause\"\n"
		 "  restart-delay = 10s\n"
		 "  liveness { exec = \"/bin/sh %s %s\" period = 300ms timeout = 300ms "
		 "failure-threshold = 2 }\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "check.sh"),
		 v.dir);
	vh_start(&v);
	cr_assert(
		vh_wait_log(&v, "s: liveness check failed (1/2): timed out after 300ms", 1, 5000));
	/* Checks after the hung one ran, and passed. */
	cr_assert(vh_wait_lines(vh_path(&v, "checks"), 4, vh_ms(10000)));
	cr_assert_eq(vh_count_log(&v, "s: liveness check failed (2/2)"), 0);
	cr_assert_eq(vh_count_log(&v, "Device or resource busy"), 0);
	cr_assert_eq(vh_count_log(&v, "s: running -> stopping"), 0);
}

/* As the kubelet: the status decides, the body is read up to 10 KiB at most, so a
 * 200 whose body never ends (a stream) passes instead of timing out. */
Test(probes, an_http_probe_passes_a_200_whose_body_never_ends)
{
	int port = vh_free_port();

	vh_write(&v, "status", "stream\n");
	vh_write(&v,
		 "vigil.conf",
		 "service web {\n"
		 "  command = \"%s http-serve %d %s\"\n"
		 "  ready = probe\n"
		 "  readiness { http = \"http://127.0.0.1:%d/\" period = 100ms timeout = 2s }\n"
		 "}\n",
		 vh_helper(),
		 port,
		 vh_path(&v, "status"),
		 port);
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "web: starting -> running (readiness passed)", 1, vh_ms(10000)));
	cr_assert_eq(vh_count_log(&v, "timed out"), 0);
}

/* A check's output is a program's: its control characters (a terminal's escape
 * sequences, C1 ones too) become '?' in vigild's log and in vigilctl status, and
 * UTF-8 text stays. */
Test(probes, control_characters_of_a_probes_output_never_reach_the_log_or_status)
{
	const char *status[] = {vh_vigilctl(), "-s", v.sock, "status", "c", NULL};
	char *log, *out = NULL;

	vh_write(&v,
		 "check.sh",
		 "printf '\\033[2J\\033]0;pwned\\007caf\\303\\251\\302\\233x\\n'\n"
		 "exit 2\n");
	vh_write(&v,
		 "vigil.conf",
		 "service c {\n"
		 "  command = \"%s pause\"\n"
		 "  readiness { exec = \"/bin/sh %s\" period = 100ms }\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "check.sh"));
	vh_start(&v);
	cr_assert(vh_wait_log(
		&v,
		"c: readiness check failed (1/3): exit code 2: ?[2J?]0;pwned?caf\xc3\xa9?x",
		1,
		vh_ms(5000)));
	cr_assert_eq(vh_run(status, &out, vh_ms(10000)), 0);
	cr_assert(strstr(out, "\"exit code 2: ?[2J?]0;pwned?caf\xc3\xa9?x\""), "%s", out);
	cr_assert_null(strpbrk(out, "\x1b\x07"), "%s", out);
	cr_assert_null(strstr(out, "\xc2\x9b"), "%s", out);
	free(out);
	log = vh_read(v.log);
	cr_assert_null(strpbrk(log, "\x1b\x07"));
	cr_assert_null(strstr(log, "\xc2\x9b"));
	free(log);
}

Test(probes, a_tcp_probe_on_a_closed_port_fails)
{
	int port = vh_free_port();

	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s pause\"\n"
		 "  restart-delay = 10s\n"
		 "  liveness { tcp = \"127.0.0.1:%d\" period = 100ms failure-threshold = 2 }\n"
		 "}\n",
		 vh_helper(),
		 port);
	vh_start(&v);
	cr_assert(vh_wait_log(
		&v, "s: running -> stopping (liveness failed: Connection refused)", 1, 5000));
}

Test(probes, a_unix_socket_probe_makes_the_service_ready)
{
	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s sleep 300 unix-listen %s\"\n"
		 "  ready = probe\n"
		 "  readiness { unix = \"%s\" period = 50ms }\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "sock"),
		 vh_path(&v, "sock"));
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "s: starting -> running (readiness passed)", 1, 5000));
	cr_assert_gt(vh_log_offset(&v, "s: readiness check failed (1/3)"),
		     0,
		     "not ready before it listened");
}

Test(probes, a_slow_starter_is_protected_by_its_startup_probe)
{
	int port = vh_free_port();

	/* Listens after 1.5s; liveness alone (failure-threshold 1) would kill it first. */
	vh_write(&v,
		 "vigil.conf",
		 "service slow {\n"
		 "  command = \"%s sleep 1500 tcp-listen %d\"\n"
		 "  ready = probe\n"
		 "  startup { tcp = \"127.0.0.1:%d\" period = 100ms failure-threshold = 50 }\n"
		 "  liveness { tcp = \"127.0.0.1:%d\" period = 100ms failure-threshold = 1 }\n"
		 "  readiness { tcp = \"127.0.0.1:%d\" period = 100ms }\n"
		 "}\n",
		 vh_helper(),
		 port,
		 port,
		 port,
		 port);
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "slow: startup passed (connected)", 1, 10000));
	cr_assert(vh_wait_log(&v, "slow: starting -> running (readiness passed)", 1, 5000));
	cr_assert_geq(vh_count_log(&v, "slow: startup check failed"), 5);
	cr_assert_eq(vh_count_log(&v, "slow: liveness check failed"), 0);
	cr_assert_eq(vh_count_log(&v, "slow: readiness check failed"), 0);
	cr_assert_eq(vh_count_log(&v, "-> stopping"), 0);
}

Test(probes, a_startup_probe_that_never_passes_restarts_with_startup_timed_out)
{
	int port = vh_free_port();

	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s pause\"\n"
		 "  restart-delay = 10s\n"
		 "  startup { tcp = \"127.0.0.1:%d\" period = 50ms failure-threshold = 4 }\n"
		 "}\n",
		 vh_helper(),
		 port);
	vh_start(&v);
	cr_assert(vh_wait_log(
		&v, "s: running -> stopping (startup timed out: Connection refused)", 1, 5000));
	cr_assert(vh_wait_log(&v, "s: stopping -> backoff (startup timed out", 1, 5000));
}

Test(probes, readiness_failing_only_clears_the_ready_flag)
{
	int port = vh_free_port();

	vh_write(&v, "status", "200\n");
	vh_write(&v,
		 "vigil.conf",
		 "service web {\n"
		 "  command = \"%s http-serve %d %s\"\n"
		 "  ready = probe\n"
		 "  readiness { http = \"http://127.0.0.1:%d/\" period = 50ms failure-threshold = "
		 "2 }\n"
		 "}\n",
		 vh_helper(),
		 port,
		 vh_path(&v, "status"),
		 port);
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "web: starting -> running (readiness passed)", 1, 10000));
	vh_write(&v, "status", "503\n");
	cr_assert(vh_wait_log(&v, "web: not ready (readiness failed: HTTP 503)", 1, 5000));
	vh_write(&v, "status", "302\n");
	cr_assert(vh_wait_log(&v, "web: ready (readiness passed: HTTP 302)", 1, 5000));
	cr_assert_eq(vh_count_log(&v, "-> stopping"), 0);
}

Test(probes, requires_waits_for_readiness_from_a_probe)
{
	int port = vh_free_port();
	long ready, started;

	vh_write(&v,
		 "vigil.conf",
		 "service db {\n"
		 "  command = \"%s sleep 500 tcp-listen %d\"\n"
		 "  ready = probe\n"
		 "  readiness { tcp = \"127.0.0.1:%d\" period = 50ms }\n"
		 "}\n"
		 "service web {\n"
		 "  command = \"%s pause\"\n"
		 "  requires = {\"db\"}\n"
		 "}\n",
		 vh_helper(),
		 port,
		 port,
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "web: starting -> running", 1, 10000));
	ready = vh_log_offset(&v, "db: starting -> running (readiness passed)");
	started = vh_log_offset(&v, "web: waiting -> starting");
	cr_assert_geq(ready, 0);
	cr_assert_gt(started, ready);
	cr_assert_eq(vh_count_log(&v, "web: waiting -> starting"), 1);
}

Test(probes, a_waiting_dependent_starts_once_readiness_comes_back)
{
	int port = vh_free_port();

	vh_write(&v, "status", "200\n");
	vh_write(&v,
		 "vigil.conf",
		 "service db {\n"
		 "  command = \"%s http-serve %d %s\"\n"
		 "  ready = probe\n"
		 "  readiness { http = \"http://127.0.0.1:%d/\" period = 50ms failure-threshold = "
		 "1 }\n"
		 "}\n"
		 "service web {\n"
		 "  command = \"%s exit 1\"\n"
		 "  requires = {\"db\"}\n"
		 "  restart-delay = 300ms\n"
		 "  restart-jitter = 0%%\n"
		 "}\n",
		 vh_helper(),
		 port,
		 vh_path(&v, "status"),
		 port,
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "web: running -> backoff", 1, 10000));
	/* db stops being ready while web backs off: web waits, then goes on once db is
	 * ready again, with no transition of db to wake it. */
	vh_write(&v, "status", "500\n");
	cr_assert(vh_wait_log(&v, "db: not ready", 1, 5000));
	cr_assert(vh_wait_log(&v, "web: backoff -> waiting", 1, 5000));
	vh_write(&v, "status", "200\n");
	cr_assert(vh_wait_log(&v, "web: waiting -> starting (requirements ready)", 2, 5000));
}

Test(probes, a_probe_in_flight_is_cancelled_when_its_service_stops)
{
	long main_pid, probe;

	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s pidfile %s pause\"\n"
		 "  restart = never\n"
		 "  liveness { exec = \"%s pidfile %s pause\" timeout = 20s }\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "main"),
		 vh_helper(),
		 vh_path(&v, "probe"));
	vh_start(&v);
	main_pid = vh_wait_long(&v, "main", 5000);
	probe = vh_wait_long(&v, "probe", 5000);
	kill((pid_t)main_pid, SIGKILL);
	cr_assert(vh_wait_log(&v, "s: running -> exited (killed by SIGKILL)", 1, 5000));
	cr_assert(vh_wait_reaped((pid_t)probe, 2000), "the check was not cancelled");
}

Test(probes, vigild_without_http_probes_does_not_load_libcurl)
{
	char maps[64], *text;

	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s pause\"\n"
		 "  readiness { tcp = \"127.0.0.1:1\" period = 1h }\n"
		 "}\n",
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "s: starting -> running", 1, 5000));
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)v.pid);
	text = read_all(maps);
	cr_assert_not_null(text);
	cr_assert_null(strstr(text, "libcurl"), "libcurl is mapped");
	free(text);
}

Test(probes, vigild_with_an_http_probe_loads_libcurl)
{
	char maps[64], *text;

	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s pause\"\n"
		 "  readiness { http = \"http://127.0.0.1:1/\" period = 1h }\n"
		 "}\n",
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "s: starting -> running", 1, 5000));
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)v.pid);
	text = read_all(maps);
	cr_assert_not_null(strstr(text, "libcurl"));
	free(text);
}

Test(probes, an_http_probe_without_libcurl_is_a_config_error_naming_the_package)
{
	char *out = NULL, script[1024];
	int code;

	/* Hide libcurl in a private mount namespace: what a container image without it
	 * looks like to dlopen(). Needs CAP_SYS_ADMIN; skipped without. */
	vh_need(&v, "unshare", "util-linux");
	vh_need(&v, "mount", "mount");
	vh_need(&v, "awk", "mawk");
	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"/bin/true\"\n"
		 "\n"
		 "  liveness { http = \"http://127.0.0.1:1/\" }\n"
		 "}\n");
	snprintf(
		script,
		sizeof(script),
		"lib=$(ldconfig -p | awk '$1 == \"libcurl.so.4\" {print $NF; exit}') && "
		"[ -n \"$lib\" ] && mount --bind /dev/null \"$(readlink -f \"$lib\")\" || exit 77; "
		"exec %s --check -c %s 2>&1",
		vh_vigild(),
		v.conf);
	{
		/* unshare's own complaint (in a chroot: "cannot change root filesystem
		 * propagation") must reach @out too: $0 is the script. */
		const char *argv[] = {
			"sh", "-c", "exec unshare -m sh -c \"$0\" 2>&1", script, NULL};
		code = vh_run(argv, &out, 10000);
	}
	if (code == 77 || (code == 1 && strstr(out, "unshare:"))) {
		free(out);
		VH_SKIP(&v, "cannot hide libcurl here (no mount namespace)");
	}
	cr_assert_eq(code, 1, "exit %d: %s", code, out);
	cr_assert_not_null(strstr(out,
				  "vigil.conf:4: liveness probe of service 's': cannot load "
				  "libcurl.so.4 (install the Debian package libcurl4)"),
			   "%s",
			   out);
	free(out);
}

/* A resolver that never answers (a socket on 127.0.0.2:53 that reads nothing): the
 * checks of a tcp probe of a host name time out one after the other and share the
 * one lookup (one thread) still running, instead of starting one each. vigild gets
 * that resolver through its own /etc/resolv.conf in a private mount namespace;
 * skipped where there is none. */
Test(probes, checks_timing_out_on_a_hanging_name_lookup_share_one_lookup)
{
	struct sockaddr_in dns = {.sin_family = AF_INET, .sin_port = htons(53)};
	char script[1024], path[64], *status, *p;
	long threads;
	int fd;

	vh_need(&v, "unshare", "util-linux");
	vh_need(&v, "mount", "mount");
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(inet_pton(AF_INET, "127.0.0.2", &dns.sin_addr), 1);
	if (bind(fd, (struct sockaddr *)&dns, sizeof(dns)) < 0) {
		int err = errno;

		close(fd);
		VH_SKIP(&v, "cannot bind 127.0.0.2:53: %s", strerror(err));
	}
	vh_write(&v, "resolv.conf", "nameserver 127.0.0.2\noptions timeout:30 attempts:1\n");
	vh_write(&v,
		 "vigil.conf",
		 "service s {\n  command = \"%s pause\"\n"
		 "  readiness { tcp = \"vigil-hang.example:80\" period = 100ms timeout = 50ms }\n"
		 "}\n",
		 vh_helper());
	snprintf(script,
		 sizeof(script),
		 "mount --bind %s /etc/resolv.conf || exit 77; exec \"$0\" \"$@\"",
		 vh_path(&v, "resolv.conf"));
	{
		/* unshare -m execs in place: v.pid ends up vigild's. */
		const char *wrapper[] = {"unshare", "-m", "sh", "-c", script, NULL};

		vh_start_under(&v, wrapper, NULL);
	}
	if (!vh_wait_log(&v, "failed in", 10, 10000)) {
		int code = vh_wait_exit(&v, 0);

		close(fd);
		if (code >= 0)
			VH_SKIP(&v, "no private /etc/resolv.conf here (exit %d)", code);
		cr_assert_fail("the checks did not time out");
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)v.pid);
	status = vh_read(path);
	cr_assert_not_null(status);
	p = strstr(status, "Threads:");
	cr_assert_not_null(p);
	threads = strtol(p + 8, NULL, 10);
	free(status);
	close(fd);
	/* The loop and one lookup; a thread per check would be ten or more. */
	cr_assert_leq(threads, 2, "%ld threads after 10 checks timed out", threads);
	cr_assert_eq(vh_count_log(&v, "resolve"), 0, "no lookup finished: it hangs");
}

Test(probes, no_probe_means_no_wakeups)
{
	char path[64], *text, *p;
	long before, after;

	vh_write(&v,
		 "vigil.conf",
		 "service a {\n  command = \"%s pause\"\n}\n"
		 "service b {\n  command = \"%s pause\"\n}\n",
		 vh_helper(),
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "b: starting -> running", 1, 5000));
	cr_assert(vh_wait_log(&v, "a: starting -> running", 1, 5000));
	snprintf(path, sizeof(path), "/proc/%d/status", (int)v.pid);
	vh_msleep(200); /* let the start-up settle */
	text = read_all(path);
	p = strstr(text, "voluntary_ctxt_switches:");
	before = p ? atol(p + strlen("voluntary_ctxt_switches:")) : -1;
	free(text);
	/* Measuring an absence: nothing may wake vigild during this second. */
	vh_msleep(1000);
	text = read_all(path);
	p = strstr(text, "voluntary_ctxt_switches:");
	after = p ? atol(p + strlen("voluntary_ctxt_switches:")) : -2;
	free(text);
	cr_assert_eq(after, before, "vigild woke up %ld times", after - before);
}

Test(probes, a_required_service_restarted_by_its_liveness_probe_does_not_restart_dependents)
{
	int port = vh_free_port();
	long web;

	vh_write(&v, "status", "200\n");
	vh_write(&v,
		 "vigil.conf",
		 "service db {\n"
		 "  command = \"%s http-serve %d %s\"\n"
		 "  ready = probe\n"
		 "  restart-delay = 0s\n"
		 "  readiness { http = \"http://127.0.0.1:%d/\" period = 50ms }\n"
		 /* Liveness waits for the server to listen (startup), else its first
		  * check may beat the server and kill it, over and over. */
		 "  startup { tcp = \"127.0.0.1:%d\" period = 50ms failure-threshold = 200 }\n"
		 "  liveness { http = \"http://127.0.0.1:%d/\" period = 50ms failure-threshold = 1 "
		 "}\n"
		 "}\n"
		 "service web {\n"
		 "  command = \"%s pidfile %s pause\"\n"
		 "  requires = {\"db\"}\n"
		 "}\n",
		 vh_helper(),
		 port,
		 vh_path(&v, "status"),
		 port,
		 port,
		 port,
		 vh_helper(),
		 vh_path(&v, "web"));
	vh_start(&v);
	web = vh_wait_long(&v, "web", 10000);
	vh_write(&v, "status", "500\n");
	cr_assert(vh_wait_log(&v, "db: running -> stopping (liveness failed: HTTP 500)", 1, 5000));
	vh_write(&v, "status", "200\n");
	cr_assert(vh_wait_log(&v, "db: starting -> running (readiness passed)", 2, 10000));
	cr_assert_eq(vh_read_long(vh_path(&v, "web")), web);
	cr_assert(vh_alive((pid_t)web));
	cr_assert_eq(vh_count_log(&v, "web: waiting -> starting"), 1);
	cr_assert_eq(vh_count_log(&v, "web: running ->"), 0);
}

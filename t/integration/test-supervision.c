/* test-supervision.c: restarts, backoff, restart limits and policies, with a real
 * vigild and real children. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

TestSuite(supervision, .init = setup, .fini = teardown, .timeout = 30);

/* Reads the "PID MS" lines a `record` action wrote; returns how many. */
static int read_records(const char *path, long *pids, long long *ms, int max)
{
	FILE *f = fopen(path, "r");
	int n = 0;

	if (!f)
		return 0;
	while (n < max && fscanf(f, "%ld %lld", &pids[n], &ms[n]) == 2)
		n++;
	fclose(f);
	return n;
}

Test(supervision, restarts_a_service_killed_with_sigkill)
{
	long first, second;

	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s pidfile %s pause\"\n"
		 "  restart-delay = 0s\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "pid"));
	vh_start(&v);
	first = vh_wait_long(&v, "pid", 5000);
	cr_assert_gt(first, 0);
	kill((pid_t)first, SIGKILL);
	/* restart-delay = 0s: a backoff until the loop's next turn, not a start from
	 * inside the handling of the exit (test-faults: a storm of those starved the
	 * loop). */
	cr_assert(vh_wait_log(&v, "s: running -> backoff (killed by SIGKILL)", 1, 5000));
	cr_assert(vh_wait_log(&v, "s: backoff -> starting", 1, 5000));
	cr_assert(vh_wait_log(&v, "s: starting -> running", 2, 5000));
	for (int i = 0; i < 500 && vh_read_long(vh_path(&v, "pid")) == first; i++)
		vh_msleep(10);
	second = vh_read_long(vh_path(&v, "pid"));
	cr_assert_neq(second, first);
	cr_assert(vh_alive((pid_t)second));
	cr_assert(!vh_alive((pid_t)first));
}

Test(supervision, backoff_gaps_grow_by_the_factor_and_stop_at_the_cap)
{
	long pids[8];
	long long ms[8];
	/* 100, 200, 400, then capped at 400 */
	const long long want[] = {100, 200, 400, 400, 400};

	vh_write(&v,
		 "vigil.conf",
		 "service crash {\n"
		 "  command = \"%s record %s exit 1\"\n"
		 "  restart-delay = 100ms\n"
		 "  restart-factor = 2\n"
		 "  restart-delay-max = 400ms\n"
		 "  restart-jitter = 0%%\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "runs"));
	vh_start(&v);
	cr_assert(vh_wait_lines(vh_path(&v, "runs"), 6, 10000));
	cr_assert_eq(read_records(vh_path(&v, "runs"), pids, ms, 6), 6);
	for (int i = 0; i < 5; i++) {
		long long gap = ms[i + 1] - ms[i];
		/* The gap holds the delay plus a spawn: generous above, strict below. */
		cr_expect_geq(gap, want[i] - 5, "gap %d was %lld ms, want %lld", i, gap, want[i]);
		cr_expect_leq(gap, want[i] + 250, "gap %d was %lld ms, want %lld", i, gap, want[i]);
	}
}

Test(supervision, a_run_longer_than_stable_after_resets_the_backoff)
{
	long pids[8];
	long long ms[8];

	/* Each run lasts 300 ms, longer than stable-after: every restart waits the
	 * first delay, never the grown one. */
	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s record %s sleep 300 exit 1\"\n"
		 "  restart-delay = 200ms\n"
		 "  restart-factor = 4\n"
		 "  restart-jitter = 0%%\n"
		 "  stable-after = 250ms\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "runs"));
	vh_start(&v);
	cr_assert(vh_wait_lines(vh_path(&v, "runs"), 4, 10000));
	cr_assert_eq(read_records(vh_path(&v, "runs"), pids, ms, 4), 4);
	for (int i = 0; i < 3; i++) {
		long long gap = ms[i + 1] - ms[i];
		cr_expect_geq(gap, 300 + 200 - 5, "gap %d: %lld", i, gap);
		cr_expect_lt(gap, 300 + 800, "gap %d: %lld (the backoff grew)", i, gap);
	}
}

Test(supervision, restart_limit_within_the_window_ends_in_failed)
{
	vh_write(&v,
		 "vigil.conf",
		 "service crash {\n"
		 "  command = \"%s record %s exit 2\"\n"
		 "  restart-delay = 10ms\n"
		 "  restart-limit = 3\n"
		 "  restart-window = 60s\n"
		 "}\n"
		 "service other {\n"
		 "  command = \"%s pause\"\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "runs"),
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "crash: running -> failed (restart limit reached)", 1, 10000));
	/* The first run and three restarts. */
	cr_assert_eq(vh_count_lines(vh_path(&v, "runs")), 4);
	vh_msleep(200);
	cr_assert_eq(vh_count_lines(vh_path(&v, "runs")), 4, "failed must stay failed");
	cr_assert_eq(vh_count_log(&v, "other: running ->"), 0, "the others keep running");
}

Test(supervision, on_failure_restarts_failures_but_not_clean_exits)
{
	vh_write(&v,
		 "vigil.conf",
		 "service clean {\n"
		 "  command = \"%s record %s exit 0\"\n"
		 "  restart = on-failure\n"
		 "}\n"
		 "service dirty {\n"
		 "  command = \"%s record %s exit 1\"\n"
		 "  restart = on-failure\n"
		 "  restart-delay = 10ms\n"
		 "}\n"
		 "service custom {\n"
		 "  command = \"%s record %s exit 5\"\n"
		 "  restart = on-failure\n"
		 "  success-exit-codes = {0, 5}\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "clean"),
		 vh_helper(),
		 vh_path(&v, "dirty"),
		 vh_helper(),
		 vh_path(&v, "custom"));
	vh_start(&v);
	cr_assert(vh_wait_lines(vh_path(&v, "dirty"), 3, 5000));
	cr_assert(vh_wait_log(&v, "clean: running -> exited (exited with code 0)", 1, 5000));
	cr_assert(vh_wait_log(&v, "custom: running -> exited (exited with code 5)", 1, 5000));
	vh_msleep(300);
	cr_assert_eq(vh_count_lines(vh_path(&v, "clean")), 1);
	cr_assert_eq(vh_count_lines(vh_path(&v, "custom")), 1);
}

Test(supervision, a_crashed_service_starts_again_only_once_what_it_left_is_gone)
{
	long child;

	/* Main exits 1 at once; its child ignores TERM: SIGKILL at stop-timeout, then
	 * the restart (restart-delay 0). */
	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"/bin/sh -c '%s ignore TERM pidfile %s pause & %s sleep 100 record "
		 "%s exit 1'\"\n"
		 "  restart-delay = 0s\n  stop-timeout = 2s\n}\n",
		 vh_helper(),
		 vh_path(&v, "child"),
		 vh_helper(),
		 vh_path(&v, "runs"));
	vh_start(&v);
	child = vh_wait_long(&v, "child", 5000);
	cr_assert(vh_wait_log(&v, "s: main process exited with code 1", 1, 5000));
	/* Main is gone: not ready while its group drains. */
	{
		const char *st[] = {vh_vigilctl(), "-s", v.sock, "--json", "status", "s", NULL};
		char *out = NULL;

		/* stop-timeout 2 s: the child is still there. */
		cr_assert_eq(vh_run(st, &out, 5000), 0);
		cr_assert(strstr(out, "\"ready\": false") && strstr(out, "\"state\": \"running\""),
			  "%s",
			  out);
		cr_assert_eq(vh_count_lines(vh_path(&v, "runs")), 1);
		free(out);
	}
	cr_assert(vh_wait_lines(vh_path(&v, "runs"), 2, 10000));
	cr_assert(!vh_alive((pid_t)child), "started again beside the child of the last run");
	cr_assert(vh_wait_log(&v, "still there after stop-timeout: sending SIGKILL", 1, 1000));
	/* The reap that emptied the group leaves waitpid()'s errno alone. */
	cr_assert_eq(vh_count_log(&v, "Failed to reap children"), 0, "%s", vh_read(v.log));
}

/* Main leaves B in its group; B ignores TERM and its parent A, outside the group
 * (setpgid), reaps it: vigild never reaps anything of the group, and must still see
 * it empty after the SIGKILL at stop-timeout. */
Test(supervision, a_group_emptied_by_a_parent_outside_it_ends_the_run)
{
	vh_need(&v, "perl", "perl-base");
	vh_write(&v,
		 "main.pl",
		 "if (fork() == 0) {\n"
		 "  my $b = fork();\n"
		 "  if ($b == 0) { $SIG{TERM} = 'IGNORE'; sleep 1000; exit 0; }\n"
		 "  setpgrp(0, 0); $SIG{TERM} = 'IGNORE'; waitpid($b, 0); sleep 1000; exit 0;\n"
		 "}\n"
		 "sleep 1; exit 3;\n");
	vh_write(&v,
		 "vigil.conf",
		 "shutdown-timeout = 2s\n"
		 "service d {\n"
		 "  command = \"perl %s\"\n"
		 "  restart-delay = 30s\n  stop-timeout = 1s\n}\n",
		 vh_path(&v, "main.pl"));
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "d: main process exited with code 3", 1, 5000));
	cr_assert(vh_wait_log(&v, "d: running -> backoff (exited with code 3)", 1, 5000),
		  "the run never ended:\n%s",
		  vh_read(v.log));
}

Test(supervision, never_leaves_a_failed_service_exited)
{
	vh_write(&v,
		 "vigil.conf",
		 "service once {\n"
		 "  command = \"%s record %s exit 1\"\n"
		 "  restart = never\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "runs"));
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "once: running -> exited (exited with code 1)", 1, 5000));
	vh_msleep(300);
	cr_assert_eq(vh_count_lines(vh_path(&v, "runs")), 1);
}

Test(supervision, a_missing_binary_backs_off_with_its_reason_and_others_carry_on)
{
	vh_write(&v,
		 "vigil.conf",
		 "service ghost {\n"
		 "  command = \"/nonexistent/program --flag\"\n"
		 "  restart-delay = 20ms\n"
		 "}\n"
		 "service alive {\n"
		 "  command = \"%s pidfile %s pause\"\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "pid"));
	vh_start(&v);
	cr_assert(
		vh_wait_log(&v,
			    "ghost: starting -> backoff (cannot execute '/nonexistent/program': No "
			    "such file or directory)",
			    3,
			    5000));
	cr_assert(vh_wait_lines(vh_path(&v, "pid"), 1, 5000));
	cr_assert(vh_alive((pid_t)vh_read_long(vh_path(&v, "pid"))));
}

Test(supervision, an_unknown_user_is_a_failed_run_with_its_reason)
{
	vh_write(&v,
		 "vigil.conf",
		 "service u {\n"
		 "  command = \"%s pause\"\n"
		 "  user = \"no-such-user-here\"\n"
		 "  restart = never\n"
		 "}\n",
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(
		&v, "u: starting -> failed (unknown user 'no-such-user-here')", 1, 5000));
}

Test(supervision, a_bad_env_file_line_is_a_failed_run_naming_file_and_line)
{
	char want[512];

	vh_write(&v, "env", "A=1\n# fine\nB='open\n");
	vh_write(&v,
		 "vigil.conf",
		 "service e {\n"
		 "  command = \"%s pause\"\n"
		 "  env-file = \"%s\"\n"
		 "  restart = never\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "env"));
	vh_start(&v);
	snprintf(want,
		 sizeof(want),
		 "e: starting -> failed (%s:3: bad env-file line (NAME=VALUE expected, any quote "
		 "closed))",
		 vh_path(&v, "env"));
	cr_assert(vh_wait_log(&v, want, 1, 5000), "%s", vh_read(v.log));
	/* Tried once: autostart does not start it again. */
	vh_msleep(vh_ms(200));
	cr_assert_eq(vh_count_log(&v, "e: failed -> starting"), 0);
}

Test(supervision, an_autostart_requirement_that_could_not_start_is_tried_once)
{
	vh_write(&v,
		 "vigil.conf",
		 "service b {\n  command = \"/nonexistent/b\"\n  restart = never\n}\n"
		 "service a {\n  command = \"%s pause\"\n  requires = b\n}\n",
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "b: starting -> failed", 1, 5000));
	vh_msleep(vh_ms(300));
	cr_assert_eq(vh_count_log(&v, "b: failed -> starting"), 0, "%s", vh_read(v.log));
}

Test(supervision, an_env_file_fifo_nobody_writes_to_fails_the_start_without_stalling)
{
	const char *status[] = {vh_vigilctl(), "-s", v.sock, "status", NULL};
	long long t0;

	cr_assert_eq(mkfifo(vh_path(&v, "env"), 0600), 0);
	vh_write(&v,
		 "vigil.conf",
		 "service e {\n  command = \"%s pause\"\n  env-file = \"%s\"\n"
		 "  restart-delay = 100ms\n  restart-delay-max = 100ms\n}\n",
		 vh_helper(),
		 vh_path(&v, "env"));
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "cannot read env-file", 3, 5000));
	cr_assert(vh_count_log(&v, "No data available") >= 1, "%s", vh_read(v.log));
	/* Each start gives the FIFO no time in the loop: the API answers at once. */
	for (int i = 0; i < 5; i++) {
		t0 = vh_now_ms();
		cr_assert_eq(vh_run(status, NULL, 5000), 0);
		cr_assert_lt(vh_now_ms() - t0, 1500);
	}
}

Test(supervision, oneshot_is_ready_when_it_exits_and_releases_its_dependents)
{
	vh_write(&v,
		 "vigil.conf",
		 "service migrate {\n"
		 "  command = \"%s sleep 300 record %s exit 0\"\n"
		 "  type = oneshot\n"
		 "}\n"
		 "service app {\n"
		 "  command = \"%s record %s pause\"\n"
		 "  requires = {\"migrate\"}\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "order"),
		 vh_helper(),
		 vh_path(&v, "order"));
	vh_start(&v);
	cr_assert(vh_wait_lines(vh_path(&v, "order"), 2, 5000));
	cr_assert(vh_wait_log(&v, "migrate: starting -> exited (exited with code 0)", 1, 5000));
	cr_assert(vh_wait_log(&v, "app: waiting -> starting", 1, 5000));
	{
		char *log = vh_read(v.log);
		char *a = strstr(log, "migrate: starting -> exited");
		char *b = strstr(log, "app: waiting -> starting");
		cr_assert(a && b && a < b, "app started before migrate finished");
		free(log);
	}
}

Test(supervision, a_failed_service_with_on_failed_shutdown_exits_3)
{
	vh_write(&v,
		 "vigil.conf",
		 "shutdown-timeout = 5s\n"
		 "service critical {\n"
		 "  command = \"%s exit 1\"\n"
		 "  restart-delay = 10ms\n"
		 "  restart-limit = 1\n"
		 "  on-failed = shutdown\n"
		 "}\n"
		 "service bystander {\n"
		 "  command = \"%s pause\"\n"
		 "}\n",
		 vh_helper(),
		 vh_helper());
	vh_start(&v);
	cr_assert_eq(vh_wait_exit(&v, 10000), 3);
	cr_assert(vh_count_log(&v, "bystander: running -> stopping (shutdown)") == 1);
}

/* A service with on-failed = shutdown that cannot start at all: the shutdown is
 * decided there, and nothing starts after it (the next service used to be spawned,
 * then killed at once). */
Test(supervision, nothing_starts_after_an_on_failed_shutdown_at_start_up)
{
	vh_write(&v,
		 "vigil.conf",
		 "service critical {\n"
		 "  command = \"/nonexistent/vigil-critical\"\n"
		 "  restart = never\n"
		 "  on-failed = shutdown\n"
		 "}\n"
		 "service later {\n"
		 "  command = \"%s record %s pause\"\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "later"));
	vh_start(&v);
	cr_assert_eq(vh_wait_exit(&v, 10000), 3);
	cr_assert_eq(vh_count_log(&v, "later: stopped -> starting"), 0);
	cr_assert_eq(vh_count_lines(vh_path(&v, "later")), 0);
}

Test(supervision, an_exec_that_fails_in_the_child_is_reported_every_time)
{
	/* The program exists, so the failure comes from execve in the child (its
	 * interpreter is missing), again at every restart. */
	if (vh_valgrind())
		VH_SKIP(&v,
			"under valgrind a child whose execve fails dies in valgrind "
			"(\"can't recover from execve() failing\", exit 101)");
	vh_write(&v, "bad", "#!/nonexistent/interpreter\n");
	chmod(vh_path(&v, "bad"), 0755);
	vh_write(&v,
		 "vigil.conf",
		 "service b {\n"
		 "  command = \"%s\"\n"
		 "  restart-delay = 20ms\n"
		 "}\n",
		 vh_path(&v, "bad"));
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "b: starting -> backoff (cannot execute", 3, 5000));
	cr_assert_eq(vh_count_log(&v, "b: starting -> running"), 0);
	/* The file is there: the message names what is not. */
	cr_assert_geq(vh_count_log(&v, "its interpreter '/nonexistent/interpreter' was not found)"),
		      3,
		      "%s",
		      vh_read(v.log));
	cr_assert_eq(vh_count_log(&v, "No such file or directory"), 0, "%s", vh_read(v.log));
}

Test(supervision, a_script_without_a_hash_bang_line_is_reported_as_such)
{
	if (vh_valgrind())
		VH_SKIP(&v, "under valgrind a child whose execve fails dies in valgrind");
	vh_write(&v, "script", "echo hello\n");
	chmod(vh_path(&v, "script"), 0755);
	vh_write(&v,
		 "vigil.conf",
		 "service b {\n  command = \"%s\"\n  restart = never\n}\n",
		 vh_path(&v, "script"));
	vh_start(&v);
	/* ENOEXEC, which a shell would have run with /bin/sh: the message says why. */
	cr_assert(vh_wait_log(&v, "b: starting -> failed (cannot execute", 1, 5000));
	cr_assert(vh_wait_log(&v,
			      "Exec format error (not a program for this machine, nor a "
			      "script starting with '#!')",
			      1,
			      5000),
		  "%s",
		  vh_read(v.log));
}

/* A program whose dynamic loader is missing (a copy of true naming another one):
 * execve says ENOENT of a file that is there, and the message says what is gone. */
Test(supervision, a_program_whose_loader_is_missing_is_reported_as_such)
{
	static const char loader[] = "/lib64/ld-linux-x86-64.so.2";
	FILE *in = fopen("/bin/true", "rb"), *out;
	char *image, *at;
	long size;

	if (vh_valgrind())
		VH_SKIP(&v, "under valgrind a child whose execve fails dies in valgrind");
	cr_assert(in);
	fseek(in, 0, SEEK_END);
	size = ftell(in);
	rewind(in);
	image = malloc((size_t)size);
	cr_assert(image && fread(image, 1, (size_t)size, in) == (size_t)size);
	fclose(in);
	at = memmem(image, (size_t)size, loader, sizeof(loader) - 1);
	if (!at) {
		free(image);
		VH_SKIP(&v, "/bin/true names no %s", loader);
	}
	at[sizeof(loader) - 2] = 'X'; /* ...so.X: no such loader */
	out = fopen(vh_path(&v, "noloader"), "wb");
	cr_assert(out && fwrite(image, 1, (size_t)size, out) == (size_t)size);
	fclose(out);
	free(image);
	chmod(vh_path(&v, "noloader"), 0755);
	vh_write(&v,
		 "vigil.conf",
		 "service b {\n  command = \"%s\"\n  restart = never\n}\n",
		 vh_path(&v, "noloader"));
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "its dynamic loader) was not found", 1, 5000),
		  "%s",
		  vh_read(v.log));
}

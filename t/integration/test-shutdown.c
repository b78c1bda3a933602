/* test-shutdown.c: stop signals and escalation, shutdown order, orphans, PID 1. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

TestSuite(shutdown, .init = setup, .fini = teardown, .timeout = 40);

static size_t position(const char *log, const char *needle)
{
	const char *p = strstr(log, needle);

	cr_assert(p, "'%s' is not in the log", needle);
	return (size_t)(p - log);
}

Test(shutdown, stops_dependents_first_and_signals_a_service_only_after_they_exited)
{
	char *log;

	/* web requires api requires db; defined in the reverse order on purpose. */
	vh_write(&v,
		 "vigil.conf",
		 "service web {\n  command = \"%s pause\"\n  requires = {\"api\"}\n}\n"
		 "service api {\n  command = \"%s pause\"\n  requires = {\"db\"}\n}\n"
		 "service db {\n  command = \"%s pause\"\n}\n",
		 vh_helper(),
		 vh_helper(),
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "web: starting -> running", 1, 5000));
	kill(v.pid, SIGTERM);
	cr_assert_eq(vh_wait_exit(&v, 20000), 0);
	log = vh_read(v.log);
	/* Start order: db, api, web. */
	cr_assert_lt(position(log, "db: starting -> running"),
		     position(log, "api: waiting -> starting"));
	cr_assert_lt(position(log, "api: starting -> running"),
		     position(log, "web: waiting -> starting"));
	/* Stop order: web, then api once web is gone, then db once api is gone. */
	cr_assert_lt(position(log, "web: stopping -> stopped"),
		     position(log, "api: running -> stopping"));
	cr_assert_lt(position(log, "api: stopping -> stopped"),
		     position(log, "db: running -> stopping"));
	free(log);
}

Test(shutdown, a_service_that_exits_while_its_dependents_stop_is_not_started_again)
{
	/* hold ignores TERM for its 2 s stop-timeout; meanwhile db, which must wait for
	 * it, crashes. */
	vh_write(&v,
		 "vigil.conf",
		 "service db {\n  command = \"%s record %s sleep 600 exit 1\"\n"
		 "  restart-delay = 10ms\n}\n"
		 "service hold {\n  command = \"%s ignore TERM pidfile %s pause\"\n"
		 "  requires = db\n  stop-timeout = 2s\n}\n",
		 vh_helper(),
		 vh_path(&v, "runs"),
		 vh_helper(),
		 vh_path(&v, "hold"));
	vh_start(&v);
	cr_assert(vh_wait_lines(vh_path(&v, "hold"), 1, 5000));
	kill(v.pid, SIGTERM);
	cr_assert_eq(vh_wait_exit(&v, 20000), 0);
	cr_assert_eq(vh_count_lines(vh_path(&v, "runs")), 1, "db was started during the shutdown");
	cr_assert_eq(vh_count_log(&v, "db: backoff -> starting"), 0);
	cr_assert_eq(vh_count_log(&v, "hold: waiting"), 0);
}

/* A service whose main process exits at TERM and leaves a child in its group that
 * ignores TERM and writes its pid to @child. */
#define LEAVES_A_CHILD                                                         \
	"  command = \"/bin/sh -c '%s ignore TERM pidfile %s pause & exec %s " \
	"record %s pause'\"\n"

Test(shutdown, a_stop_waits_for_what_main_left_in_its_group_and_kills_it_at_stop_timeout)
{
	const char *stop[] = {vh_vigilctl(), "-s", v.sock, "stop", "web", NULL};
	long child;

	vh_write(&v,
		 "vigil.conf",
		 "service db {\n  command = \"%s pause\"\n}\n"
		 "service web {\n" LEAVES_A_CHILD "  requires = db\n  stop-timeout = 1s\n}\n",
		 vh_helper(),
		 vh_helper(),
		 vh_path(&v, "child"),
		 vh_helper(),
		 vh_path(&v, "runs"));
	vh_start(&v);
	child = vh_wait_long(&v, "child", 5000);
	cr_assert(vh_wait_lines(vh_path(&v, "runs"), 1, 5000));
	cr_assert_eq(vh_run(stop, NULL, 5000), 0);
	cr_assert(vh_wait_log(
		&v, "web: main process killed by SIGTERM; stopping what it left", 1, 5000));
	/* Stopped only once the child is gone: SIGKILL at stop-timeout. */
	cr_assert(vh_wait_log(&v, "web: stopping -> stopped", 1, 10000));
	cr_assert(vh_wait_reaped((pid_t)child, 1000), "the child outlived the stop");

	/* At shutdown, db is stopped only after web's whole group has gone. */
	{
		const char *start[] = {vh_vigilctl(), "-s", v.sock, "start", "web", NULL};
		cr_assert_eq(vh_run(start, NULL, 5000), 0);
	}
	cr_assert(vh_wait_lines(vh_path(&v, "runs"), 2, 5000));
	for (long long end = vh_now_ms() + 5000;
	     vh_read_long(vh_path(&v, "child")) == child && vh_now_ms() < end;)
		vh_msleep(10);
	child = vh_read_long(vh_path(&v, "child"));
	kill(v.pid, SIGTERM);
	cr_assert_eq(vh_wait_exit(&v, 20000), 0);
	cr_assert(!vh_alive((pid_t)child));
	{
		char *log = vh_read(v.log);
		const char *down = strstr(log, "Shutting down");
		const char *web = down ? strstr(down, "web: stopping -> stopped") : NULL;
		const char *db = down ? strstr(down, "db: running -> stopping") : NULL;

		cr_assert(web && db && web < db, "db was stopped beside web's child:\n%s", log);
		free(log);
	}
}

Test(shutdown, stop_timeout_escalates_to_sigkill_for_the_whole_group)
{
	long main_pid, grandchild;
	long long t0;

	/* Both the service and its grandchild ignore TERM. */
	vh_write(&v,
		 "vigil.conf",
		 "service stubborn {\n"
		 "  command = \"%s ignore TERM fork-pause %s pidfile %s pause\"\n"
		 "  stop-timeout = 300ms\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "gc"),
		 vh_path(&v, "pid"));
	vh_start(&v);
	main_pid = vh_wait_long(&v, "pid", 5000);
	grandchild = vh_wait_long(&v, "gc", 5000);
	t0 = vh_now_ms();
	kill(v.pid, SIGTERM);
	cr_assert_eq(vh_wait_exit(&v, 20000), 0, "a shutdown that needed SIGKILL still exits 0");
	/* SIGKILL came at the 300 ms stop-timeout, not at the 10 s default (nor at the
	 * 90 s shutdown-timeout). */
	cr_assert_lt(vh_now_ms() - t0, vh_ms(3000), "the stop-timeout was not used");
	cr_assert_eq(vh_count_log(&v, "Shutdown timeout reached"), 0);
	cr_assert(vh_count_log(&v, "stubborn: stopping -> stopped (killed by SIGKILL)") == 1);
	cr_assert(!vh_alive((pid_t)main_pid));
	cr_assert(!vh_alive((pid_t)grandchild), "the grandchild in the group survived");
}

/* Service p leaves a grandchild (its pid in DIR/gc) that its stop spares, and that
 * ignores the SIGTERM the shutdown sends what is left. */
static void write_grandchild_service(void)
{
	vh_write(&v,
		 "vigil.conf",
		 "shutdown-timeout = 1s\n"
		 "service p {\n"
		 "  command = \"%s ignore TERM fork-pause %s default TERM pause\"\n"
		 "  kill-mode = process\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "gc"));
}

Test(shutdown, kill_mode_process_signals_only_the_main_process)
{
	long grandchild;

	write_grandchild_service();
	vh_start(&v);
	grandchild = vh_wait_long(&v, "gc", 5000);
	kill(v.pid, SIGTERM);
	cr_assert(vh_wait_log(&v, "p: stopping -> stopped (killed by SIGTERM)", 1, 5000));
	cr_assert(vh_alive((pid_t)grandchild), "kill-mode = process must spare the grandchild");
	/* It is an orphan of vigild now: the shutdown waits for it, then kills it. */
	cr_assert_eq(vh_wait_exit(&v, 10000), 0);
	cr_assert(vh_count_log(&v, "Shutdown timeout reached") == 1);
	cr_assert(!vh_alive((pid_t)grandchild));
}

Test(shutdown, so_it_does_in_a_pid_namespace_that_kept_the_outer_proc)
{
	/* vigild is not PID 1 (sh is, and a sleep is 2) of a new pid namespace whose
	 * /proc is still the outer one: /proc's pids and ppids are not vigild's. */
	const char *wrapper[] = {"unshare",
				 "--fork",
				 "--pid",
				 "--kill-child",
				 "sh",
				 "-c",
				 "sleep 1000 & \"$0\" \"$@\"; exit $?",
				 NULL};
	const char *shutdown[] = {vh_vigilctl(), "-s", v.sock, "shutdown", NULL};

	if (vh_valgrind())
		VH_SKIP(&v,
			"valgrind 3.19 answers pidfd_send_signal (syscall 424) with ENOSYS, and "
			"the fallback by number is only for a /proc of vigild's own");
	vh_need_pid_namespace(&v);
	write_grandchild_service();
	vh_start_under(&v, wrapper, NULL);
	cr_assert(vh_wait_lines(vh_path(&v, "gc"), 1, 5000));
	cr_assert_eq(vh_run(shutdown, NULL, 5000), 0);
	cr_assert(vh_wait_log(&v, "p: stopping -> stopped (killed by SIGTERM)", 1, 5000));
	/* The grandchild is left; at shutdown-timeout vigild kills it and exits. */
	cr_assert_eq(vh_wait_exit(&v, 10000), 0, "vigild's log:\n%s", vh_read(v.log));
	cr_assert(vh_count_log(&v, "Shutdown timeout reached") == 1);
}

/* Starts vigild with @globals and service parent, which leaves @n orphans (their
 * pids in DIR/orphans) and exits; returns once it has. */
static void start_leaving_orphans(const char *globals, int n)
{
	vh_write(&v,
		 "vigil.conf",
		 "%s"
		 "service parent {\n"
		 "  command = \"%s orphans %d %s sleep 100 exit 0\"\n"
		 "  restart = never\n"
		 "  kill-mode = process\n"
		 "}\n",
		 globals,
		 vh_helper(),
		 n,
		 vh_path(&v, "orphans"));
	vh_start(&v);
	cr_assert(vh_wait_lines(vh_path(&v, "orphans"), n, 5000));
	cr_assert(vh_wait_log(&v, "parent: running -> exited", 1, 5000));
}

/* The orphans' pids start_leaving_orphans() recorded; returns how many. */
static int read_orphans(int *pids, int max)
{
	FILE *f = fopen(vh_path(&v, "orphans"), "r");
	int n = 0;

	while (f && n < max && fscanf(f, "%d", &pids[n]) == 1)
		n++;
	if (f)
		fclose(f);
	return n;
}

Test(shutdown, what_services_left_behind_gets_sigterm_once_they_are_down)
{
	long long t0;

	start_leaving_orphans("shutdown-timeout = 30s\n", 2);
	t0 = vh_now_ms();
	kill(v.pid, SIGTERM);
	/* Not the 30 s of shutdown-timeout: SIGTERM ends them at once. */
	cr_assert_eq(vh_wait_exit(&v, 10000), 0);
	cr_assert_lt(vh_now_ms() - t0, 5000);
	cr_assert_eq(vh_count_log(&v, "left behind remain: SIGTERM sent"), 1);
	cr_assert_eq(vh_count_log(&v, "Shutdown timeout reached"), 0);
	{
		int pids[2], n = read_orphans(pids, 2);

		for (int i = 0; i < n; i++)
			cr_assert(!vh_alive(pids[i]), "orphan %d survived", pids[i]);
	}
}

Test(shutdown, orphans_of_services_are_reaped_by_the_subreaper)
{
	start_leaving_orphans("", 5);
	{
		int pids[5], n = read_orphans(pids, 5);

		cr_assert_eq(n, 5);
		for (int i = 0; i < n; i++) {
			cr_assert(vh_alive(pids[i]));
			cr_assert_eq(vh_ppid(pids[i]),
				     v.pid,
				     "orphan %d was not reparented to vigild",
				     pids[i]);
			kill(pids[i], SIGKILL);
		}
	}
	/* Killed above, reparented to vigild: reaped by it, not left as zombies. */
	cr_assert(vh_wait_log(&v, "Reaped orphan", 5, 5000));
}

Test(shutdown, as_pid_1_vigild_reaps_orphans_and_kills_leftovers_at_shutdown_timeout)
{
	const char *probe[] = {"unshare", "--fork", "--pid", "--mount-proc", "true", NULL};
	const char *unshare[] = {
		"unshare", "--fork", "--pid", "--kill-child", "--mount-proc", NULL};
	const char *tail[] = {"--", vh_helper(), "sleep", "1000", "exit", "4", NULL};

	vh_need_pid_namespace(&v);
	/* A chroot refuses the private /proc (a mount namespace); a pid namespace alone
	 * still makes vigild PID 1, and nothing here reads /proc. */
	if (vh_run(probe, NULL, 10000) != 0)
		unshare[4] = NULL;
	vh_write(&v,
		 "vigil.conf",
		 "shutdown-timeout = 500ms\n"
		 "service parent {\n"
		 "  command = \"%s ignore TERM orphans 3 %s sleep 100 exit 0\"\n"
		 "  restart = never\n"
		 "  kill-mode = process\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "orphans"));
	/* vigild is PID 1 of a new pid namespace; its -- COMMAND exits 4 after 1 s. */
	vh_start_under(&v, unshare, tail);
	cr_assert(vh_wait_lines(vh_path(&v, "orphans"), 3, 5000));
	/* The double-fork parents were reaped by PID 1 as orphans. */
	cr_assert(vh_wait_log(&v, "Reaped orphan", 3, 5000), "vigild's log:\n%s", vh_read(v.log));
	/* main exits with 4 after 1 s; the paused orphans are killed at shutdown-timeout
	 * and vigild, then unshare, exit with main's status. */
	cr_assert_eq(vh_wait_exit(&v, 15000), 4);
	cr_assert(vh_count_log(&v, "Shutdown timeout reached") == 1);
}

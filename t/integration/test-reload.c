/* test-reload.c: SIGHUP reloads: the diff, and a broken configuration that changes
 * nothing. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

TestSuite(reload, .init = setup, .fini = teardown, .timeout = 30);

static void write_service(FILE *f, const char *name, const char *extra)
{
	fprintf(f,
		"service %s {\n  command = \"%s pidfile %s pause\"\n%s}\n",
		name,
		vh_helper(),
		vh_path(&v, name),
		extra);
}

static void write_config(const char *const *names, const char *changed)
{
	FILE *f = fopen(v.conf, "w");

	for (; *names; names++)
		write_service(f,
			      *names,
			      changed && strcmp(*names, changed) == 0 ? "  stop-timeout = 3s\n"
								      : "");
	fclose(f);
}

Test(reload, adds_removes_and_changes_services_and_keeps_unchanged_ones_running)
{
	const char *before[] = {"keep", "change", "drop", NULL};
	const char *after[] = {"keep", "change", "add", NULL};
	long keep, change, drop;

	write_config(before, NULL);
	vh_start(&v);
	keep = vh_wait_long(&v, "keep", 5000);
	change = vh_wait_long(&v, "change", 5000);
	drop = vh_wait_long(&v, "drop", 5000);
	remove(vh_path(&v, "change"));

	write_config(after, "change");
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Reloaded: 1 added, 1 removed, 1 changed, 1 unchanged", 1, 5000));
	cr_assert(vh_wait_log(&v, "drop: removed", 1, 5000));
	cr_assert(vh_count_log(&v, "drop: running -> stopping (removed from the configuration)") ==
		  1);
	cr_assert(!vh_alive((pid_t)drop));
	cr_assert_gt(vh_wait_long(&v, "add", 5000), 0);
	cr_assert_neq(vh_wait_long(&v, "change", 5000), change, "a changed service restarts");
	cr_assert(!vh_alive((pid_t)change));
	cr_assert_eq(vh_read_long(vh_path(&v, "keep")), keep, "an unchanged service keeps its pid");
	cr_assert(vh_alive((pid_t)keep));
}

Test(reload, a_broken_configuration_changes_nothing_and_names_file_and_line)
{
	const char *names[] = {"a", "b", NULL};
	long a, b;

	write_config(names, NULL);
	vh_start(&v);
	a = vh_wait_long(&v, "a", 5000);
	b = vh_wait_long(&v, "b", 5000);
	vh_write(&v,
		 "vigil.conf",
		 "service a {\n  command = \"x\"\n}\n"
		 "service c {\n  command = \"y\"\n  restart = sometimes\n}\n");
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Reload failed: nothing changed", 1, 5000));
	{
		char want[512];
		snprintf(want,
			 sizeof(want),
			 "%s:6: bad value 'sometimes' for option 'restart'",
			 v.conf);
		cr_assert(vh_count_log(&v, want) == 1, "no FILE:LINE error in the log");
	}
	vh_msleep(200);
	cr_assert_eq(vh_read_long(vh_path(&v, "a")), a);
	cr_assert_eq(vh_read_long(vh_path(&v, "b")), b);
	cr_assert(vh_alive((pid_t)a) && vh_alive((pid_t)b));
	cr_assert_eq(vh_count_log(&v, "-> stopping"), 0);
}

Test(reload, a_dropin_directory_that_disappeared_is_an_error_that_changes_nothing)
{
	long a;

	cr_assert_eq(system("true"), 0);
	vh_write(&v, "vigil.conf", "include-dir = \"d\"\n");
	{
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "mkdir -p %s", vh_path(&v, "d"));
		cr_assert_eq(system(cmd), 0);
	}
	vh_write(&v,
		 "d/a.conf",
		 "service a {\n  command = \"%s pidfile %s pause\"\n}\n",
		 vh_helper(),
		 vh_path(&v, "a"));
	vh_start(&v);
	a = vh_wait_long(&v, "a", 5000);
	{
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", vh_path(&v, "d"));
		cr_assert_eq(system(cmd), 0);
	}
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Reload failed: nothing changed", 1, 5000));
	cr_assert(vh_count_log(&v, "cannot read include-dir") == 1);
	cr_assert(vh_alive((pid_t)a));
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* A reload removes a service and the one it requires; the requirement, already
 * ended, is freed at once while its dependent takes its stop-timeout to go. */
Test(reload, removing_a_service_with_its_ended_requirement_frees_both_safely)
{
	vh_write(&v,
		 "vigil.conf",
		 "service y {\n  command = \"/bin/true\"\n  type = oneshot\n}\n"
		 "service x {\n  command = \"%s ignore TERM pidfile %s pause\"\n"
		 "  requires = y\n  stop-timeout = 300ms\n}\n",
		 vh_helper(),
		 vh_path(&v, "x"));
	vh_start(&v);
	cr_assert_gt(vh_wait_long(&v, "x", 5000), 0);
	write_config((const char *const[]){"other", NULL}, NULL);
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "x: removed", 1, 5000));
	cr_assert_eq(vh_count_log(&v, "y: removed"), 1);
	/* Still supervising (a freed requirement read at x's exit shows under
	 * check-sanitize and check-valgrind as a report in vigild's log). */
	cr_assert_gt(vh_wait_long(&v, "other", 5000), 0);
	cr_assert(vh_alive(v.pid));
}

/* Once a shutdown began, SIGHUP changes nothing: no service starts again. */
Test(reload, sighup_during_a_shutdown_starts_nothing)
{
	vh_write(&v,
		 "vigil.conf",
		 "service slow {\n  command = \"%s ignore TERM pidfile %s pause\"\n"
		 "  stop-timeout = 1s\n}\n",
		 vh_helper(),
		 vh_path(&v, "slow"));
	vh_start(&v);
	cr_assert_gt(vh_wait_long(&v, "slow", 5000), 0);
	kill(v.pid, SIGTERM);
	cr_assert(vh_wait_log(&v, "slow: running -> stopping", 1, 5000));
	write_config((const char *const[]){"slow", "late", NULL}, NULL);
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Ignoring SIGHUP: shutting down", 1, 5000));
	cr_assert_eq(vh_wait_exit(&v, 10000), 0);
	cr_assert(!exists(vh_path(&v, "late")), "a service started during the shutdown");
	cr_assert_eq(vh_count_log(&v, "late:"), 0);
	cr_assert_eq(vh_count_log(&v, "Reloading the configuration"), 0);
}

/* A service stopped on request, whose stop still waits for a dependent to go
 * down when its definition changes, stays stopped: the reload neither restarts it
 * nor stops it ahead of the dependent; the new definition waits for its next
 * start. */
Test(reload, a_changed_service_that_was_stopped_on_request_stays_stopped)
{
	static const char conf[] =
		"service db {\n  command = \"%s pidfile %s pause\"\n%s}\n"
		"service api {\n  command = \"%s ignore TERM pidfile %s pause\"\n"
		"  requires = db\n  stop-timeout = 1s\n}\n";
	char *out = NULL;
	long db;

	vh_write(&v,
		 "vigil.conf",
		 conf,
		 vh_helper(),
		 vh_path(&v, "db"),
		 "",
		 vh_helper(),
		 vh_path(&v, "api"));
	vh_start(&v);
	db = vh_wait_long(&v, "db", 5000);
	(void)vh_wait_long(&v, "api", 5000);
	{
		const char *argv[] = {vh_vigilctl(), "-s", v.sock, "stop", "db", NULL};
		cr_assert_eq(vh_run(argv, &out, 5000), 0, "%s", out);
		free(out);
	}
	/* db waits for api, which ignores TERM for its 1 s stop-timeout. */
	cr_assert(vh_wait_log(&v, "api: running -> stopping", 1, 5000));
	vh_write(&v,
		 "vigil.conf",
		 conf,
		 vh_helper(),
		 vh_path(&v, "db"),
		 "  stop-timeout = 3s\n",
		 vh_helper(),
		 vh_path(&v, "api"));
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Reloaded: 0 added, 0 removed, 1 changed", 1, 5000));
	cr_assert(vh_wait_log(&v, "db: stopping -> stopped", 1, 5000));
	cr_assert(vh_wait_dead((pid_t)db, 5000));
	/* Logged before "Reloaded" had it happened: no race. */
	cr_assert_eq(vh_count_log(&v, "db: running -> stopping (definition changed)"), 0);
	{
		long api_down = vh_log_offset(&v, "api: stopping ->");
		long db_down = vh_log_offset(&v, "db: running -> stopping");

		cr_assert(api_down >= 0 && db_down >= 0, "api %ld, db %ld", api_down, db_down);
		cr_assert_lt(api_down, db_down, "db went down before its dependent");
	}
	/* A start queued by the reload would have run by the end of a second one. */
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Reloaded: 0 added, 0 removed, 0 changed", 1, 5000));
	cr_assert_eq(vh_count_log(&v, "db: stopping -> starting"), 0, "started again");
	cr_assert_eq(vh_count_log(&v, "db: stopped -> starting"), 1, "started again");
	cr_assert_eq(vh_read_long(vh_path(&v, "db")), db, "db ran again");
}

/* z requires y requires x. x's stop waits for z (which ignores SIGTERM); the
 * definitions of x and y change meanwhile, which waits for the end of their runs. A
 * start of x calls the stops of x and y off: their runs go on, so they restart with
 * their new definitions rather than keep the old ones for good. */
Test(reload, a_definition_changed_during_a_stop_called_off_is_applied)
{
	static const char conf[] = "service x {\n  command = \"%s pidfile %s pause\"\n}\n"
				   "service y {\n  command = \"%s pidfile %s pause\"\n"
				   "  requires = x\n}\n"
				   "service z {\n  command = \"%s ignore TERM pidfile %s pause\"\n"
				   "  requires = y\n  stop-timeout = 1s\n}\n";
	long x, y;

	vh_write(&v,
		 "vigil.conf",
		 conf,
		 vh_helper(),
		 vh_path(&v, "x1"),
		 vh_helper(),
		 vh_path(&v, "y1"),
		 vh_helper(),
		 vh_path(&v, "z"));
	vh_start(&v);
	x = vh_wait_long(&v, "x1", 5000);
	y = vh_wait_long(&v, "y1", 5000);
	(void)vh_wait_long(&v, "z", 5000);
	{
		const char *argv[] = {vh_vigilctl(), "-s", v.sock, "stop", "x", NULL};
		cr_assert_eq(vh_run(argv, NULL, 5000), 0);
	}
	cr_assert(vh_wait_log(&v, "z: running -> stopping", 1, 5000));
	vh_write(&v,
		 "vigil.conf",
		 conf,
		 vh_helper(),
		 vh_path(&v, "x2"),
		 vh_helper(),
		 vh_path(&v, "y2"),
		 vh_helper(),
		 vh_path(&v, "z"));
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Reloaded: 0 added, 0 removed, 2 changed", 1, 5000));
	{
		const char *argv[] = {vh_vigilctl(), "-s", v.sock, "start", "x", NULL};
		cr_assert_eq(vh_run(argv, NULL, 5000), 0);
	}
	/* The new x writes x2, the new y y2. */
	cr_assert_gt(vh_wait_long(&v, "x2", 10000), 0);
	cr_assert_gt(vh_wait_long(&v, "y2", 10000), 0);
	cr_assert(vh_wait_dead((pid_t)x, 5000));
	cr_assert(vh_wait_dead((pid_t)y, 5000));
}

/* keep (autostart) and db (not), then what @extra adds. */
static void write_keep_and_db(const char *extra)
{
	vh_write(&v,
		 "vigil.conf",
		 "service keep {\n  command = \"%s pidfile %s pause\"\n}\n"
		 "service db {\n  command = \"%s pidfile %s pause\"\n  autostart = false\n}\n%s",
		 vh_helper(),
		 vh_path(&v, "keep"),
		 vh_helper(),
		 vh_path(&v, "db"),
		 extra);
}

Test(reload, an_added_service_starts_what_it_requires_that_is_no_autostart_service)
{
	char app[512];

	write_keep_and_db("");
	vh_start(&v);
	(void)vh_wait_long(&v, "keep", 5000);
	snprintf(app,
		 sizeof(app),
		 "service app {\n  command = \"%s pidfile %s pause\"\n  requires = db\n}\n",
		 vh_helper(),
		 vh_path(&v, "app"));
	write_keep_and_db(app);
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Reloaded: 1 added, 0 removed, 0 changed, 2 unchanged", 1, 5000));
	cr_assert(vh_wait_log(
		&v, "db: stopped -> starting (required by a started service)", 1, 5000));
	cr_assert_gt(vh_wait_long(&v, "db", 5000), 0);
	cr_assert_gt(vh_wait_long(&v, "app", 5000), 0);
}

/* The services of the next test, each run appending "NAME ARG" to a file; @arg
 * changes every definition. */
static void write_down_services(const char *arg, const char *off_autostart)
{
	vh_write(&v,
		 "vigil.conf",
		 "service keep {\n  command = \"%s pidfile %s pause\"\n}\n"
		 "service stopped {\n  command = \"%s record %s pause %s\"\n}\n"
		 "service done {\n  command = \"%s record %s exit 0 %s\"\n  restart = never\n}\n"
		 "service off {\n  command = \"%s record %s pause %s\"\n  autostart = %s\n}\n",
		 vh_helper(),
		 vh_path(&v, "keep"),
		 vh_helper(),
		 vh_path(&v, "stopped.runs"),
		 arg,
		 vh_helper(),
		 vh_path(&v, "done.runs"),
		 arg,
		 vh_helper(),
		 vh_path(&v, "off.runs"),
		 arg,
		 off_autostart);
}

Test(reload, a_changed_service_that_is_down_stays_down_unless_it_became_autostart)
{
	const char *stop[] = {vh_vigilctl(), "-s", v.sock, "stop", "stopped", NULL};

	write_down_services("v1", "false");
	vh_start(&v);
	(void)vh_wait_long(&v, "keep", 5000);
	cr_assert(vh_wait_lines(vh_path(&v, "stopped.runs"), 1, 5000));
	cr_assert(vh_wait_log(&v, "done: running -> exited", 1, 5000));
	cr_assert_eq(vh_run(stop, NULL, 5000), 0);
	cr_assert(vh_wait_log(&v, "stopped: stopping -> stopped", 1, 5000));

	write_down_services("v2", "true");
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Reloaded: 0 added, 0 removed, 3 changed, 1 unchanged", 1, 5000));
	/* off became autostart: it starts as it would at start-up. */
	cr_assert(vh_wait_lines(vh_path(&v, "off.runs"), 1, 5000));
	vh_msleep(vh_ms(300));
	cr_assert_eq(vh_count_lines(vh_path(&v, "stopped.runs")), 1, "stopped on request, started");
	cr_assert_eq(vh_count_lines(vh_path(&v, "done.runs")), 1, "exited, run again");
}

Test(reload, a_change_undone_before_the_run_ended_leaves_the_first_definition)
{
	/* TERM makes the run last 1 s more; each run appends its version. */
	static const char conf[] =
		"service slow {\n"
		"  command = \"/bin/sh -c 'trap \\\"sleep 1; exit 0\\\" TERM; echo %s >> %s; "
		"while :; do sleep 0.05; done'\"\n"
		"}\n";
	char *runs;

	vh_write(&v, "vigil.conf", conf, "v1", vh_path(&v, "runs"));
	vh_start(&v);
	cr_assert(vh_wait_lines(vh_path(&v, "runs"), 1, 5000));
	vh_write(&v, "vigil.conf", conf, "v2", vh_path(&v, "runs"));
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "slow: running -> stopping (definition changed)", 1, 5000));
	vh_write(&v, "vigil.conf", conf, "v1", vh_path(&v, "runs"));
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Reloaded: 0 added, 0 removed, 1 changed", 2, 5000));
	cr_assert(vh_wait_lines(vh_path(&v, "runs"), 2, 10000));
	runs = vh_read(vh_path(&v, "runs"));
	cr_assert_str_eq(runs, "v1\nv1\n", "the next run took an undone definition");
	free(runs);
}

Test(reload, a_service_put_back_while_its_removal_still_runs_is_the_same_one)
{
	/* TERM makes the run last 1 s more; ready once it said so on its own socket. */
	static const char slow[] =
		"service slow {\n"
		"  command = \"/bin/sh -c 'trap \\\"sleep 1; exit 0\\\" TERM; echo run >> %s; "
		"%s notify READY=1; while :; do sleep 0.05; done'\"\n"
		"  ready = notify\n"
		"}\n";

	vh_write(&v, "vigil.conf", slow, vh_path(&v, "runs"), vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "slow: starting -> running", 1, 5000));
	vh_write(&v, "vigil.conf", "%s", "# empty\n");
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "slow: running -> stopping", 1, 5000));
	vh_write(&v, "vigil.conf", slow, vh_path(&v, "runs"), vh_helper());
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Reloaded: 1 added, 0 removed, 0 changed, 0 unchanged", 1, 5000));
	/* It starts again once the old run has ended, and is ready as before. */
	cr_assert(vh_wait_log(&v, "slow: starting -> running", 2, 10000));
	cr_assert_eq(vh_count_lines(vh_path(&v, "runs")), 2);
	cr_assert_eq(vh_count_log(&v, "notify socket"), 0);
	cr_assert_eq(vh_count_log(&v, "slow: removed"), 0);
}

/* A reload reverses a dependency while the old requirer still stops: the running
 * definitions form a cycle (a requires b, b requires a) that no file has. A start
 * walks it without end unless bounded (vigild died of a stack overflow). */
Test(reload, a_cycle_of_old_and_new_definitions_does_not_bring_vigild_down)
{
	const char *stop[] = {vh_vigilctl(), "-s", v.sock, "stop", "a", NULL};
	const char *start[] = {vh_vigilctl(), "-s", v.sock, "start", "a", NULL};
	const char *status[] = {vh_vigilctl(), "-s", v.sock, "status", NULL};

	vh_write(&v,
		 "vigil.conf",
		 "shutdown-timeout = 2s\n"
		 "service b {\n  command = \"%s exit 0\"\n  restart = never\n}\n"
		 "service a {\n  command = \"%s ignore TERM pause\"\n  requires = b\n"
		 "  stop-timeout = 30s\n}\n",
		 vh_helper(),
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "b: running -> exited", 1, 5000));
	cr_assert(vh_wait_log(&v, "a: starting -> running", 1, 5000));
	cr_assert_eq(vh_run(stop, NULL, 5000), 0);
	cr_assert(vh_wait_log(&v, "a: running -> stopping", 1, 5000));
	vh_write(&v,
		 "vigil.conf",
		 "shutdown-timeout = 2s\n"
		 "service b {\n  command = \"%s exit 0\"\n  restart = never\n  requires = a\n}\n"
		 "service a {\n  command = \"%s ignore TERM pause\"\n  stop-timeout = 30s\n}\n",
		 vh_helper(),
		 vh_helper());
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Reloaded:", 1, 5000));
	(void)vh_run(start, NULL, 5000);
	cr_assert_eq(vh_run(status, NULL, 5000), 0, "vigild is gone");
	cr_assert(vh_alive(v.pid));
}

/* x is put back, with a new command, while its removal waits for y (which ignores
 * TERM): the same service, restarted with the new definition at once. */
Test(reload, a_service_put_back_with_a_new_definition_restarts_with_it)
{
	static const char both[] =
		"service x {\n  command = \"%s pidfile %s pause %s\"\n}\n"
		"service y {\n  command = \"%s ignore TERM pause\"\n  requires = x\n"
		"  stop-timeout = 5s\n}\n";
	long first, second = 0;

	vh_write(&v, "vigil.conf", both, vh_helper(), vh_path(&v, "x"), "v1", vh_helper());
	vh_start(&v);
	first = vh_wait_long(&v, "x", 5000);
	cr_assert(vh_wait_log(&v, "y: starting -> running", 1, 5000));
	vh_write(&v, "vigil.conf", "%s", "# nothing\n");
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "y: running -> stopping", 1, 5000));
	vh_write(&v,
		 "vigil.conf",
		 "service x {\n  command = \"%s pidfile %s pause v2\"\n}\n",
		 vh_helper(),
		 vh_path(&v, "x"));
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Reloaded: 1 added", 1, 5000));
	for (long long end = vh_now_ms() + 3000; vh_now_ms() < end; vh_msleep(20)) {
		second = vh_read_long(vh_path(&v, "x"));
		if (second != first)
			break;
	}
	cr_assert_neq(second, first, "x still runs its old definition");
}

/* A removal waits for the dependents to go first; a removed service whose process
 * dies meanwhile still ends with `-> stopped`, not in `backoff` (no restart comes)
 * and without a last event. */
Test(reload, a_removed_service_that_dies_while_its_dependents_stop_ends_stopped)
{
	long x;

	vh_write(&v,
		 "vigil.conf",
		 "service keep {\n  command = \"%s pause\"\n}\n"
		 "service x {\n  command = \"%s pidfile %s pause\"\n  restart-delay = 100ms\n}\n"
		 "service y {\n  command = \"%s ignore TERM pidfile %s pause\"\n"
		 "  requires = {\"x\"}\n  stop-timeout = 2s\n}\n",
		 vh_helper(),
		 vh_helper(),
		 vh_path(&v, "x"),
		 vh_helper(),
		 vh_path(&v, "y"));
	vh_start(&v);
	x = vh_wait_long(&v, "x", 5000);
	/* y ignores SIGTERM once its pidfile is there (running comes at its exec). */
	(void)vh_wait_long(&v, "y", 5000);
	vh_write(&v, "vigil.conf", "service keep {\n  command = \"%s pause\"\n}\n", vh_helper());
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(
		&v, "y: running -> stopping (removed from the configuration)", 1, 5000));
	kill((pid_t)x, SIGKILL);
	cr_assert(vh_wait_log(&v, "x: exited -> stopped (removed from the configuration)", 1, 5000),
		  "%s",
		  vh_read(v.log));
	cr_assert_eq(vh_count_log(&v, "x: running -> backoff"), 0);
	cr_assert(vh_wait_log(&v, "y: stopping -> stopped", 1, 5000));
	cr_assert(vh_wait_log(&v, "y: removed", 1, 5000));
}

/* A reload that removes x and changes y, which required it, to stand alone: y stops
 * before x goes, then runs its new definition (it used to be stopped for good). */
Test(reload, a_dependent_that_stays_while_its_requirement_goes_runs_its_new_definition)
{
	long first, second = 0;

	vh_write(&v,
		 "vigil.conf",
		 "service x {\n  command = \"%s pause\"\n}\n"
		 "service y {\n  command = \"%s pidfile %s pause v1\"\n  requires = {\"x\"}\n}\n",
		 vh_helper(),
		 vh_helper(),
		 vh_path(&v, "y"));
	vh_start(&v);
	first = vh_wait_long(&v, "y", 5000);
	remove(vh_path(&v, "y"));
	vh_write(&v,
		 "vigil.conf",
		 "service y {\n  command = \"%s pidfile %s pause v2\"\n}\n",
		 vh_helper(),
		 vh_path(&v, "y"));
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Reloaded: 0 added, 1 removed, 1 changed", 1, 5000));
	second = vh_wait_long(&v, "y", 5000);
	cr_assert_neq(second, first);
	cr_assert(vh_wait_log(&v, "x: removed", 1, 5000));
	cr_assert(vh_alive((pid_t)second), "y's new run is not alive");
	cr_assert_eq(vh_count_log(&v, "y: stopping -> stopped"), 0, "%s", vh_read(v.log));
}

/* db and app, app's definition as @app_extra; db as @db_extra. */
static void write_db_and_app(const char *db_extra, const char *app_extra)
{
	vh_write(&v,
		 "vigil.conf",
		 "service db {\n  command = \"%s pidfile %s pause\"\n%s}\n"
		 "service app {\n  command = \"%s pidfile %s pause\"\n%s}\n",
		 vh_helper(),
		 vh_path(&v, "db"),
		 db_extra,
		 vh_helper(),
		 vh_path(&v, "app"),
		 app_extra);
}

/* Starts db (@db_extra) and app, app running, then reloads with app requiring db.
 * Returns app's first pid. */
static long reload_app_requiring_db(const char *db_extra)
{
	long app;

	write_db_and_app(db_extra, "");
	vh_start(&v);
	app = vh_wait_long(&v, "app", 5000);
	cr_assert_gt(app, 0);
	remove(vh_path(&v, "app"));
	write_db_and_app(db_extra, "  requires = db\n");
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Reloaded: 0 added, 0 removed, 1 changed", 1, 5000));
	return app;
}

/* A reload gives a running service a requirement: its new run is ordered by it, so
 * a stop of the requirement stops it first, and that stop is not lost. */
Test(reload, a_requirement_a_reload_adds_to_a_running_service_orders_its_stop)
{
	const char *stop[] = {vh_vigilctl(), "-s", v.sock, "stop", "db", NULL};
	long app = reload_app_requiring_db(""), db = vh_wait_long(&v, "db", 5000);

	cr_assert_gt(db, 0);
	cr_assert(vh_wait_dead((pid_t)app, 5000));
	app = vh_wait_long(&v, "app", 5000);
	cr_assert(vh_wait_log(&v, "app: starting -> running", 2, 5000));
	cr_assert_eq(vh_run(stop, NULL, 5000), 0);
	cr_assert(vh_wait_log(&v, "db: stopping -> stopped", 1, 5000), "%s", vh_read(v.log));
	cr_assert(!vh_alive((pid_t)db) || vh_wait_dead((pid_t)db, 5000));
	cr_assert(!vh_alive((pid_t)app), "app outlived the stop of what it requires");
	vh_expect_log_order(&v, "app: stopping -> waiting", "db: running -> stopping");
}

/* A reload gives a running service a requirement nobody started (not autostart): its
 * new run starts that requirement first and waits for it, as at start-up. */
Test(reload, a_requirement_a_reload_adds_is_started_before_the_new_run)
{
	char new_run[64];
	long app = reload_app_requiring_db("  autostart = false\n");

	cr_assert(
		vh_wait_log(&v, "db: stopped -> starting (required by a started service)", 1, 5000),
		"%s",
		vh_read(v.log));
	cr_assert_gt(vh_wait_long(&v, "db", 5000), 0);
	app = vh_wait_long(&v, "app", 5000);
	cr_assert_gt(app, 0);
	snprintf(new_run, sizeof(new_run), " as %ld\n", app);
	vh_expect_log_order(&v, "db: starting -> running", new_run);
}

/* A service waiting out a backoff takes its new definition at once; when that adds a
 * requirement that is not ready, the new run waits for it. */
Test(reload, a_service_in_backoff_waits_for_a_requirement_the_reload_adds)
{
	const char *db = "  ready = notify\n";

	vh_write(&v,
		 "vigil.conf",
		 "service db {\n  command = \"%s pause\"\n%s}\n"
		 "service app {\n  command = \"%s exit 1\"\n  restart-delay = 30s\n}\n",
		 vh_helper(),
		 db,
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "app: running -> backoff", 1, 5000), "%s", vh_read(v.log));
	vh_write(&v,
		 "vigil.conf",
		 "service db {\n  command = \"%s pause\"\n%s}\n"
		 "service app {\n  command = \"%s pidfile %s pause\"\n  restart-delay = 30s\n"
		 "  requires = db\n}\n",
		 vh_helper(),
		 db,
		 vh_helper(),
		 vh_path(&v, "app"));
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Reloaded: 0 added, 0 removed, 1 changed", 1, 5000));
	cr_assert(vh_wait_log(&v, "app: backoff -> waiting", 1, 5000), "%s", vh_read(v.log));
	vh_msleep(300);
	cr_assert_eq(vh_count_log(&v, "app: started"), 1, "%s", vh_read(v.log));
}

/* A changed service that stays down (a oneshot that has exited) leaves what its new
 * definition requires to its next start. */
Test(reload, a_changed_service_that_stays_down_starts_none_of_its_new_requirements)
{
	vh_write(&v,
		 "vigil.conf",
		 "service db {\n  command = \"%s pause\"\n  autostart = false\n}\n"
		 "service app {\n  command = \"%s exit 0\"\n  restart = never\n}\n",
		 vh_helper(),
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "app: running -> exited", 1, 5000), "%s", vh_read(v.log));
	vh_write(&v,
		 "vigil.conf",
		 "service db {\n  command = \"%s pause\"\n  autostart = false\n}\n"
		 "service app {\n  command = \"%s exit 0\"\n  restart = never\n"
		 "  requires = db\n}\n",
		 vh_helper(),
		 vh_helper());
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Reloaded: 0 added, 0 removed, 1 changed", 1, 5000),
		  "%s",
		  vh_read(v.log));
	vh_msleep(300);
	cr_assert_eq(vh_count_log(&v, "db: stopped -> starting"), 0, "%s", vh_read(v.log));
	cr_assert_eq(vh_count_log(&v, "app: started"), 1, "%s", vh_read(v.log));
}

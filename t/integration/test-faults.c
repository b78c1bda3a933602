/* test-faults.c: vigild when the system says no: no file descriptor left, no process
 * left, a flood of children or clients, a stopped service, files removed under it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "api.h"
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

TestSuite(faults, .init = setup, .fini = teardown, .timeout = 60);

/* ---- what the tests look at in /proc ---- */

/* The open fds of @pid, and the lowest free fd number in *lowest_free. */
static int fd_count(pid_t pid, int *lowest_free)
{
	char path[64];
	bool used[4096] = {false};
	int n = 0;
	char *out = NULL;
	const char *argv[] = {"ls", "-1", path, NULL};

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	cr_assert_eq(vh_run(argv, &out, 5000), 0);
	for (char *p = out; *p;) {
		int fd = atoi(p);

		n++;
		if (fd >= 0 && fd < 4096)
			used[fd] = true;
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	free(out);
	if (lowest_free) {
		*lowest_free = 0;
		while (*lowest_free < 4096 && used[*lowest_free])
			(*lowest_free)++;
	}
	return n;
}

/* The first fd count of @pid at most @level within 5 s, else the last one taken.
 * While a run of a crash-looping service is under way vigild holds its pipes and
 * pidfd (up to 6 fds while spawning), so a count taken then says nothing: the
 * verdict is on the first count back at the level of before, not on a second
 * look. An fd vigild kept would keep every count above it. */
static int fd_count_back_to(pid_t pid, int level)
{
	long long end = vh_now_ms() + vh_ms(5000);
	int n;

	while ((n = fd_count(pid, NULL)) > level && vh_now_ms() < end)
		vh_msleep(10);
	return n;
}

/* CPU time used by @pid so far, in clock ticks (utime + stime). */
static long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	cr_assert_not_null(p);
	/* After the command: state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime. */
	cr_assert_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st),
		     2);
	return (long)(ut + st);
}

/* Children of @pid, zombies included. */
static int children_of(pid_t pid)
{
	char path[64];
	char *out = NULL;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	out = vh_read(path);
	cr_assert_not_null(out, "cannot read %s", path);
	n = 0;
	for (char *p = out; *p; p++)
		n += (*p >= '0' && *p <= '9') && (p == out || p[-1] == ' ');
	free(out);
	return n;
}

/* Sets RLIMIT_NOFILE of @pid, soft and hard, to @n (util-linux prlimit). */
static void set_nofile(pid_t pid, int n)
{
	char p[32], lim[64];
	const char *argv[] = {"prlimit", "--pid", p, lim, NULL};

	snprintf(p, sizeof(p), "%d", (int)pid);
	snprintf(lim, sizeof(lim), "--nofile=%d:%d", n, n);
	cr_assert_eq(vh_run(argv, NULL, 5000), 0, "prlimit %s %s failed", p, lim);
}

/* A non-blocking connection to @sock: the fd, or -errno (-EAGAIN: the backlog is
 * full). */
static int connect_to(const char *sock)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	cr_assert_geq(fd, 0);
	cr_assert_lt(strlen(sock), sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static const char request[] = "GET /v1/services HTTP/1.0\r\n\r\n";

/* Reads what @fd gets until the server closes or @needle (if not NULL) came, at most
 * @timeout_ms. */
static char *read_until(int fd, const char *needle, int timeout_ms)
{
	long long end = vh_now_ms() + vh_ms(timeout_ms);
	size_t len = 0, cap = 8192;
	char *buf = malloc(cap);

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long long left = end - vh_now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (needle && strstr(buf, needle))
			break;
		if (cap - len < 1024)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	return buf;
}

static char *read_answer(int fd, int timeout_ms)
{
	return read_until(fd, NULL, timeout_ms);
}

/* ---- RLIMIT_NOFILE ---- */

Test(faults, with_no_fd_left_and_no_client_a_new_one_costs_no_cpu_and_is_answered_later)
{
	int lowest;
	long t0, ticks;
	pid_t steady;
	int c;
	char *answer;

	if (vh_valgrind())
		VH_SKIP(&v, "valgrind holds fds of its own past the limit vigild gets");
	vh_need(&v, "prlimit", "util-linux");
	vh_write(&v,
		 "vigil.conf",
		 "service steady {\n"
		 "  command = \"%s pidfile %s pause\"\n"
		 "  restart = never\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "steady.pid"));
	vh_start(&v);
	api_wait_up(&v); /* libmicrohttpd is loaded; its one client is gone */
	steady = (pid_t)vh_wait_long(&v, "steady.pid", 5000);
	vh_msleep(100);
	/* Every fd number below the limit is taken: the next accept, pipe or open fails
	 * (fds above it stay open). */
	fd_count(v.pid, &lowest);
	set_nofile(v.pid, lowest);

	c = connect_to(v.sock);
	cr_assert_geq(c, 0, "connect: %s", strerror(-c));
	cr_assert_eq(send(c, request, sizeof(request) - 1, MSG_NOSIGNAL),
		     (ssize_t)sizeof(request) - 1);
	/* The client waits in the backlog; vigild must wait too, not spin. (These sleeps
	 * are the measurement, not waits for a condition.) */
	vh_msleep(300);
	t0 = cpu_ticks(v.pid);
	vh_msleep(1000);
	ticks = cpu_ticks(v.pid) - t0;
	cr_assert_leq(
		ticks, 10, "vigild used %ld ticks of CPU in 1 s with a client waiting", ticks);
	cr_assert_leq(vh_count_log(&v, "Too many open files"), 3, "the log is flooded");
	cr_assert(vh_alive(v.pid));

	/* The service's end frees its pipes: the client is then taken and answered. */
	kill(steady, SIGKILL);
	answer = read_answer(c, 10000);
	close(c);
	cr_assert(strncmp(answer, "HTTP/1.1 200", 12) == 0, "answer: %s", answer);
	free(answer);
	cr_assert(vh_wait_log(&v, "control: accepting connections again", 1, 5000));
}

Test(faults, out_of_fds_spawns_and_accepts_fail_supervision_goes_on_and_recovers)
{
	enum { HOLD = 40 };
	int held[HOLD], n, now, runs, failures;
	long t0, ticks;
	char *body = NULL;

	if (vh_valgrind())
		VH_SKIP(&v, "valgrind holds fds of its own past the limit vigild gets");
	vh_need(&v, "prlimit", "util-linux");
	vh_write(&v, "vigil.conf", VH_CRASH_EVERY_100MS, vh_helper(), vh_path(&v, "runs"));
	vh_start(&v);
	api_wait_up(&v);
	cr_assert(vh_wait_lines(vh_path(&v, "runs"), 2, 5000));

	/* Room for a few more fds (a spawn takes 6 at its peak), then idle clients
	 * take them all. */
	n = fd_count(v.pid, NULL);
	set_nofile(v.pid, n + 12);
	for (int i = 0; i < HOLD; i++) {
		held[i] = connect_to(v.sock);
		cr_assert_geq(held[i], 0, "connect %d: %s", i, strerror(-held[i]));
	}
	/* Supervision goes on: each restart fails for want of a pipe and backs off. */
	cr_assert(vh_wait_log(&v, "Too many open files)", 3, 5000));
	runs = vh_count_lines(vh_path(&v, "runs"));
	t0 = cpu_ticks(v.pid);
	vh_msleep(1000); /* the measurement */
	ticks = cpu_ticks(v.pid) - t0;
	cr_assert_leq(ticks, 20, "vigild used %ld ticks of CPU in 1 s", ticks);
	failures = vh_count_log(&v, "Too many open files)");
	cr_assert_geq(failures, 5, "only %d restarts tried in ~1.5 s", failures);
	cr_assert_leq(vh_count_lines(vh_path(&v, "runs")), runs + 1);

	/* The clients leave: fds are free again and everything works as before. */
	for (int i = 0; i < HOLD; i++)
		close(held[i]);
	cr_assert(vh_wait_lines(vh_path(&v, "runs"), runs + 3, 5000),
		  "the service never ran again");
	cr_assert_eq(api_call(&v, "GET", "/v1/services", &body), 200);
	free(body);
	now = fd_count_back_to(v.pid, n + 2);
	cr_assert_leq(now, n + 2, "vigild kept fds: %d, %d before", now, n);
}

/* ---- RLIMIT_NPROC ---- */

Test(faults, out_of_processes_spawns_back_off_and_recover)
{
	char uid[32], nproc[32], reuid[48], regid[48];
	const char *argv[24];
	size_t k = 0;
	pid_t steady;
	json_t *state;

	if (geteuid() != 0)
		VH_SKIP(&v,
			"needs root (root is exempt from RLIMIT_NPROC: vigild runs as "
			"another user)");
	if (vh_valgrind())
		VH_SKIP(&v,
			"under memcheck with RLIMIT_NPROC = 2, valgrind itself dies of SIGSEGV "
			"at the second API request, reporting nothing about vigild");
	vh_need(&v, "setpriv", "util-linux");
	vh_need(&v, "prlimit", "util-linux");
	/* A user of its own, so that no other process counts against its limit. */
	snprintf(uid, sizeof(uid), "%d", 40000 + (int)(getpid() % 20000));
	cr_assert_eq(chmod(v.dir, 0777), 0);
	vh_write(&v,
		 "vigil.conf",
		 "service steady {\n"
		 "  command = \"%s pidfile %s pause\"\n"
		 "  restart = never\n"
		 "}\n" VH_CRASH_EVERY_100MS,
		 vh_helper(),
		 vh_path(&v, "steady.pid"),
		 vh_helper(),
		 vh_path(&v, "runs"));
	/* Two processes for the user: vigild and steady. crash cannot be forked. */
	snprintf(nproc, sizeof(nproc), "--nproc=2");
	snprintf(reuid, sizeof(reuid), "--reuid=%s", uid);
	snprintf(regid, sizeof(regid), "--regid=%s", uid);
	argv[k++] = "prlimit";
	argv[k++] = nproc;
	argv[k++] = "--";
	argv[k++] = "setpriv";
	argv[k++] = reuid;
	argv[k++] = regid;
	argv[k++] = "--clear-groups";
	argv[k] = NULL;
	vh_start_under(&v, argv, NULL);
	steady = (pid_t)vh_wait_long(&v, "steady.pid", 5000);
	cr_assert(vh_wait_log(&v,
			      "crash: starting -> backoff (fork failed: Resource temporarily "
			      "unavailable)",
			      3,
			      5000));
	cr_assert(vh_alive(v.pid));
	cr_assert_eq(vh_count_lines(vh_path(&v, "runs")), 0);
	api_wait_up(&v);
	state = api_field(&v, "crash", "state");
	cr_assert(json_is_string(state));
	cr_assert(strcmp(json_string_value(state), "backoff") == 0 ||
			  strcmp(json_string_value(state), "starting") == 0,
		  "crash is %s",
		  json_string_value(state));
	json_decref(state);

	/* A process slot frees: the next attempt forks. */
	kill(steady, SIGKILL);
	cr_assert(vh_wait_lines(vh_path(&v, "runs"), 2, 5000), "crash never ran");
	cr_assert(vh_alive(v.pid));
}

/* ---- many children, a stopped process ---- */

Test(faults, a_service_that_forks_1000_children_and_exits_leaves_none_behind)
{
	long long end;

	vh_write(&v,
		 "vigil.conf",
		 "service parent {\n"
		 "  command = \"%s children 1000 300 exit 0\"\n"
		 "  restart = never\n"
		 "}\n",
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "parent: running -> exited", 1, 10000));
	/* Half were in main's group (stopped with it), half had sessions of their own
	 * (reparented to vigild, the subreaper): vigild reaps them all. */
	cr_assert(vh_wait_log(&v, "Reaped orphan", 1000, 15000),
		  "%d orphans reaped",
		  vh_count_log(&v, "Reaped orphan"));
	end = vh_now_ms() + vh_ms(5000);
	while (children_of(v.pid) > 0 && vh_now_ms() < end)
		vh_msleep(20);
	cr_assert_eq(children_of(v.pid), 0, "vigild still has children");
	cr_assert_eq(vh_count_log(&v, "Reaped orphan"), 1000);
	cr_assert(vh_alive(v.pid));
}

Test(faults, a_stopped_service_failing_its_liveness_probe_is_continued_killed_and_restarted)
{
	int port = vh_free_port();
	pid_t first;

	vh_write(&v,
		 "vigil.conf",
		 "service web {\n"
		 "  command = \"%s pidfile %s http-serve %d %s\"\n"
		 "  restart-delay = 100ms\n"
		 "  liveness { http = \"http://127.0.0.1:%d/\" period = 300ms timeout = 300ms "
		 "failure-threshold = 2 }\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "web.pid"),
		 port,
		 vh_path(&v, "status"),
		 port);
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "web: liveness: passed", 1, 10000));
	first = (pid_t)vh_read_long(vh_path(&v, "web.pid"));
	cr_assert_gt(first, 0);
	/* Stopped, it still holds its port: connections queue, no answer comes. */
	kill(first, SIGSTOP);
	cr_assert(vh_wait_log(&v, "web: running -> stopping (liveness failed", 1, 10000));
	/* SIGTERM alone would wait for a SIGCONT that never comes: vigild sends both. */
	cr_assert(vh_wait_dead(first, 5000), "the stopped process was never continued");
	cr_assert(vh_wait_log(&v, "web: stopping -> backoff (liveness failed", 1, 5000));
	cr_assert(vh_wait_log(&v, "web: liveness: passed", 2, 10000), "never healthy again");
	cr_assert_neq(vh_read_long(vh_path(&v, "web.pid")), (long)first);
}

/* ---- files removed under vigild ---- */

Test(faults, an_api_reload_after_the_dropin_directory_was_deleted_fails_and_changes_nothing)
{
	char cmd[512];
	long a;
	char *body = NULL;

	vh_write(&v, "vigil.conf", "include-dir = \"d\"\n");
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", vh_path(&v, "d"));
	cr_assert_eq(system(cmd), 0);
	vh_write(&v,
		 "d/a.conf",
		 "service a {\n  command = \"%s pidfile %s pause\"\n}\n",
		 vh_helper(),
		 vh_path(&v, "a.pid"));
	vh_start(&v);
	api_wait_up(&v);
	a = vh_wait_long(&v, "a.pid", 5000);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", vh_path(&v, "d"));
	cr_assert_eq(system(cmd), 0);

	cr_assert_eq(api_call(&v, "POST", "/v1/reload", &body), 422, "%s", body);
	cr_assert(strstr(body, "cannot read include-dir") && strstr(body, "/d"),
		  "the error does not name the directory: %s",
		  body);
	free(body);
	cr_assert(vh_wait_log(&v, "Reload failed: nothing changed", 1, 5000));
	cr_assert(vh_alive((pid_t)a));
	cr_assert(api_wait_state(&v, "a", "running", 1000));
	cr_assert_eq(vh_read_long(vh_path(&v, "a.pid")), a);
}

static void start_paused_service(void)
{
	vh_write(&v,
		 "vigil.conf",
		 "service web {\n  command = \"%s pause\"\n  stop-timeout = 2s\n}\n",
		 vh_helper());
	vh_start(&v);
	api_wait_up(&v);
}

Test(faults, a_deleted_control_socket_is_created_again_at_sighup_and_streams_go_on)
{
	int stream;
	char *got;
	static const char events[] = "GET /v1/events HTTP/1.0\r\n\r\n";

	start_paused_service();
	/* A client connected before the file went keeps its connection. */
	stream = connect_to(v.sock);
	cr_assert_geq(stream, 0);
	cr_assert_eq(send(stream, events, sizeof(events) - 1, MSG_NOSIGNAL),
		     (ssize_t)sizeof(events) - 1);
	{
		struct pollfd p = {.fd = stream, .events = POLLIN};
		char head[64];

		cr_assert_eq(poll(&p, 1, vh_ms(5000)), 1, "the event stream never began");
		cr_assert_gt(recv(stream, head, sizeof(head), MSG_PEEK), 0);
	}
	cr_assert_eq(unlink(v.sock), 0);
	cr_assert_lt(api_call(&v, "GET", "/v1/services", NULL), 0);

	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Re-created the control socket", 1, 5000));
	cr_assert_eq(api_call(&v, "GET", "/v1/services", NULL), 200);
	cr_assert_eq(api_call(&v, "POST", "/v1/services/web/restart", NULL), 202);
	got = read_until(stream, "\"to\":\"stopping\"", 5000);
	close(stream);
	cr_assert(strstr(got, "\"to\":\"stopping\""), "the old stream saw: %s", got);
	free(got);
	/* The file is vigild's own again: removed at exit. */
	cr_assert_eq(api_call(&v, "POST", "/v1/shutdown", NULL), 202);
	cr_assert_eq(vh_wait_exit(&v, 10000), 0);
	cr_assert(access(v.sock, F_OK) < 0 && errno == ENOENT);
}

Test(faults, a_control_socket_moved_away_is_created_again_by_an_api_reload)
{
	struct vh moved;
	char *body = NULL;

	start_paused_service();
	moved = v;
	snprintf(moved.sock, sizeof(moved.sock), "%s", vh_path(&v, "moved.sock"));
	cr_assert_eq(rename(v.sock, moved.sock), 0);
	/* The only way in is the moved file: a reload through it. */
	cr_assert_eq(api_call(&moved, "POST", "/v1/reload", &body), 200, "%s", body);
	free(body);
	cr_assert(vh_wait_log(&v, "Re-created the control socket", 1, 5000));
	cr_assert_eq(api_call(&v, "GET", "/v1/services", NULL), 200);
	/* Nothing else changed, and a reload with the file in place does nothing. */
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Reloaded:", 2, 5000));
	cr_assert_eq(vh_count_log(&v, "Re-created the control socket"), 1);
}

Test(faults, a_foreign_file_in_the_sockets_place_is_left_alone_at_reload)
{
	start_paused_service();
	cr_assert_eq(unlink(v.sock), 0);
	vh_write(&v, "control.sock", "not a socket\n");
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Failed to create the control socket again", 1, 5000));
	cr_assert(vh_wait_log(&v, "Reloaded:", 1, 5000));
	{
		char *text = vh_read(v.sock);
		cr_assert(text && strcmp(text, "not a socket\n") == 0);
		free(text);
	}
	cr_assert(vh_alive(v.pid));
}

/* ---- a storm of crash loops ---- */

Test(faults, services_crash_looping_without_delay_leave_the_api_and_signals_answered)
{
	enum { LOOPS = 20 };
	char conf[LOOPS * 128 + 256];
	size_t len = 0;

	/* Each spawn takes the loop a while; meanwhile another service exits. Started
	 * again from inside the handling of an exit, the next exit was handled before
	 * the loop came back, and so on for ever: no signal, client or pipe got a turn
	 * (and below supervision's priority the API starved as well). */
	for (int i = 0; i < LOOPS; i++)
		len += (size_t)snprintf(conf + len,
					sizeof(conf) - len,
					"service c%d {\n  command = \"/bin/false\"\n"
					"  restart-delay = 0\n  restart-delay-max = 0\n}\n",
					i);
	vh_write(&v,
		 "vigil.conf",
		 "%sservice web {\n  command = \"%s pause\"\n}\n",
		 conf,
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "(exited with code 1)", 200, 10000), "the loops never ran");

	for (int i = 0; i < 5; i++) {
		long long t0 = vh_now_ms();

		cr_assert_eq(api_call(&v, "GET", "/v1/services/web", NULL), 200, "request %d", i);
		cr_assert_lt(vh_now_ms() - t0, vh_ms(2000), "request %d waited", i);
	}
	cr_assert_eq(api_call(&v, "POST", "/v1/services/c0/stop", NULL), 202);
	cr_assert(api_wait_state(&v, "c0", "stopped", 5000));
	cr_assert(vh_alive(v.pid));
	kill(v.pid, SIGTERM);
	cr_assert_eq(vh_wait_exit(&v, 5000), 0, "SIGTERM did not end vigild");
}

/* ---- 1000 clients ---- */

Test(faults, a_thousand_clients_at_once_are_all_answered_and_supervision_keeps_time)
{
	enum { CLIENTS = 1000 };
	static int fds[CLIENTS];
	static bool answered[CLIENTS];
	static size_t lens[CLIENTS];
	static char *bufs[CLIENTS];
	struct rlimit rl;
	int n_before, n_after, retried = 0, done = 0, bad = 0;
	long long end, prev = -1, gap = 0;
	char *rec, *p, *body = NULL;

	vh_write(&v,
		 "vigil.conf",
		 VH_CRASH_EVERY_100MS "service web {\n  command = \"%s pause\"\n}\n",
		 vh_helper(),
		 vh_path(&v, "runs"),
		 vh_helper());
	vh_start(&v);
	api_wait_up(&v);
	cr_assert(vh_wait_lines(vh_path(&v, "runs"), 2, 5000));
	n_before = fd_count(v.pid, NULL);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert_geq(rl.rlim_max, (rlim_t)CLIENTS + 64, "this test needs %d fds", CLIENTS + 64);
	rl.rlim_cur = rl.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);

	/* All connect at once; those the full backlog refuses (EAGAIN) try again every
	 * 10 ms, as a patient client would. */
	for (int i = 0; i < CLIENTS; i++) {
		fds[i] = connect_to(v.sock);
		if (fds[i] == -EAGAIN)
			retried++;
		else
			cr_assert_geq(fds[i], 0, "client %d: %s", i, strerror(-fds[i]));
		if (fds[i] >= 0)
			cr_assert_eq(send(fds[i], request, sizeof(request) - 1, MSG_NOSIGNAL),
				     (ssize_t)sizeof(request) - 1);
	}
	end = vh_now_ms() + vh_ms(30000);
	while (done < CLIENTS && vh_now_ms() < end) {
		static struct pollfd pfd[CLIENTS];
		static int who[CLIENTS];
		nfds_t k = 0;

		for (int i = 0; i < CLIENTS; i++) {
			if (answered[i])
				continue;
			if (fds[i] == -EAGAIN) {
				fds[i] = connect_to(v.sock);
				if (fds[i] >= 0)
					cr_assert_eq(send(fds[i],
							  request,
							  sizeof(request) - 1,
							  MSG_NOSIGNAL),
						     (ssize_t)sizeof(request) - 1);
				else
					cr_assert_eq(fds[i], -EAGAIN);
			}
			if (fds[i] >= 0) {
				pfd[k] = (struct pollfd){.fd = fds[i], .events = POLLIN};
				who[k++] = i;
			}
		}
		if (poll(pfd, k, 10) < 0)
			continue;
		for (nfds_t j = 0; j < k; j++) {
			int i = who[j];
			char tmp[16384];
			ssize_t r;

			if (!pfd[j].revents)
				continue;
			r = read(fds[i], tmp, sizeof(tmp));
			if (r > 0) {
				bufs[i] = realloc(bufs[i], lens[i] + (size_t)r + 1);
				memcpy(bufs[i] + lens[i], tmp, (size_t)r);
				lens[i] += (size_t)r;
				bufs[i][lens[i]] = '\0';
				continue;
			}
			/* Closed: a complete answer, or a connection dropped without one. */
			close(fds[i]);
			fds[i] = -1;
			answered[i] = true;
			done++;
			if (!bufs[i] || strncmp(bufs[i], "HTTP/1.1 200", 12) != 0 ||
			    !strstr(bufs[i], "\"name\":\"web\""))
				bad++;
		}
	}
	cr_log_info("1000 clients: %d answered, %d refused at first and tried again, %d bad",
		    done,
		    retried,
		    bad);
	cr_assert_eq(done, CLIENTS, "only %d of %d clients were answered", done, CLIENTS);
	cr_assert_eq(bad, 0, "%d clients got no proper answer", bad);
	for (int i = 0; i < CLIENTS; i++)
		free(bufs[i]);

	/* Restarts kept their 100 ms pace throughout. */
	rec = vh_read(vh_path(&v, "runs"));
	for (p = rec; p && *p;) {
		long long t = 0;

		if (sscanf(p, "%*d %lld", &t) == 1) {
			if (prev >= 0 && t - prev > gap)
				gap = t - prev;
			prev = t;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	free(rec);
	cr_assert_leq(gap, vh_ms(500), "a restart came %lld ms after the previous one", gap);

	/* Healthy afterwards, and holding no more fds than before. */
	cr_assert_eq(api_call(&v, "GET", "/healthz", &body), 200, "%s", body);
	free(body);
	n_after = fd_count_back_to(v.pid, n_before + 2);
	cr_assert_leq(
		n_after, n_before + 2, "%d fds before the clients, %d after", n_before, n_after);
}

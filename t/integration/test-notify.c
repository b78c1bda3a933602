/* test-notify.c: the sd_notify protocol (SPEC §5) with a real vigild: readiness from
 * sd_notify() and systemd-notify, STATUS=, STOPPING=1, the watchdog, senders. */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
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

TestSuite(notify, .init = setup, .fini = teardown, .timeout = 40);

/* The value of @name in a `describe` file, or NULL (a new string). */
static char *described_env(const char *path, const char *name)
{
	char *text = vh_read(path), *p, needle[128], *value = NULL;

	snprintf(needle, sizeof(needle), "\nenv: %s=", name);
	if (text && (p = strstr(text, needle))) {
		p += strlen(needle);
		value = strndup(p, strcspn(p, "\n"));
	}
	free(text);
	return value;
}

/* The tests that switch users need root. */
static void need_root(void)
{
	if (geteuid() != 0)
		VH_SKIP(&v, "needs root");
}

/* True when the abstract socket @name ("@...") is bound on this machine. */
static bool abstract_bound(const char *name)
{
	char *t = vh_read("/proc/net/unix"), want[160];
	bool found;

	/* /proc/net/unix shows an abstract name with '@' for its leading NUL. */
	snprintf(want, sizeof(want), " %s\n", name);
	found = t && strstr(t, want);
	free(t);
	return found;
}

Test(notify, every_service_gets_its_own_notify_socket_and_watchdog_usec)
{
	char prefix[64], *sock, *other, *wd;

	vh_write(&v,
		 "vigil.conf",
		 "service a {\n"
		 "  command = \"%s describe %s pause\"\n"
		 "  watchdog = 1500ms\n"
		 "}\n"
		 "service b {\n"
		 "  command = \"%s describe %s pause\"\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "a.txt"),
		 vh_helper(),
		 vh_path(&v, "b.txt"));
	vh_start(&v);
	cr_assert(vh_wait_lines(vh_path(&v, "a.txt"), 5, 5000));
	cr_assert(vh_wait_lines(vh_path(&v, "b.txt"), 5, 5000));
	/* An abstract socket per service: @vigil/PID-RANDOM/NAME. */
	snprintf(prefix, sizeof(prefix), "@vigil/%d-", (int)v.pid);
	sock = described_env(vh_path(&v, "a.txt"), "NOTIFY_SOCKET");
	cr_assert_not_null(sock);
	cr_assert_eq(strncmp(sock, prefix, strlen(prefix)), 0, "%s", sock);
	cr_assert_str_eq(sock + strlen(sock) - 2, "/a");
	cr_assert(abstract_bound(sock), "%s is not bound", sock);
	wd = described_env(vh_path(&v, "a.txt"), "WATCHDOG_USEC");
	cr_assert_not_null(wd);
	cr_assert_str_eq(wd, "1500000");
	free(wd);
	cr_assert_null(described_env(vh_path(&v, "b.txt"), "WATCHDOG_USEC"));
	other = described_env(vh_path(&v, "b.txt"), "NOTIFY_SOCKET");
	cr_assert_not_null(other);
	cr_assert_str_eq(other + strlen(other) - 2, "/b");
	cr_assert_eq(strncmp(sock, other, strlen(sock) - 1), 0, "one prefix per vigild");

	/* Nothing stays behind when vigild exits. */
	kill(v.pid, SIGTERM);
	cr_assert_eq(vh_wait_exit(&v, 10000), 0);
	cr_assert(!abstract_bound(sock) && !abstract_bound(other));
	free(sock);
	free(other);
}

Test(notify, ready_notify_waits_for_sd_notify_ready)
{
	/* The helper records a file, then sends READY=1, 300 ms after it started: by the
	 * time vigild says running, the file must exist. */
	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s sleep 300 record %s notify READY=1 pause\"\n"
		 "  ready = notify\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "notified"));
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "s: stopped -> starting", 1, 5000));
	cr_assert(vh_wait_log(&v, "s: starting -> running (READY=1)", 1, 5000));
	cr_assert_eq(vh_count_lines(vh_path(&v, "notified")),
		     1,
		     "running before the service sent READY=1");
}

Test(notify, systemd_notify_works_unchanged)
{
	long rc;

	vh_need(&v, "systemd-notify", "systemd");
	/* systemd-notify waits for vigild to close the fd of its BARRIER=1 (5s otherwise,
	 * and exit code 1). */
	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"sh -c 'systemd-notify --ready --status=\\\"up and running\\\"; "
		 "echo $? > %s; "
		 "exec %s pause'\"\n"
		 "  ready = notify\n"
		 "}\n",
		 vh_path(&v, "rc"),
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "s: starting -> running (READY=1)", 1, 5000));
	cr_assert(vh_wait_log(&v, "s: status: up and running", 1, 5000));
	cr_assert(vh_wait_lines(vh_path(&v, "rc"), 1, 3000),
		  "systemd-notify waited for its barrier");
	rc = vh_read_long(vh_path(&v, "rc"));
	cr_assert_eq(rc, 0);
}

Test(notify, status_text_is_recorded)
{
	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s notify 'STATUS=warming up' notify 'READY=1\\\\nSTATUS=serving 3 "
		 "clients' pause\"\n"
		 "  ready = notify\n"
		 "}\n",
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "s: status: warming up", 1, 5000));
	cr_assert(vh_wait_log(&v, "s: status: serving 3 clients", 1, 5000));
	cr_assert(vh_wait_log(&v, "s: starting -> running (READY=1)", 1, 5000));
}

Test(notify, a_service_that_stops_feeding_the_watchdog_is_restarted)
{
	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s record %s notify READY=1 watchdog 4 pause\"\n"
		 "  ready = notify\n"
		 "  watchdog = 400ms\n"
		 "  restart-delay = 0s\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "runs"));
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "s: starting -> running (READY=1)", 1, 5000));
	cr_assert(vh_wait_log(
		&v, "s: running -> stopping (watchdog timeout: no WATCHDOG=1 for 400ms)", 1, 5000));
	/* restart-delay = 0s: a backoff until the loop's next turn. */
	cr_assert(vh_wait_log(&v, "s: stopping -> backoff (watchdog timeout", 1, 5000));
	cr_assert(vh_wait_log(&v, "s: backoff -> starting", 1, 5000));
	cr_assert(vh_wait_lines(vh_path(&v, "runs"), 2, 5000));
}

Test(notify, watchdog_trigger_restarts_at_once)
{
	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s notify READY=1 sleep 100 notify WATCHDOG=trigger pause\"\n"
		 "  ready = notify\n"
		 "  watchdog = 1h\n"
		 "  restart-delay = 10s\n"
		 "}\n",
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(
		&v, "s: running -> stopping (watchdog triggered (WATCHDOG=trigger))", 1, 5000));
}

Test(notify, stopping_clears_the_ready_flag)
{
	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s notify READY=1 sleep 100 notify STOPPING=1 pause\"\n"
		 "  ready = notify\n"
		 "}\n",
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "s: not ready (STOPPING=1)", 1, 5000));
}

Test(notify, requires_waits_for_readiness_from_notify)
{
	long ready, started;

	vh_write(&v,
		 "vigil.conf",
		 "service db {\n"
		 "  command = \"%s sleep 400 notify READY=1 pause\"\n"
		 "  ready = notify\n"
		 "}\n"
		 "service web {\n"
		 "  command = \"%s pause\"\n"
		 "  requires = {\"db\"}\n"
		 "}\n",
		 vh_helper(),
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "web: starting -> running", 1, 10000));
	ready = vh_log_offset(&v, "db: starting -> running (READY=1)");
	started = vh_log_offset(&v, "web: waiting -> starting");
	cr_assert_geq(ready, 0);
	cr_assert_gt(started, ready);
}

Test(notify, start_timeout_bounds_the_wait_for_ready)
{
	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s pause\"\n"
		 "  ready = notify\n"
		 "  start-timeout = 300ms\n"
		 "  restart = never\n"
		 "}\n",
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "s: starting -> stopping (start timed out)", 1, 5000));
	cr_assert(vh_wait_log(
		&v, "s: stopping -> failed (start timed out; then killed by SIGTERM)", 1, 5000));
}

Test(notify, a_service_running_as_another_user_may_notify)
{
	need_root();
	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s notify READY=1 pause\"\n"
		 "  user = \"nobody\"\n"
		 "  ready = notify\n"
		 "}\n",
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "s: starting -> running (READY=1)", 1, 5000));
}

/* A service that gives up root, then says READY=1: neither root, nor vigild's user,
 * nor the service's, it is allowed as a member of the service's session. Started
 * through @wrapper when not NULL. */
static void dropped_root_notifies(const char *const *wrapper)
{
	need_root();
	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s become 65534 notify READY=1 pause\"\n"
		 "  ready = notify\n"
		 "}\n",
		 vh_helper());
	if (wrapper)
		vh_start_under(&v, wrapper, NULL);
	else
		vh_start(&v);
	cr_assert(vh_wait_log(&v, "s: starting -> running (READY=1)", 1, 5000));
	cr_assert_eq(vh_count_log(&v, "Dropped a notify message"), 0);
}

Test(notify, a_process_of_the_service_that_dropped_root_may_notify)
{
	dropped_root_notifies(NULL);
}

Test(notify, so_it_may_in_a_pid_namespace_that_kept_the_outer_proc)
{
	/* vigild is PID 1 of a new pid namespace, /proc still the outer one's: a
	 * sender's pid names another process there. */
	const char *unshare[] = {"unshare", "--fork", "--pid", "--kill-child", NULL};

	vh_need_pid_namespace(&v);
	dropped_root_notifies(unshare);
}

Test(notify, another_user_outside_the_service_may_not)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;
	char *sock;
	pid_t pid;
	int status;

	need_root();
	vh_write(&v,
		 "vigil.conf",
		 "service s {\n"
		 "  command = \"%s describe %s pause\"\n"
		 "  ready = notify\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "s.txt"));
	vh_start(&v);
	cr_assert(vh_wait_lines(vh_path(&v, "s.txt"), 5, 5000));
	sock = described_env(vh_path(&v, "s.txt"), "NOTIFY_SOCKET");
	cr_assert(sock && sock[0] == '@');
	/* The abstract name: a leading NUL, and no NUL at the end. */
	memcpy(sa.sun_path + 1, sock + 1, strlen(sock) - 1);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sock));
	free(sock);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		_exit(sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sa, len) == 7 ? 0 : 3);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the datagram was not sent");
	cr_assert(vh_wait_log(&v, "Dropped a notify message", 1, 5000));
	cr_assert_eq(vh_count_log(&v, "s: starting -> running"), 0);
}

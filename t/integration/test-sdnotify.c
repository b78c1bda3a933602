/* test-sdnotify.c: vigild under an outer systemd (SPEC §2): READY=1 once every
 * autostart service was started, STATUS=, WATCHDOG=1 and STOPPING=1, read from a
 * socket standing in for systemd's. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "api.h"
#include "harness.h"

static struct vh v;
static int notify_fd = -1;

static void setup(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	vh_init(&v);
	cr_assert_lt(strlen(v.dir) + sizeof("/notify.sock"), sizeof(sa.sun_path));
	strcpy(sa.sun_path, v.dir);
	strcat(sa.sun_path, "/notify.sock");
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert(notify_fd >= 0);
	cr_assert(bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	/* Only vigild gets these: the harness starts it from this process. */
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	setenv("WATCHDOG_USEC", "200000", 1);
	unsetenv("WATCHDOG_PID");
}

static void teardown(void)
{
	vh_cleanup(&v);
	if (notify_fd >= 0)
		close(notify_fd);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
}

TestSuite(sdnotify, .init = setup, .fini = teardown, .timeout = 30);

struct message {
	long long ms; /* since the start */
	char text[512];
};

/* Collects messages until one contains @until or @timeout_ms pass. Returns the index
 * of that message, or -1. */
static int collect(struct message *m, int *n, int max, const char *until, long long t0,
		   int timeout_ms)
{
	long long end = vh_now_ms() + timeout_ms;

	while (*n < max) {
		long long left = end - vh_now_ms();
		struct timeval tv = {.tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000};
		ssize_t len;

		if (left <= 0)
			return -1;
		setsockopt(notify_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		len = recv(notify_fd, m[*n].text, sizeof(m[*n].text) - 1, 0);
		if (len < 0)
			return -1;
		m[*n].text[len] = '\0';
		m[*n].ms = vh_now_ms() - t0;
		if (strstr(m[*n].text, until))
			return (*n)++;
		(*n)++;
	}
	return -1;
}

static int count(const struct message *m, int n, const char *what)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		k += strstr(m[i].text, what) != NULL;
	return k;
}

Test(sdnotify, ready_once_autostart_services_are_up_then_watchdog_and_stopping)
{
	static struct message m[512];
	int n = 0, ready, stopping;
	long long t0;
	json_t *state;

	vh_write(&v,
		 "vigil.conf",
		 "service prep {\n  command = \"%s sleep 500 exit 0\"\n  type = oneshot\n}\n"
		 "service app {\n  command = \"%s pause\"\n  requires = {\"prep\"}\n}\n"
		 "service manual {\n  command = \"%s pause\"\n  autostart = false\n}\n",
		 vh_helper(),
		 vh_helper(),
		 vh_helper());
	t0 = vh_now_ms();
	vh_start(&v);
	ready = collect(m, &n, 512, "READY=1", t0, 5000);
	cr_assert_geq(ready, 0, "no READY=1");
	cr_assert_geq(
		m[ready].ms, 450, "READY=1 before app could have started (%lld ms)", m[ready].ms);
	state = api_field(&v, "app", "state");
	cr_assert_str_eq(json_string_value(state), "running");
	json_decref(state);
	cr_assert_eq(count(m, n, "READY=1"), 1);
	cr_assert_geq(count(m, n, "STATUS="), 1);

	/* WATCHDOG_USEC is 200 ms: a ping every 100 ms. */
	collect(m, &n, 512, "no such message", t0, 1000);
	cr_assert_geq(count(m, n, "WATCHDOG=1"),
		      8,
		      "only %d pings in %lld ms",
		      count(m, n, "WATCHDOG=1"),
		      vh_now_ms() - t0);
	cr_assert(count(m, n, "STATUS=3 services: 1 stopped, 1 running, 1 exited") >= 1,
		  "%s",
		  m[n - 1].text);

	kill(v.pid, SIGTERM);
	stopping = collect(m, &n, 512, "STOPPING=1", t0, 5000);
	cr_assert_geq(stopping, 0, "no STOPPING=1");
	/* Sent as the shutdown starts, while app still runs, not as vigild exits. */
	cr_assert(strstr(m[stopping].text, "STATUS=Shutting down, 3 services") &&
			  (strstr(m[stopping].text, "running") ||
			   strstr(m[stopping].text, "stopping")),
		  "%s",
		  m[stopping].text);
	cr_assert_eq(vh_wait_exit(&v, 10000), 0);
	cr_assert_eq(count(m, n, "READY=1"), 1);
}

Test(sdnotify, ready_even_when_a_requirement_keeps_crashing)
{
	static struct message m[512];
	int n = 0;

	vh_write(&v,
		 "vigil.conf",
		 "service dep {\n  command = \"%s exit 1\"\n  restart-delay = 200ms\n}\n"
		 "service app {\n  command = \"%s pause\"\n  requires = {\"dep\"}\n}\n",
		 vh_helper(),
		 vh_helper());
	vh_start(&v);
	cr_assert_geq(collect(m, &n, 512, "READY=1", vh_now_ms(), 5000),
		      0,
		      "vigild never told systemd it was ready");
}

Test(sdnotify, nothing_is_sent_without_notify_socket)
{
	char buf[64];
	struct timeval tv = {.tv_usec = 300000};

	unsetenv("NOTIFY_SOCKET");
	vh_write(&v, "vigil.conf", "service web {\n  command = \"%s pause\"\n}\n", vh_helper());
	vh_start(&v);
	api_wait_up(&v);
	setsockopt(notify_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_lt(recv(notify_fd, buf, sizeof(buf), 0), 0);
}

/* A shutdown while a service is still on its way up: the start never completed, so
 * no READY=1 (after STOPPING=1 it would tell systemd the start had). */
Test(sdnotify, no_ready_when_a_shutdown_cuts_the_start_short)
{
	static struct message m[512];
	int n = 0;

	vh_write(&v,
		 "vigil.conf",
		 "service slow {\n  command = \"%s pause\"\n  ready = notify\n}\n",
		 vh_helper());
	vh_start(&v);
	api_wait_up(&v);
	cr_assert(api_wait_state(&v, "slow", "starting", 5000));
	cr_assert_eq(api_call(&v, "POST", "/v1/shutdown", NULL), 202);
	cr_assert_geq(collect(m, &n, 512, "STOPPING=1", vh_now_ms(), 5000), 0, "no STOPPING=1");
	cr_assert_eq(vh_wait_exit(&v, 10000), 0);
	/* Whatever vigild sent up to its exit is in the queue by now. */
	collect(m, &n, 512, "no such message", vh_now_ms(), 200);
	cr_assert_eq(count(m, n, "READY=1"), 0, "READY=1 in a start cut short");
}

static int field_int(const char *name, const char *key)
{
	json_t *j = api_field(&v, name, key);
	int i = (int)json_integer_value(j);

	json_decref(j);
	return i;
}

/* A NOTIFY_SOCKET nobody reads fills up: vigild goes on supervising and answering
 * (sd_notify() would block it), and once the receiver reads again it hears the
 * rest. */
Test(sdnotify, a_notify_socket_nobody_reads_does_not_stall_vigild)
{
	static struct message m[512];
	int n = 0, restarts;
	char *body = NULL;

	vh_write(&v,
		 "vigil.conf",
		 "service crash {\n  command = \"%s exit 1\"\n  restart-delay = 10ms\n"
		 "  restart-delay-max = 10ms\n}\n",
		 vh_helper());
	vh_start(&v);
	api_wait_up(&v);
	/* Every restart changes the status and the watchdog pings every 100 ms: the
	 * queue (net.unix.max_dgram_qlen, 512 at most) is full within a second or two. */
	vh_msleep(2500);
	cr_assert_eq(api_call(&v, "GET", "/v1/services/crash", &body), 200);
	free(body);
	restarts = field_int("crash", "restarts");
	vh_msleep(500);
	cr_assert_gt(field_int("crash", "restarts"),
		     restarts,
		     "restarts stopped while the notify queue was full");
	/* The receiver reads again, and hears of the shutdown. */
	collect(m, &n, 512, "no such message", vh_now_ms(), 300);
	kill(v.pid, SIGTERM);
	cr_assert_geq(collect(m, &n, 512, "STOPPING=1", vh_now_ms(), 10000),
		      0,
		      "STOPPING=1 never came after the queue drained");
	cr_assert_eq(vh_wait_exit(&v, 10000), 0);
}

/* A service with on-failed = shutdown that cannot start decides the shutdown before
 * it begins (at the loop's next settle): no READY=1 in between. */
Test(sdnotify, no_ready_when_an_on_failed_shutdown_is_decided_at_start_up)
{
	static struct message m[512];
	int n = 0;

	vh_write(&v,
		 "vigil.conf",
		 "service critical {\n  command = \"/nonexistent/vigil-critical\"\n"
		 "  restart = never\n  on-failed = shutdown\n}\n"
		 "service other {\n  command = \"%s pause\"\n}\n",
		 vh_helper());
	vh_start(&v);
	cr_assert_eq(vh_wait_exit(&v, 10000), 3);
	collect(m, &n, 512, "no such message", vh_now_ms(), 200);
	cr_assert_geq(count(m, n, "STOPPING=1"), 1);
	cr_assert_eq(count(m, n, "READY=1"), 0, "%s", n ? m[0].text : "");
}

/* A message that did not fit is sent again by vigild's own timer, with nothing else
 * waking the loop (no watchdog, no service moving). */
Test(sdnotify, a_message_that_did_not_fit_is_sent_again_when_vigild_is_idle)
{
	static struct message m[512];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int n = 0, filler, sent = 0;

	unsetenv("WATCHDOG_USEC");
	/* Fill the receiving queue before vigild starts. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", getenv("NOTIFY_SOCKET"));
	filler = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	cr_assert(filler >= 0);
	while (sendto(filler, "FILLER=1", 8, 0, (struct sockaddr *)&sa, sizeof(sa)) == 8)
		sent++;
	cr_assert_gt(sent, 0);
	vh_write(&v, "vigil.conf", "service web {\n  command = \"%s pause\"\n}\n", vh_helper());
	vh_start(&v);
	api_wait_up(&v);
	cr_assert(api_wait_state(&v, "web", "running", 5000));
	/* Let the loop go idle (the answers' connections close), with the queue full;
	 * then take the fillers away: READY=1 must come on vigild's own. */
	vh_msleep(500);
	for (char buf[64]; recv(notify_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0;)
		;
	cr_assert_geq(collect(m, &n, 512, "READY=1", vh_now_ms(), 3000),
		      0,
		      "READY=1 never came after the queue drained");
	close(filler);
}

/* As a container's init without -c or -s, a non-root vigild's control socket goes
 * to $XDG_RUNTIME_DIR/vigil/: it answers there, and is there by READY=1. */
Test(sdnotify, in_main_mode_the_default_socket_is_there_by_ready)
{
	char xdg[4096], env[4200], sock[4200], *out = NULL;
	struct message m[32];
	struct stat st;
	int n = 0;

	vh_need(&v, "setpriv", "util-linux");
	if (geteuid() != 0)
		VH_SKIP(&v, "needs root to act as uid 4242");
	/* A runtime directory of uid 4242's, where its default socket goes. */
	snprintf(xdg, sizeof(xdg), "%s", vh_path(&v, "xdg"));
	snprintf(env, sizeof(env), "XDG_RUNTIME_DIR=%s", xdg);
	snprintf(sock, sizeof(sock), "%s/vigil/control.sock", xdg);
	cr_assert_eq(mkdir(xdg, 0700), 0);
	cr_assert_eq(chown(xdg, 4242, 4242), 0);
	cr_assert_eq(chmod(v.dir, 0755), 0);
	cr_assert_eq(chmod(vh_path(&v, "notify.sock"), 0666), 0);
	const char *argv[] = {"setpriv",
			      "--reuid=4242",
			      "--regid=4242",
			      "--clear-groups",
			      "env",
			      env,
			      vh_vigild(),
			      "--",
			      vh_helper(),
			      "pause",
			      NULL};
	vh_start_program(&v, argv);
	cr_assert_geq(collect(m, &n, 32, "READY=1", vh_now_ms(), vh_ms(10000)), 0);
	cr_assert_eq(lstat(sock, &st), 0, "no %s at READY=1", sock);
	cr_assert(S_ISSOCK(st.st_mode));
	const char *status[] = {vh_vigilctl(), "-s", sock, "status", "main", NULL};
	cr_assert_eq(vh_run(status, &out, vh_ms(10000)), 0, "%s", out);
	cr_assert(strstr(out, "running"), "%s", out);
	free(out);
}

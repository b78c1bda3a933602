/* test-vigilctl.c: every command of SPEC §8 against a real vigild: output, JSON and
 * exit codes (0 ok, 1 failed, 2 usage, 3 unreachable, 4 no such service). */
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
#include "control.h"
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

TestSuite(vigilctl, .init = setup, .fini = teardown, .timeout = 40);

/* A paused `web`, a stopped `off`, plus what @fmt adds (%s: the helper). */
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
	vh_write(&v,
		 "vigil.conf",
		 "service web {\n  command = \"%s trap HUP %s pidfile %s pause\"\n}\n"
		 "service off {\n  command = \"%s pause\"\n  autostart = false\n}\n%s",
		 vh_helper(),
		 vh_path(&v, "web.sigs"),
		 vh_path(&v, "web.pid"),
		 vh_helper(),
		 extra);
	vh_start(&v);
	api_wait_up(&v);
	cr_assert(api_wait_state(&v, "web", "running", 5000));
}

/* Starts vigilctl with -s v.sock and the NULL-terminated @args, its stdout on a
 * pipe: returns its pid, with the pipe's read end in *out_fd. */
static pid_t ctl_spawn(const char *const *args, int *out_fd)
{
	const char *argv[16] = {vh_vigilctl(), "-s", v.sock};
	int pipefd[2];
	size_t n = 3;
	pid_t pid;

	for (; *args && n < sizeof(argv) / sizeof(argv[0]) - 1; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	cr_assert(pipe(pipefd) == 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		sigset_t none;

		dup2(pipefd[1], 1);
		close(pipefd[0]);
		/* vh_cleanup() kills whatever carries the tag: a stuck vigilctl too. */
		setenv("VIGIL_TEST_TAG", v.dir, 1);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	close(pipefd[1]);
	*out_fd = pipefd[0];
	return pid;
}

Test(vigilctl, status_prints_an_aligned_table_without_colours_on_a_pipe)
{
	char *out = NULL, *err = NULL, *l2, *l3;

	start_with(NULL);
	cr_assert_eq(ctl_run(&v, &out, &err, "status", NULL), 0, "%s", err);
	cr_assert_eq(strncmp(out, "NAME", 4), 0, "%s", out);
	cr_assert(strstr(out, "STATE") && strstr(out, "PID") && strstr(out, "UPTIME") &&
		  strstr(out, "RESTARTS") && strstr(out, "READY") && strstr(out, "HEALTH"));
	cr_assert(!strchr(out, '\033'), "colours on a pipe: %s", out);
	l2 = strchr(out, '\n') + 1;
	l3 = strchr(l2, '\n') + 1;
	cr_assert_eq(strncmp(l2, "web ", 4), 0, "%s", out);
	cr_assert_eq(strncmp(l3, "off ", 4), 0, "%s", out);
	/* Columns line up: STATE starts where each row's state does. */
	cr_assert_eq(strstr(out, "STATE") - out, strstr(l2, "running") - l2, "%s", out);
	cr_assert_eq(strstr(out, "STATE") - out, strstr(l3, "stopped") - l3, "%s", out);
	free(out);
	free(err);
}

Test(vigilctl, status_of_names_and_json)
{
	char *out = NULL;
	json_t *j;

	start_with(NULL);
	cr_assert_eq(ctl_run(&v, &out, NULL, "status", "off", NULL), 0);
	cr_assert(strstr(out, "off") && !strstr(out, "web"), "%s", out);
	free(out);
	cr_assert_eq(ctl_run(&v, &out, NULL, "--json", "status", NULL), 0);
	j = json_loads(out, 0, NULL);
	cr_assert(json_is_array(j), "%s", out);
	cr_assert_eq(json_array_size(j), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "state")),
			 "running");
	json_decref(j);
	free(out);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "status", "web", "nope", NULL), 4);
}

Test(vigilctl, start_stop_restart_and_their_exit_codes)
{
	char *out = NULL, *err = NULL;
	long pid;

	start_with(NULL);
	cr_assert_eq(ctl_run(&v, &out, NULL, "start", "off", NULL), 0);
	cr_assert_str_eq(out, "off: starting\n");
	free(out);
	cr_assert(api_wait_state(&v, "off", "running", 5000));
	cr_assert_eq(ctl_run(&v, NULL, &err, "start", "off", NULL), 0, "nothing to do is fine");
	cr_assert(strstr(err, "already running"), "%s", err);
	free(err);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "stop", "off", NULL), 0);
	cr_assert(api_wait_state(&v, "off", "stopped", 5000));
	cr_assert_eq(ctl_run(&v, NULL, &err, "stop", "nope", NULL), 4);
	cr_assert(strstr(err, "no such service 'nope'"), "%s", err);
	free(err);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "start", "off", "nope", NULL), 4);
	cr_assert(api_wait_state(&v, "off", "running", 5000), "the known one still started");

	pid = vh_wait_long(&v, "web.pid", 5000);
	cr_assert_eq(ctl_run(&v, &out, NULL, "restart", "web", NULL), 0);
	cr_assert_str_eq(out, "web: restarting\n");
	free(out);
	for (long long end = vh_now_ms() + 5000;
	     vh_read_long(vh_path(&v, "web.pid")) == pid && vh_now_ms() < end;)
		vh_msleep(10);
	cr_assert_neq(vh_read_long(vh_path(&v, "web.pid")), pid);

	cr_assert_eq(ctl_run(&v, NULL, NULL, "stop", "all", NULL), 0);
	cr_assert(api_wait_state(&v, "web", "stopped", 5000));
	cr_assert(api_wait_state(&v, "off", "stopped", 5000));
	cr_assert_eq(ctl_run(&v, &out, NULL, "--json", "start", "all", NULL), 0);
	cr_assert(strstr(out, "\"action\": \"start\""), "%s", out);
	free(out);
	cr_assert(api_wait_state(&v, "web", "running", 5000));
	cr_assert(api_wait_state(&v, "off", "running", 5000));
}

Test(vigilctl, json_answers_of_several_services_form_one_array)
{
	char *out = NULL;
	json_t *a;

	start_with(NULL);
	cr_assert(api_wait_state(&v, "web", "running", 5000));
	/* web: nothing to do (409); off: started. */
	cr_assert_eq(ctl_run(&v, &out, NULL, "--json", "start", "web", "off", NULL), 0);
	a = json_loads(out, 0, NULL);
	cr_assert(json_is_array(a) && json_array_size(a) == 2, "%s", out);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "service")),
			 "web");
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(a, 0), "status")), 409);
	cr_assert(json_is_string(json_object_get(json_array_get(a, 0), "error")), "%s", out);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 1), "service")),
			 "off");
	json_decref(a);
	free(out);

	cr_assert(api_wait_state(&v, "off", "running", 5000));
	cr_assert_eq(ctl_run(&v, &out, NULL, "--json", "signal", "CONT", "web", "off", NULL), 0);
	a = json_loads(out, 0, NULL);
	cr_assert(json_is_array(a) && json_array_size(a) == 2, "%s", out);
	json_decref(a);
	free(out);

	cr_assert_eq(ctl_run(&v, &out, NULL, "--json", "version", NULL), 0);
	a = json_loads(out, 0, NULL);
	cr_assert(json_is_string(json_object_get(a, "vigilctl")), "%s", out);
	json_decref(a);
	free(out);
}

Test(vigilctl, signal_and_its_exit_codes)
{
	char *out = NULL;

	start_with(NULL);
	/* web writes its pid file once its HUP trap is set: "running" comes earlier. */
	cr_assert(vh_wait_lines(vh_path(&v, "web.pid"), 1, 5000));
	cr_assert_eq(ctl_run(&v, &out, NULL, "signal", "HUP", "web", NULL), 0);
	cr_assert_str_eq(out, "web: SIGHUP sent\n");
	free(out);
	cr_assert(vh_wait_lines(vh_path(&v, "web.sigs"), 1, 5000));
	cr_assert_eq(ctl_run(&v, NULL, NULL, "signal", "NOPE", "web", NULL), 2);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "signal", "HUP", "nope", NULL), 4);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "signal", "HUP", "off", NULL), 1);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "signal", "HUP", NULL), 2);
}

Test(vigilctl, logs_prints_the_tail_and_follows_new_lines)
{
	int pipefd[2];
	char *out = NULL;
	pid_t pid;
	int status;

	start_with("service talk {\n  command = \"%s out one out two out three out four out five "
		   "out six pidfile %s sleep 1500 out late pause\"\n}\n",
		   vh_helper(),
		   vh_path(&v, "talk.pid"));
	cr_assert(vh_wait_lines(vh_path(&v, "talk.pid"), 1, 5000));
	for (int i = 0; i < 200; i++) {
		free(out);
		out = NULL;
		cr_assert_eq(ctl_run(&v, &out, NULL, "logs", "-n", "5", "talk", NULL), 0);
		if (strstr(out, "out six\n"))
			break;
		vh_msleep(10);
	}
	/* The last five lines, each with its time and stream. */
	cr_assert_null(strstr(out, " out one\n"), "%s", out);
	cr_assert(strstr(out, "Z out two\n") && strstr(out, "Z out six\n"), "%s", out);
	cr_assert_eq(vh_count_lines_in(out), 5, "%s", out);
	free(out);

	/* -f: the line written 1.5 s after start shows within a second of being written. */
	{
		const char *args[] = {"logs", "-f", "-n", "1", "talk", NULL};
		pid = ctl_spawn(args, &pipefd[0]);
	}
	{
		FILE *f = fdopen(pipefd[0], "r");
		char line[512];
		bool late = false;
		long long end = vh_now_ms() + 5000;

		cr_assert(f);
		while (!late && vh_now_ms() < end) {
			struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
			if (poll(&pfd, 1, 100) > 0 && fgets(line, sizeof(line), f))
				late = strstr(line, " out late") != NULL;
		}
		kill(pid, SIGTERM);
		fclose(f);
		cr_assert(late, "logs -f never showed the new line");
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);

	cr_assert_eq(ctl_run(&v, NULL, NULL, "logs", "-f", "nope", NULL), 4);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "logs", "-n", "x", "web", NULL), 2);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "logs", NULL), 2);
}

/* A follower waiting for lines when vigild shuts down: its stream ends and vigild
 * exits cleanly (libmicrohttpd aborts when stopped with a suspended connection). */
Test(vigilctl, logs_follow_ends_when_vigild_shuts_down)
{
	int pipefd[2], status;
	char line[512];
	FILE *f;
	pid_t pid;

	start_with("service talk {\n  command = \"%s out hello pause\"\n}\n", vh_helper());
	cr_assert(api_wait_state(&v, "talk", "running", 5000));
	{
		const char *args[] = {"logs", "-f", "talk", NULL};
		pid = ctl_spawn(args, &pipefd[0]);
	}
	f = fdopen(pipefd[0], "r");
	cr_assert(f);
	/* The tail came: the stream now waits for new lines, suspended. */
	cr_assert(fgets(line, sizeof(line), f) && strstr(line, " out hello"), "%s", line);
	vh_msleep(100);
	kill(v.pid, SIGTERM);
	cr_assert_eq(vh_wait_exit(&v, 10000), 0, "vigild did not exit cleanly");
	cr_assert_eq(vh_count_log(&v, "suspended connections"), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "logs -f exited with %d", status);
	fclose(f);
}

/* Reads what is left on @fd until EOF into a new string. */
static char *read_rest(int fd)
{
	size_t cap = 65536, len = 0;
	char *out = calloc(1, cap);
	ssize_t n;

	cr_assert(out);
	while (len + 1 < cap && (n = read(fd, out + len, cap - len - 1)) > 0)
		len += (size_t)n;
	return out;
}

/* Two streams at a shutdown: each gets its last data and its end, and both
 * vigilctl exit 0 (one pass of MHD at exit used to end only the first). */
Test(vigilctl, logs_follow_and_events_both_end_cleanly_at_a_shutdown)
{
	int logs_fd, events_fd, status;
	pid_t logs_pid, events_pid;
	char *logs, *events;

	start_with("service talk {\n  command = \"%s out hello pause\"\n}\n", vh_helper());
	cr_assert(api_wait_state(&v, "talk", "running", 5000));
	{
		const char *args[] = {"logs", "-f", "talk", NULL};
		logs_pid = ctl_spawn(args, &logs_fd);
	}
	{
		const char *args[] = {"events", NULL};
		events_pid = ctl_spawn(args, &events_fd);
	}
	/* Both streams are open once each has shown something. */
	{
		struct pollfd pfd = {.fd = logs_fd, .events = POLLIN};
		cr_assert(poll(&pfd, 1, 5000) == 1);
		pfd.fd = events_fd;
		for (int i = 0; i < 50 && poll(&pfd, 1, 0) == 0; i++) {
			cr_assert_eq(api_call(&v, "POST", "/v1/services/off/start", NULL), 202);
			cr_assert(api_wait_state(&v, "off", "running", 5000));
			cr_assert_eq(api_call(&v, "POST", "/v1/services/off/stop", NULL), 202);
			cr_assert(api_wait_state(&v, "off", "stopped", 5000));
			(void)poll(&pfd, 1, 200);
		}
		cr_assert(poll(&pfd, 1, 0) == 1, "no event line from vigilctl events");
	}
	kill(v.pid, SIGTERM);
	cr_assert_eq(vh_wait_exit(&v, 10000), 0, "vigild did not exit cleanly");
	logs = read_rest(logs_fd);
	events = read_rest(events_fd);
	cr_assert_eq(waitpid(logs_pid, &status, 0), logs_pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "logs -f exited with %d", status);
	cr_assert_eq(waitpid(events_pid, &status, 0), events_pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "events exited with %d: %s",
		  status,
		  events);
	cr_assert(strstr(logs, " out hello"), "%s", logs);
	cr_assert(strstr(events, "talk: stopping -> stopped"), "%s", events);
	cr_assert(strstr(events, "web: stopping -> stopped"), "%s", events);
	close(logs_fd);
	close(events_fd);
	free(logs);
	free(events);
}

/* vigild killed mid-stream is not a clean end: the stream is chunked, so vigilctl
 * tells the missing end from a shutdown's. */
Test(vigilctl, logs_follow_exits_1_when_vigild_dies_mid_stream)
{
	int fd, status;
	pid_t pid;
	char *out;

	start_with("service talk {\n  command = \"%s out hello pause\"\n}\n", vh_helper());
	cr_assert(api_wait_state(&v, "talk", "running", 5000));
	{
		const char *args[] = {"logs", "-f", "talk", NULL};
		pid = ctl_spawn(args, &fd);
	}
	{
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		cr_assert(poll(&pfd, 1, 5000) == 1);
	}
	kill(v.pid, SIGKILL);
	cr_assert_eq(vh_wait_exit(&v, 10000), 128 + SIGKILL);
	out = read_rest(fd);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "logs -f exited with %d", status);
	cr_assert(strstr(out, " out hello"), "%s", out);
	close(fd);
	free(out);
}

Test(vigilctl, events_stream_until_vigild_goes_away)
{
	int pipefd[2];
	char *out;
	pid_t pid;
	int status;

	start_with(NULL);
	{
		const char *args[] = {"events", NULL};
		pid = ctl_spawn(args, &pipefd[0]);
	}
	/* Once the stream is open, each restart shows; the first ones may come too early. */
	{
		FILE *f = fdopen(pipefd[0], "r");
		char line[512];
		bool seen = false;

		cr_assert(f);
		for (int i = 0; i < 50 && !seen; i++) {
			cr_assert_eq(api_call(&v, "POST", "/v1/services/off/start", NULL), 202);
			cr_assert(api_wait_state(&v, "off", "running", 5000));
			cr_assert_eq(api_call(&v, "POST", "/v1/services/off/stop", NULL), 202);
			cr_assert(api_wait_state(&v, "off", "stopped", 5000));
			/* The line arrives within 0.2 ms or so; poll a little. */
			struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
			if (poll(&pfd, 1, 200) > 0 && fgets(line, sizeof(line), f))
				seen = strstr(line, " off: ") != NULL;
		}
		cr_assert(seen, "no event line from vigilctl events");
		cr_assert_eq(api_call(&v, "POST", "/v1/shutdown", NULL), 202);
		cr_assert_eq(vh_wait_exit(&v, 10000), 0);
		{
			size_t cap = 65536, len = 0;
			out = calloc(1, cap);
			while (len + 1 < cap && fgets(out + len, (int)(cap - len), f))
				len = strlen(out);
		}
		fclose(f);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "events exited with %d", status);
	cr_assert(strstr(out, "web: running -> stopping (shutdown)"), "%s", out);
	free(out);
}

Test(vigilctl, reload_prints_the_diff_or_the_errors)
{
	char *out = NULL, *err = NULL, want[256];

	start_with(NULL);
	vh_write(&v,
		 "vigil.conf",
		 "service web {\n  command = \"%s trap HUP %s pidfile %s pause\"\n}\n"
		 "service off {\n  command = \"%s pause\"\n  autostart = false\n  stop-timeout = "
		 "3s\n}\n"
		 "service new {\n  command = \"%s pause\"\n}\n",
		 vh_helper(),
		 vh_path(&v, "web.sigs"),
		 vh_path(&v, "web.pid"),
		 vh_helper(),
		 vh_helper());
	cr_assert_eq(ctl_run(&v, &out, NULL, "reload", NULL), 0);
	cr_assert_str_eq(out, "added: new\nremoved: (none)\nchanged: off\nunchanged: 1\n");
	free(out);

	vh_write(&v,
		 "vigil.conf",
		 "service web {\n  command = \"%s pause\"\n  bogus = 1\n}\n",
		 vh_helper());
	cr_assert_eq(ctl_run(&v, &out, &err, "reload", NULL), 1);
	snprintf(want, sizeof(want), "%s:3: ", v.conf);
	cr_assert(strstr(err, "reload failed, nothing changed"), "%s", err);
	cr_assert(strstr(err, want), "no FILE:LINE in: %s", err);
	cr_assert_str_eq(out, "");
	free(out);
	free(err);
	cr_assert_eq(ctl_run(&v, &out, NULL, "--json", "reload", NULL), 1);
	cr_assert(strstr(out, "\"errors\""), "%s", out);
	free(out);
	cr_assert(api_wait_state(&v, "new", "running", 1000), "nothing changed");
}

Test(vigilctl, wait_returns_once_a_service_is_ready)
{
	long long t0;
	char *err = NULL;

	start_with("service late {\n  command = \"%s sleep 1000 exit 0\"\n  type = oneshot\n}\n",
		   vh_helper());
	t0 = vh_now_ms();
	cr_assert_eq(
		ctl_run(&v, NULL, &err, "wait", "-t", "10", "late", "web", NULL), 0, "%s", err);
	free(err);
	cr_assert(vh_now_ms() - t0 < 5000);
	cr_assert(api_wait_state(&v, "late", "exited", 100), "returned before it was ready");
	/* Already ready: at once. */
	t0 = vh_now_ms();
	cr_assert_eq(ctl_run(&v, NULL, NULL, "wait", "web", NULL), 0);
	cr_assert_lt(vh_now_ms() - t0, 1000);
}

Test(vigilctl, wait_keeps_to_its_timeout_when_vigild_does_not_answer)
{
	long long t0, took;
	char *err = NULL;
	int rc;

	start_with("service done {\n  command = \"%s exit 1\"\n  restart = never\n}\n",
		   vh_helper());
	/* An exited service will not become ready: no need to wait. */
	cr_assert(api_wait_state(&v, "done", "exited", 5000));
	t0 = vh_now_ms();
	cr_assert_eq(ctl_run(&v, NULL, NULL, "wait", "-t", "10", "done", NULL), 1);
	cr_assert_lt(vh_now_ms() - t0, 5000);

	/* A stopped vigild still has its clients connected (the backlog): wait gives
	 * up at its own timeout, not at the 30 s of one request, and does not ask
	 * again to say what is not ready (that took a second more). */
	kill(v.pid, SIGSTOP);
	t0 = vh_now_ms();
	rc = ctl_run(&v, NULL, &err, "wait", "-t", "0.5", "web", NULL);
	took = vh_now_ms() - t0;
	kill(v.pid, SIGCONT);
	cr_assert_eq(rc, 1, "%s", err);
	cr_assert_lt(took, 1300, "wait -t 0.5 took %lld ms", took);
	cr_assert(strstr(err, "timed out after 0.5s: vigild at ") && strstr(err, "did not answer"),
		  "%s",
		  err);
	free(err);
}

/* Every event stream taken (64): vigild answers wait's subscription with a 503 in
 * one piece, and wait falls back to asking every so often: a service started while
 * it waits is seen. */
Test(vigilctl, wait_works_when_every_event_stream_is_taken)
{
	static const char req[] = "GET /v1/events HTTP/1.0\r\n\r\n";
	const char *args[] = {"wait", "-t", "5", "off", NULL};
	int fds[CONTROL_STREAMS_MAX], fd, st;
	long long t0;
	char buf[256];
	ssize_t n;
	pid_t pid;

	start_with(NULL);
	for (int i = 0; i < CONTROL_STREAMS_MAX; i++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};

		cr_assert_lt(strlen(v.sock), sizeof(sa.sun_path));
		memcpy(sa.sun_path, v.sock, strlen(v.sock) + 1);
		fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert(fds[i] >= 0);
		cr_assert_eq(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
		cr_assert_eq(write(fds[i], req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
		/* Its headers: the stream is open. */
		n = read(fds[i], buf, sizeof(buf) - 1);
		cr_assert_gt(n, 0);
		buf[n] = '\0';
		cr_assert(strstr(buf, " 200 "), "stream %d: %.40s", i, buf);
	}
	cr_assert_eq(api_call(&v, "GET", "/v1/events", NULL), 503);
	pid = ctl_spawn(args, &fd);
	/* Longer than wait's re-check period (1 s): it has looked, been refused a
	 * stream, and looked again by now, so off's start can only reach it through
	 * the re-checks. */
	vh_msleep(1500);
	cr_assert_eq(waitpid(pid, &st, WNOHANG), 0, "wait ended before off started");
	t0 = vh_now_ms();
	cr_assert_eq(api_call(&v, "POST", "/v1/services/off/start", NULL), 202);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "wait: status %d", st);
	cr_assert_lt(vh_now_ms() - t0, 3000, "wait missed its re-check");
	close(fd);
	for (int i = 0; i < CONTROL_STREAMS_MAX; i++)
		close(fds[i]);
}

Test(vigilctl, wait_times_out_on_a_service_that_never_gets_ready)
{
	long long t0, took;
	char *err = NULL;

	start_with("service never {\n  command = \"%s sleep 60000\"\n  type = oneshot\n}\n",
		   vh_helper());
	t0 = vh_now_ms();
	cr_assert_eq(ctl_run(&v, NULL, &err, "wait", "-t", "1.5", "never", NULL), 1);
	took = vh_now_ms() - t0;
	cr_assert_geq(took, 1400);
	cr_assert_lt(took, 4000);
	cr_assert(strstr(err, "timed out") && strstr(err, "never"), "%s", err);
	free(err);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "wait", "-t", "1", "nope", NULL), 4);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "wait", "-t", "x", "never", NULL), 2);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "wait", NULL), 2);
}

Test(vigilctl, wait_gives_up_at_once_on_a_failed_service)
{
	long long t0;

	start_with("service bad {\n  command = \"/bin/false\"\n  type = oneshot\n}\n");
	cr_assert(api_wait_state(&v, "bad", "failed", 5000));
	t0 = vh_now_ms();
	cr_assert_eq(ctl_run(&v, NULL, NULL, "wait", "-t", "30", "bad", NULL), 1);
	cr_assert_lt(vh_now_ms() - t0, 5000);
}

Test(vigilctl, health_follows_healthz)
{
	char *out = NULL;

	start_with(NULL);
	cr_assert_eq(ctl_run(&v, &out, NULL, "health", NULL), 0);
	cr_assert_str_eq(out, "healthy\n");
	free(out);
	vh_write(&v,
		 "vigil.conf",
		 "service bad {\n  command = \"/bin/false\"\n  type = oneshot\n}\n");
	cr_assert_eq(ctl_run(&v, NULL, NULL, "reload", NULL), 0);
	cr_assert(api_wait_state(&v, "bad", "failed", 5000));
	cr_assert_eq(ctl_run(&v, &out, NULL, "health", NULL), 1);
	cr_assert(strstr(out, "bad: failed"), "%s", out);
	free(out);
}

Test(vigilctl, shutdown_stops_vigild)
{
	start_with(NULL);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "shutdown", NULL), 0);
	cr_assert_eq(vh_wait_exit(&v, 10000), 0);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "status", NULL), 3);
}

Test(vigilctl, usage_errors_exit_2_without_contacting_vigild)
{
	char *err = NULL;
	const char *bad_socket[] = {vh_vigilctl(), "-s", "/nonexistent/vigil.sock", "bogus", NULL};

	cr_assert_eq(ctl_runv(NULL, bad_socket, NULL, &err), 2);
	cr_assert(strstr(err, "unknown command 'bogus'"), "%s", err);
	free(err);
	cr_assert_eq(ctl_run(NULL, NULL, NULL, NULL), 2);
	cr_assert_eq(ctl_run(NULL, NULL, NULL, "--bogus", "status", NULL), 2);
	cr_assert_eq(ctl_run(NULL, NULL, NULL, "start", NULL), 2);
	cr_assert_eq(ctl_run(NULL, NULL, NULL, "reload", "extra", NULL), 2);
	cr_assert_eq(ctl_run(NULL, NULL, &err, "stop", "web", "all", NULL), 2);
	cr_assert(strstr(err, "vigilctl: stop all takes no service names beside it"), "%s", err);
	free(err);
	cr_assert_eq(ctl_run(NULL, NULL, NULL, "--help", NULL), 0);
	/* vigilctl's own options after the command: no service names. */
	{
		const char *after[] = {vh_vigilctl(),
				       "-s",
				       "/nonexistent/vigil.sock",
				       "start",
				       "--json",
				       "web",
				       NULL};

		cr_assert_eq(ctl_runv(NULL, after, NULL, &err), 2);
		cr_assert(strstr(err, "start takes no option '--json'"), "%s", err);
		free(err);
	}
}

Test(vigilctl, logs_and_wait_take_their_options_after_the_name_too)
{
	char *out = NULL;

	start_with(NULL);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "wait", "web", "-t", "5", NULL), 0);
	cr_assert_eq(ctl_run(&v, &out, NULL, "logs", "web", "-n", "1", NULL), 0);
	free(out);
}

Test(vigilctl, version_needs_no_vigild)
{
	char *out = NULL;
	const char *argv[] = {vh_vigilctl(), "-s", "/nonexistent/vigil.sock", "version", NULL};

	cr_assert_eq(ctl_runv(NULL, argv, &out, NULL), 0);
	cr_assert_eq(strncmp(out, "vigilctl ", 9), 0, "%s", out);
	free(out);
}

Test(vigilctl, an_unreachable_vigild_exits_3_with_the_path)
{
	char *err = NULL, want[256];

	cr_assert_eq(ctl_run(&v, NULL, &err, "status", NULL), 3);
	snprintf(want, sizeof(want), "vigilctl: cannot reach vigild at %s: ", v.sock);
	cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
	free(err);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "wait", "web", NULL), 3);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "events", NULL), 3);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "health", NULL), 3);
}

Test(vigilctl, the_socket_comes_from_vigil_socket_when_there_is_no_s)
{
	const char *argv[] = {vh_vigilctl(), "status", "web", NULL};
	char *out = NULL;

	start_with(NULL);
	setenv("VIGIL_SOCKET", v.sock, 1);
	cr_assert_eq(ctl_runv(NULL, argv, &out, NULL), 0);
	cr_assert(strstr(out, "web"), "%s", out);
	free(out);
	setenv("VIGIL_SOCKET", "/nonexistent/vigil.sock", 1);
	cr_assert_eq(ctl_runv(NULL, argv, NULL, NULL), 3);
	unsetenv("VIGIL_SOCKET");
}

Test(vigilctl, a_service_can_drive_vigild_through_vigil_socket)
{
	/* The service runs vigilctl with only the environment vigild gave it. */
	start_with("service caller {\n  command = \"/bin/sh -c '%s status web > %s'\"\n"
		   "  type = oneshot\n}\n",
		   vh_vigilctl(),
		   vh_path(&v, "caller.out"));
	cr_assert(api_wait_state(&v, "caller", "exited", 5000));
	cr_assert(vh_wait_lines(vh_path(&v, "caller.out"), 2, 1000));
	{
		char *s = vh_read(vh_path(&v, "caller.out"));
		cr_assert(strstr(s, "web") && strstr(s, "running"), "%s", s);
		free(s);
	}
}

Test(vigilctl, colours_on_a_terminal_unless_no_color)
{
	char cmd[512], *out = NULL;
	const char *argv[] = {"script", "-qec", cmd, "/dev/null", NULL};

	const char *pty[] = {"script", "-qec", "true", "/dev/null", NULL};

	vh_need(&v, "script", "bsdutils");
	/* A chroot without /dev/pts has no terminal to offer. */
	if (vh_run(pty, NULL, 5000) != 0)
		VH_SKIP(&v, "no pseudo-terminal here (is /dev/pts mounted?)");
	start_with(NULL);
	snprintf(cmd, sizeof(cmd), "%s -s %s status", vh_vigilctl(), v.sock);
	unsetenv("NO_COLOR");
	cr_assert_eq(vh_run(argv, &out, 10000), 0);
	cr_assert(strstr(out, "\033[32mrunning\033[0m"), "no colour on a terminal: %s", out);
	free(out);
	setenv("NO_COLOR", "1", 1);
	cr_assert_eq(vh_run(argv, &out, 10000), 0);
	cr_assert(
		strstr(out, "running") && !strchr(out, '\033'), "colour despite NO_COLOR: %s", out);
	free(out);
	unsetenv("NO_COLOR");
}

/* Without XDG_RUNTIME_DIR the socket is /tmp/vigil-UID/control.sock, and anyone may
 * create that directory first and put a socket of theirs in it: vigilctl talks to it
 * only when the directory is its user's own, mode 0700, as vigild requires. */
Test(vigilctl, a_tmp_vigil_uid_directory_someone_else_made_is_not_trusted)
{
	const char *argv[] = {"setpriv",
			      "--reuid=4243",
			      "--regid=4243",
			      "--clear-groups",
			      "env",
			      "-u",
			      "XDG_RUNTIME_DIR",
			      "-u",
			      "VIGIL_SOCKET",
			      "sh",
			      "-c",
			      "exec \"$0\" status 2>&1",
			      vh_vigilctl(),
			      NULL};
	const char *dir = "/tmp/vigil-4243";
	char *out = NULL;

	vh_need(&v, "setpriv", "util-linux");
	if (geteuid() != 0)
		VH_SKIP(&v, "needs root to act as uid 4243");
	(void)rmdir(dir);
	cr_assert_eq(mkdir(dir, 0777), 0);
	cr_assert_eq(chmod(dir, 0777), 0);
	cr_assert_eq(vh_run(argv, &out, vh_ms(10000)), 3, "%s", out);
	cr_assert(strstr(out, "not trusting /tmp/vigil-4243/control.sock"), "%s", out);
	free(out);
	cr_assert_eq(rmdir(dir), 0);
	/* Nothing there: the usual "cannot reach". */
	out = NULL;
	cr_assert_eq(vh_run(argv, &out, vh_ms(10000)), 3, "%s", out);
	cr_assert(strstr(out, "cannot reach vigild"), "%s", out);
	free(out);
}

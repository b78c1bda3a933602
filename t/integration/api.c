/* api.c: a test's side of the control API. */
#include "api.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "http.h"

int api_call(struct vh *v, const char *method, const char *target, char **body)
{
	struct http_response res;
	int r = http_request(v->sock, method, target, vh_ms(10000), &res);

	if (r < 0)
		return r;
	if (body)
		*body = res.body;
	else
		free(res.body);
	return res.status;
}

void api_wait_up(struct vh *v)
{
	long long end = vh_now_ms() + vh_ms(5000);

	while (api_call(v, "GET", "/v1/services", NULL) != 200) {
		cr_assert_lt(vh_now_ms(), end, "vigild never answered on %s", v->sock);
		vh_msleep(5);
	}
}

json_t *api_json(struct vh *v, const char *method, const char *target, int want)
{
	char *body = NULL;
	int status = api_call(v, method, target, &body);
	json_error_t err;
	json_t *j;

	cr_assert_eq(status,
		     want,
		     "%s %s: status %d, want %d: %s",
		     method,
		     target,
		     status,
		     want,
		     body ? body : "");
	j = json_loads(body, 0, &err);
	cr_assert(j, "%s %s: not JSON (%s): %s", method, target, err.text, body);
	free(body);
	return j;
}

json_t *api_field(struct vh *v, const char *name, const char *key)
{
	char target[256];
	json_t *j, *f;

	snprintf(target, sizeof(target), "/v1/services/%s", name);
	j = api_json(v, "GET", target, 200);
	f = json_incref(json_object_get(j, key));
	json_decref(j);
	return f;
}

pid_t api_pid(struct vh *v, const char *name)
{
	json_t *pid = api_field(v, name, "pid");
	pid_t p = json_is_integer(pid) ? (pid_t)json_integer_value(pid) : 0;

	json_decref(pid);
	return p;
}

bool api_wait_state(struct vh *v, const char *name, const char *state, int timeout_ms)
{
	long long end = vh_now_ms() + vh_ms(timeout_ms);

	do {
		json_t *s = api_field(v, name, "state");
		bool ok = json_is_string(s) && strcmp(json_string_value(s), state) == 0;

		json_decref(s);
		if (ok)
			return true;
		vh_msleep(10);
	} while (vh_now_ms() < end);
	return false;
}

ssize_t api_raw(const char *sock, const void *req, size_t len, char **out, int timeout_ms,
		bool *closed)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	long long end = vh_now_ms() + timeout_ms;
	size_t got = 0, cap = 65536;
	char *buf = malloc(cap);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	const char *p = req;

	*closed = false;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		free(buf);
		return -1;
	}
	/* The server may answer and close before it read everything: stop sending then. */
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		p += n;
		len -= (size_t)n;
	}
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		long long left = end - vh_now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		n = read(fd, buf + got, cap - got - 1);
		if (n <= 0) {
			*closed = true;
			break;
		}
		got += (size_t)n;
		if (cap - got < 1024)
			buf = realloc(buf, cap *= 2);
	}
	buf[got] = '\0';
	close(fd);
	*out = buf;
	return (ssize_t)got;
}

/* Reads both pipes until they close or the deadline passes. */
static void drain(int out_fd, int err_fd, char **out, char **err, long long end)
{
	char *bufs[2] = {calloc(1, 1), calloc(1, 1)};
	size_t lens[2] = {0, 0};
	struct pollfd pfd[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
	int open = 2;

	while (open > 0) {
		long long left = end - vh_now_ms();

		if (left <= 0 || poll(pfd, 2, (int)left) <= 0)
			break;
		for (int i = 0; i < 2; i++) {
			char tmp[4096];
			ssize_t n;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			n = read(pfd[i].fd, tmp, sizeof(tmp));
			if (n <= 0) {
				pfd[i].fd = -1;
				open--;
				continue;
			}
			bufs[i] = realloc(bufs[i], lens[i] + (size_t)n + 1);
			memcpy(bufs[i] + lens[i], tmp, (size_t)n);
			lens[i] += (size_t)n;
			bufs[i][lens[i]] = '\0';
		}
	}
	if (out)
		*out = bufs[0];
	else
		free(bufs[0]);
	if (err)
		*err = bufs[1];
	else
		free(bufs[1]);
}

int ctl_runv(const char *const *prefix, const char *const *argv, char **out, char **err)
{
	const char *full[64];
	int po[2], pe[2], status;
	long long end = vh_now_ms() + vh_ms(20000);
	size_t n = 0;
	pid_t pid;

	for (; prefix && *prefix && n < 30; prefix++)
		full[n++] = *prefix;
	for (; *argv && n < 62; argv++)
		full[n++] = *argv;
	full[n] = NULL;
	cr_assert(pipe2(po, O_CLOEXEC) == 0 && pipe2(pe, O_CLOEXEC) == 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		sigset_t none;
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execvp(full[0], (char **)full);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	drain(po[0], pe[0], out, err, end);
	close(po[0]);
	close(pe[0]);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (vh_now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		vh_msleep(2);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int ctl_run(struct vh *v, char **out, char **err, ...)
{
	const char *argv[48];
	size_t n = 0;
	va_list ap;

	argv[n++] = vh_vigilctl();
	if (v) {
		argv[n++] = "-s";
		argv[n++] = v->sock;
	}
	va_start(ap, err);
	for (const char *a; (a = va_arg(ap, const char *)) && n < 47;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return ctl_runv(NULL, argv, out, err);
}

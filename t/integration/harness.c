/* harness.c: a real vigild per test, in its own temp dir. */
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

long long vh_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void vh_msleep(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static const char *builddir(void)
{
	const char *d = getenv("VIGIL_BUILDDIR");
	return d ? d : ".";
}

const char *vh_helper(void)
{
	static char p[512];
	snprintf(p, sizeof(p), "%s/t/helper/vigil-helper", builddir());
	return p;
}

const char *vh_vigild(void)
{
	static char p[512];
	snprintf(p, sizeof(p), "%s/vigild", builddir());
	return p;
}

const char *vh_vigilctl(void)
{
	static char p[512];
	snprintf(p, sizeof(p), "%s/vigilctl", builddir());
	return p;
}

void vh_init(struct vh *v)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->dir, sizeof(v->dir), "/tmp/vigil-test.XXXXXX");
	cr_assert(mkdtemp(v->dir), "mkdtemp: %s", strerror(errno));
	snprintf(v->conf, sizeof(v->conf), "%s/vigil.conf", v->dir);
	snprintf(v->log, sizeof(v->log), "%s/vigild.log", v->dir);
	snprintf(v->sock, sizeof(v->sock), "%s/control.sock", v->dir);
}

const char *vh_path(struct vh *v, const char *name)
{
	static char ring[16][256];
	static unsigned next;
	char *p = ring[next++ % 16];

	snprintf(p, 256, "%s/%s", v->dir, name);
	return p;
}

void vh_write(struct vh *v, const char *name, const char *fmt, ...)
{
	va_list ap;
	FILE *f = fopen(vh_path(v, name), "w");

	cr_assert(f, "cannot write %s: %s", name, strerror(errno));
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

/* Under VIGIL_VALGRIND=1 (make check-valgrind) vigild runs under memcheck: the
 * exit code it gives on a report, which vh_cleanup() looks for. */
#define VH_VALGRIND_EXIT      88
#define VH_STR(x)             #x
#define VH_EXITCODE_OPTION(x) "--error-exitcode=" VH_STR(x)

bool vh_valgrind(void)
{
	const char *e = getenv("VIGIL_VALGRIND");
	return e && strcmp(e, "1") == 0;
}

void vh_need(struct vh *v, const char *program, const char *package)
{
	char cmd[128];
	const char *argv[] = {"sh", "-c", cmd, NULL};
	const char *ci = getenv("CI");

	snprintf(cmd, sizeof(cmd), "command -v %s", program);
	if (vh_run(argv, NULL, 5000) == 0)
		return;
	cr_assert(!ci || strcmp(ci, "true") != 0,
		  "%s is not installed: ./build.sh check must install the Debian package %s",
		  program,
		  package);
	VH_SKIP(v, "%s is not installed (Debian package %s)", program, package);
}

void vh_need_pid_namespace(struct vh *v)
{
	const char *probe[] = {"unshare", "--fork", "--pid", "true", NULL};

	vh_need(v, "unshare", "util-linux");
	if (vh_run(probe, NULL, 10000) != 0)
		VH_SKIP(v, "unshare --fork --pid is refused on this machine");
}

int vh_ms(int ms)
{
	const char *e = getenv("VIGIL_TIMEOUT_SCALE");
	double f = e ? atof(e) : 0;

	return f > 1 ? (int)(ms * f) : ms;
}

/* Puts memcheck before vigild in @argv (into @out, at most @size entries), after
 * whatever wrapper starts it (unshare, setpriv, a shell's exec): the pid stays
 * vigild's, as valgrind runs the program in its own process. Child processes are
 * not traced (their execve runs natively); between its fork and execve a child runs
 * under memcheck (spawn.c: the clone becomes a plain fork) and is kept silent. */
static const char *const *valgrind_argv(const char *const *argv, const char **out, size_t size)
{
	static char supp[600];
	const char *srcdir = getenv("VIGIL_SRCDIR");
	size_t n = 0, at = 0;

	while (argv[at] && strcmp(argv[at], vh_vigild()) != 0)
		at++;
	if (!vh_valgrind() || !argv[at])
		return argv;
	for (size_t i = 0; i < at && n < size - 1; i++)
		out[n++] = argv[i];
	snprintf(supp,
		 sizeof(supp),
		 "--suppressions=%s/t/valgrind/vigild.supp",
		 srcdir ? srcdir : ".");
	out[n++] = "valgrind";
	out[n++] = "--tool=memcheck";
	out[n++] = "--quiet";
	out[n++] = VH_EXITCODE_OPTION(VH_VALGRIND_EXIT);
	out[n++] = "--leak-check=full";
	out[n++] = "--show-leak-kinds=definite";
	out[n++] = "--errors-for-leak-kinds=definite";
	out[n++] = "--child-silent-after-fork=yes";
	out[n++] = "--num-callers=30";
	out[n++] = supp;
	for (argv += at; *argv && n < size - 1; argv++)
		out[n++] = *argv;
	out[n] = NULL;
	return out;
}

/* What ends the process @argv starts: SIGTERM (vigild then stops its services), but
 * SIGKILL for `unshare --fork`, which stays vigild's parent and blocks SIGTERM while
 * it waits (its --kill-child then takes the pid namespace along). A wrapper that
 * executes vigild in place (`unshare -m`, setpriv, a shell's exec) leaves SIGTERM
 * to reach vigild itself. */
static int stop_signal_of(const char *const *argv)
{
	if (strcmp(argv[0], "unshare") != 0)
		return SIGTERM;
	for (const char *const *a = argv + 1; *a && strcmp(*a, vh_vigild()) != 0; a++)
		if (strcmp(*a, "--fork") == 0 || strcmp(*a, "-f") == 0)
			return SIGKILL;
	return SIGTERM;
}

static void start(struct vh *v, const char *const *argv, int stdout_fd)
{
	const char *vg[96];
	pid_t pid;

	argv = valgrind_argv(argv, vg, sizeof(vg) / sizeof(vg[0]));
	v->stop_signal = stop_signal_of(argv);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fd = open(v->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		sigset_t none;

		if (fd < 0)
			_exit(120);
		dup2(stdout_fd >= 0 ? stdout_fd : fd, 1);
		dup2(fd, 2);
		/* The test worker may die on a failed assertion, or by Criterion's
		 * timeout without running .fini: take vigild along. */
		prctl(PR_SET_PDEATHSIG, v->stop_signal);
		setenv("VIGIL_TEST_TAG", v->dir, 1);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* vigild starts with fds 0-2 only, as from a service manager: nothing of
		 * the test worker's (the fault tests count vigild's fds). */
		close_range(3, ~0U, 0);
		execvp(argv[0], (char **)argv);
		_exit(121);
	}
	v->pid = pid;
	v->exited = false;
}

void vh_start_program(struct vh *v, const char *const *argv)
{
	start(v, argv, -1);
}

void vh_start_program_stdout(struct vh *v, const char *const *argv, int stdout_fd)
{
	start(v, argv, stdout_fd);
}

void vh_start_args(struct vh *v, const char *const *args)
{
	const char *argv[64];
	size_t n = 0;
	bool has_socket = false;

	for (const char *const *a = args; a && *a && strcmp(*a, "--") != 0; a++)
		has_socket |= strcmp(*a, "-s") == 0;
	argv[n++] = vh_vigild();
	/* Tests run in parallel: each vigild gets its own control socket, never the
	 * default one. */
	if (!has_socket) {
		argv[n++] = "-s";
		argv[n++] = v->sock;
	}
	for (; args && *args && n < 62; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	vh_start_program(v, argv);
}

void vh_start(struct vh *v)
{
	const char *const none[] = {NULL};

	vh_start_under(v, none, NULL);
}

void vh_start_under(struct vh *v, const char *const *wrapper, const char *const *tail)
{
	const char *const own[] = {
		vh_vigild(), "-c", v->conf, "-s", v->sock, "--log-level", "debug", NULL};
	const char *const *parts[] = {wrapper, own, tail};
	const char *argv[64];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		for (const char *const *a = parts[i]; a && *a; a++) {
			cr_assert_lt(n + 1, sizeof(argv) / sizeof(argv[0]), "too many arguments");
			argv[n++] = *a;
		}
	argv[n] = NULL;
	vh_start_program(v, argv);
}

char *vh_read(const char *path)
{
	/* Read to EOF rather than trust the size: /proc files say they are empty. */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, cap = 4096;
	char *buf;

	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	for (;;) {
		ssize_t n;

		if (cap - len < 2048)
			buf = realloc(buf, cap *= 2);
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

long vh_read_long(const char *path)
{
	char *s = vh_read(path);
	long n = s && *s ? atol(s) : -1;

	free(s);
	return n;
}

long vh_wait_long(struct vh *v, const char *name, int timeout_ms)
{
	const char *path = vh_path(v, name);

	cr_assert(vh_wait_lines(path, 1, timeout_ms), "%s never got a line", path);
	return vh_read_long(path);
}

static int count_in(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; hay && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

int vh_count_log(struct vh *v, const char *needle)
{
	char *s = vh_read(v->log);
	int n = count_in(s, needle);

	free(s);
	return n;
}

bool vh_wait_log(struct vh *v, const char *needle, int count, int timeout_ms)
{
	long long end = vh_now_ms() + vh_ms(timeout_ms);

	do {
		if (vh_count_log(v, needle) >= count)
			return true;
		vh_msleep(5);
	} while (vh_now_ms() < end);
	return false;
}

int vh_count_lines_in(const char *text)
{
	int n = 0;

	for (const char *p = text; p && (p = strchr(p, '\n')); p++)
		n++;
	return n;
}

int vh_count_lines(const char *path)
{
	char *s = vh_read(path);
	int n = vh_count_lines_in(s);

	free(s);
	return n;
}

bool vh_wait_lines(const char *path, int lines, int timeout_ms)
{
	long long end = vh_now_ms() + vh_ms(timeout_ms);

	do {
		if (vh_count_lines(path) >= lines)
			return true;
		vh_msleep(5);
	} while (vh_now_ms() < end);
	return false;
}

int vh_wait_exit(struct vh *v, int timeout_ms)
{
	long long end = vh_now_ms() + vh_ms(timeout_ms);

	if (!v->exited) {
		for (;;) {
			pid_t r = waitpid(v->pid, &v->status, WNOHANG);
			if (r == v->pid)
				break;
			if (vh_now_ms() >= end)
				return -1;
			vh_msleep(5);
		}
		v->exited = true;
	}
	return WIFEXITED(v->status) ? WEXITSTATUS(v->status) : 128 + WTERMSIG(v->status);
}

pid_t vh_ppid(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	int ppid = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

bool vh_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* Kills every process whose environment carries this test's tag. */
static void kill_tagged(const char *tag)
{
	char want[256];
	size_t wlen = (size_t)snprintf(want, sizeof(want), "VIGIL_TEST_TAG=%s", tag) + 1;
	DIR *d = opendir("/proc");
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char path[300], env[16384];
		ssize_t n;
		int fd;

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || atoi(de->d_name) == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%s/environ", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, env, sizeof(env));
		close(fd);
		for (ssize_t i = 0; i + (ssize_t)wlen <= n; i += (ssize_t)strlen(env + i) + 1)
			if (memcmp(env + i, want, wlen) == 0) {
				kill(atoi(de->d_name), SIGKILL);
				break;
			}
	}
	if (d)
		closedir(d);
}

/* True when @log holds a line of memcheck's (`==PID== `) other than a warning: an
 * error, or a leak record at exit (--quiet leaves out the summaries). */
static bool valgrind_report(const char *log)
{
	for (const char *p = log; (p = strstr(p, "==")); p += 2) {
		const char *q = p + 2;

		if (p != log && p[-1] != '\n')
			continue;
		while (*q >= '0' && *q <= '9')
			q++;
		if (q == p + 2 || strncmp(q, "== ", 3) != 0)
			continue;
		q += 3;
		if (*q != '\n' && *q != ' ')
			return true;
	}
	return false;
}

void vh_cleanup(struct vh *v)
{
	const char *argv[] = {"rm", "-rf", v->dir, NULL};

	int code = 0;

	if (!v->dir[0])
		return;
	if (v->pid > 0 && !v->exited) {
		kill(v->pid, v->stop_signal);
		code = vh_wait_exit(v, 10000); /* scaled by vh_ms() */
		if (code < 0) {
			kill(v->pid, SIGKILL);
			vh_wait_exit(v, 5000);
		}
	} else if (v->pid > 0)
		code = vh_wait_exit(v, 0);
	kill_tagged(v->dir);
	/* Under check-sanitize a report fails the test that provoked it (the exit codes
	 * are the ones AM_TESTS_ENVIRONMENT gives ASan and UBSan), and so does one of
	 * memcheck under check-valgrind. */
	{
		char *log = vh_read(v->log);
		bool report = log && (strstr(log, "ERROR: AddressSanitizer") ||
				      strstr(log, "ERROR: LeakSanitizer") ||
				      strstr(log, "runtime error:"));
		bool memcheck = log && valgrind_report(log);

		cr_expect(!report && code != 86 && code != 87,
			  "sanitizer report in %s:\n%s",
			  v->log,
			  log ? log : "");
		cr_expect(!memcheck && code != VH_VALGRIND_EXIT,
			  "memcheck report in %s:\n%s",
			  v->log,
			  log ? log : "");
		free(log);
	}
	vh_run(argv, NULL, 10000);
	v->dir[0] = '\0';
}

int vh_run(const char *const *argv, char **out, int timeout_ms)
{
	int pfd[2], status;
	long long end = vh_now_ms() + timeout_ms;
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	pid_t pid;

	cr_assert(pipe2(pfd, O_CLOEXEC) == 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		sigset_t none;
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(pfd[1], 1);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execvp(argv[0], (char **)argv);
		_exit(127);
	}
	close(pfd[1]);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	for (;;) {
		ssize_t n = read(pfd[0], buf + len, cap - len - 1);
		if (n > 0) {
			len += (size_t)n;
			if (cap - len < 1024)
				buf = realloc(buf, cap *= 2);
			continue;
		}
		if (n == 0)
			break;
		if (vh_now_ms() >= end) {
			kill(pid, SIGKILL);
			break;
		}
		vh_msleep(2);
	}
	close(pfd[0]);
	buf[len] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int vh_free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0);
	cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	cr_assert(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	close(fd);
	return ntohs(sa.sin_port);
}

bool vh_wait_dead(pid_t pid, int timeout_ms)
{
	long long end = vh_now_ms() + vh_ms(timeout_ms);

	do {
		if (!vh_alive(pid))
			return true;
		vh_msleep(5);
	} while (vh_now_ms() < end);
	return false;
}

bool vh_wait_reaped(pid_t pid, int timeout_ms)
{
	long long end = vh_now_ms() + vh_ms(timeout_ms);

	do {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return true;
		vh_msleep(5);
	} while (vh_now_ms() < end);
	return false;
}

long vh_log_offset(struct vh *v, const char *needle)
{
	char *s = vh_read(v->log);
	char *p = s ? strstr(s, needle) : NULL;
	long off = p ? (long)(p - s) : -1;

	free(s);
	return off;
}

void vh_expect_log_order(struct vh *v, const char *first, const char *then)
{
	long a = vh_log_offset(v, first), b = vh_log_offset(v, then);

	cr_assert(a >= 0 && b >= 0 && a < b,
		  "'%s' (at %ld) must come before '%s' (at %ld):\n%s",
		  first,
		  a,
		  then,
		  b,
		  vh_read(v->log));
}

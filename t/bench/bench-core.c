/* bench-core: the figures of the foundation (restart latency, start-up, memory, idle
 * wakeups, crash-loop CPU), measured on the real vigild and printed, never asserted.
 *
 *   bench-core restart [N]        kill -9 → exec'd again, against a bare fork+exec
 *   bench-core start [M] [R]      start M services until all have exec'd
 *   bench-core pss [M]            vigild's PSS and fds with M sleeping services
 *   bench-core idle [M] [S]       vigild's wakeups per second with M idle services
 *   bench-core crashloop [S]      vigild CPU per restart of a crash-looping service
 *
 * VIGILD (default ./vigild) and STAMP (default ./t/bench/stamp) name the binaries. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64], fifo[128], conf[128];
static const char *vigild, *stamp;
static int fifo_fd = -1;
static pid_t daemon_pid;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

static double median_us(long long *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_ll);
	return n % 2 ? v[n / 2] / 1e3 : (v[n / 2 - 1] + v[n / 2]) / 2e3;
}

/* Reads one "PID NS" line from the fifo (blocking). */
static void read_stamp(int *pid, long long *ns)
{
	static char buf[65536];
	static size_t len;
	char *nl;

	while (!(nl = memchr(buf, '\n', len))) {
		ssize_t n = read(fifo_fd, buf + len, sizeof(buf) - len);
		if (n <= 0) {
			perror("read fifo");
			exit(1);
		}
		len += (size_t)n;
	}
	*nl = '\0';
	if (sscanf(buf, "%d %lld", pid, ns) != 2) {
		fprintf(stderr, "bad stamp '%s'\n", buf);
		exit(1);
	}
	len -= (size_t)(nl + 1 - buf);
	memmove(buf, nl + 1, len);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/vigil-bench.XXXXXX");
	if (!mkdtemp(dir))
		exit(1);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(conf, sizeof(conf), "%s/vigil.conf", dir);
	if (mkfifo(fifo, 0600) < 0)
		exit(1);
	/* Read and write: writers never block on open, reads wait for data. */
	fifo_fd = open(fifo, O_RDWR | O_CLOEXEC);
	vigild = getenv("VIGILD") ? getenv("VIGILD") : "./vigild";
	stamp = getenv("STAMP") ? getenv("STAMP") : "./t/bench/stamp";
}

static void write_services(int m, const char *extra, const char *mode)
{
	FILE *f = fopen(conf, "w");

	fprintf(f, "control-socket = \"%s/control.sock\"\nlog-forward = no\n", dir);
	for (int i = 0; i < m; i++)
		fprintf(f,
			"service s%d {\n  command = \"%s %s %s\"\n%s}\n",
			i,
			stamp,
			fifo,
			mode,
			extra);
	fclose(f);
}

static void start_daemon(void)
{
	daemon_pid = fork();
	if (daemon_pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execl(vigild, vigild, "-c", conf, "--log-level", "error", (char *)NULL);
		_exit(127);
	}
}

static void stop_daemon(void)
{
	int st;

	if (daemon_pid <= 0)
		return;
	kill(daemon_pid, SIGTERM);
	waitpid(daemon_pid, &st, 0);
	daemon_pid = 0;
}

static void cleanup(void)
{
	char cmd[128];

	stop_daemon();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static long long cpu_ns(pid_t pid)
{
	char path[64];
	long long ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%lld", &ns) != 1)
			ns = 0;
		fclose(f);
	}
	return ns;
}

static long status_field(pid_t pid, const char *name)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, name, strlen(name)) == 0)
			v = atol(line + strlen(name) + 1);
	if (f)
		fclose(f);
	return v;
}

static long pss_kib(pid_t pid)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "Pss:", 4) == 0)
			v = atol(line + 4);
	if (f)
		fclose(f);
	return v;
}

static int count_fds(pid_t pid)
{
	char cmd[128];
	int n = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls /proc/%d/fd | wc -l", (int)pid);
	p = popen(cmd, "r");
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

static void bench_restart(int n)
{
	long long *bare = calloc((size_t)n, sizeof(long long));
	long long *sup = calloc((size_t)n, sizeof(long long));
	int pid;
	long long t;

	/* The reference: fork+exec of the same program from a small parent. */
	for (int i = 0; i < n; i++) {
		long long t0 = now_ns();
		pid_t p = fork();
		if (p == 0) {
			execl(stamp, stamp, fifo, (char *)NULL);
			_exit(127);
		}
		read_stamp(&pid, &t);
		bare[i] = t - t0;
		waitpid(p, NULL, 0);
	}
	write_services(1, "  restart-delay = 0s\n  restart-jitter = 0%\n", "pause");
	start_daemon();
	read_stamp(&pid, &t);
	for (int i = 0; i < n; i++) {
		long long t0 = now_ns();
		kill(pid, SIGKILL);
		read_stamp(&pid, &t);
		sup[i] = t - t0;
	}
	stop_daemon();
	{
		double b = median_us(bare, n), s = median_us(sup, n);
		printf("restart latency (kill -9 -> exec'd), median of %d:\n", n);
		printf("  bare fork+exec      %8.1f us\n", b);
		printf("  vigild restart      %8.1f us   (%.2f x bare; target <= 1.5 x)\n",
		       s,
		       s / b);
	}
	free(bare);
	free(sup);
}

static void bench_start(int m, int rounds)
{
	long long *t = calloc((size_t)rounds, sizeof(long long));

	write_services(m, "", "pause");
	for (int r = 0; r < rounds; r++) {
		long long t0 = now_ns(), last = 0;
		int pid;
		long long ns;

		start_daemon();
		for (int i = 0; i < m; i++) {
			read_stamp(&pid, &ns);
			if (ns > last)
				last = ns;
		}
		t[r] = last - t0;
		stop_daemon();
	}
	printf("start %d services until all exec'd, median of %d: %.1f ms (target <= 50 ms)\n",
	       m,
	       rounds,
	       median_us(t, rounds) / 1e3);
	free(t);
}

static void wait_started(int m)
{
	int pid;
	long long ns;

	for (int i = 0; i < m; i++)
		read_stamp(&pid, &ns);
	usleep(300000); /* let the last transitions settle before measuring */
}

static void bench_pss(int m)
{
	write_services(m, "", "pause");
	start_daemon();
	wait_started(m);
	printf("vigild with %d sleeping services: PSS %.2f MiB, RSS %.2f MiB, %d fds\n"
	       "  (target PSS <= 8 MiB)\n",
	       m,
	       pss_kib(daemon_pid) / 1024.0,
	       status_field(daemon_pid, "VmRSS") / 1024.0,
	       count_fds(daemon_pid));
	stop_daemon();
}

static void bench_idle(int m, int seconds)
{
	long v0, n0, v1, n1;

	write_services(m, "", "pause");
	start_daemon();
	wait_started(m);
	v0 = status_field(daemon_pid, "voluntary_ctxt_switches");
	n0 = status_field(daemon_pid, "nonvoluntary_ctxt_switches");
	sleep((unsigned)seconds);
	v1 = status_field(daemon_pid, "voluntary_ctxt_switches");
	n1 = status_field(daemon_pid, "nonvoluntary_ctxt_switches");
	printf("idle with %d services over %d s: %.2f wakeups/s (target 0)\n",
	       m,
	       seconds,
	       (double)(v1 - v0 + n1 - n0) / seconds);
	stop_daemon();
}

static void bench_crashloop(int seconds)
{
	long long c0, c1, end;
	int pid, restarts = 0;
	long long ns;

	write_services(1, "  restart-delay = 0s\n  restart-jitter = 0%\n", "fail");
	start_daemon();
	read_stamp(&pid, &ns);
	c0 = cpu_ns(daemon_pid);
	end = now_ns() + (long long)seconds * 1000000000LL;
	while (now_ns() < end) {
		read_stamp(&pid, &ns);
		restarts++;
	}
	c1 = cpu_ns(daemon_pid);
	printf("crash loop over %d s: %d restarts, vigild CPU %.3f ms per restart\n"
	       "  (target <= 0.3 ms)\n",
	       seconds,
	       restarts,
	       (double)(c1 - c0) / 1e6 / restarts);
	stop_daemon();
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	int a = argc > 2 ? atoi(argv[2]) : 0, b = argc > 3 ? atoi(argv[3]) : 0;

	setup();
	atexit(cleanup);
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(what, "restart") || !strcmp(what, "all"))
		bench_restart(a ? a : 500);
	if (!strcmp(what, "start") || !strcmp(what, "all"))
		bench_start(a ? a : 100, b ? b : 11);
	if (!strcmp(what, "pss") || !strcmp(what, "all"))
		bench_pss(a ? a : 1000);
	if (!strcmp(what, "idle") || !strcmp(what, "all"))
		bench_idle(a ? a : 100, b ? b : 10);
	if (!strcmp(what, "crashloop") || !strcmp(what, "all"))
		bench_crashloop(a ? a : 5);
	return 0;
}

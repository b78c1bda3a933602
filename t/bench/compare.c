/* compare: vigil measured beside the supervisors a user would otherwise pick, in one
 * run on one machine (runit, s6, supervisord from Debian; tini and dumb-init for the
 * container-init row). Prints one table: the median of each figure per supervisor
 * and vigil's ratio to the best peer. Run by hand (t/bench/run); nothing asserts.
 *
 * Every supervisor runs the same program, t/bench/stamp, which writes its pid and
 * start time to a fifo: restart latency is kill -9 -> the new process has started.
 * Memory, CPU and wakeups are summed over the supervisor's own processes (every
 * descendant of its root that is not a service).
 *
 * `compare PEER` measures vigil and that peer only; `compare init` the `-- true` row
 * alone (vigil, tini and dumb-init, one run of each in turn).
 *
 * Environment: VIGILD, VIGILCTL, STAMP name our binaries (defaults: the build dir);
 * BENCH_QUICK=1 takes fewer samples. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS 4096

static char dir[64], fifo[128];
static const char *vigild, *vigilctl, *stamp;
static int fifo_fd = -1;
static bool quick;

/* ---- small tools ---- */

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void msleep(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	if (n <= 0)
		return -1;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void run_shell(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fprintf(stderr, "compare: '%s' failed\n", cmd);
}

/* Reads one "PID NS" line from the fifo; -1 on timeout. */
static int read_stamp(int *pid, long long *ns, int timeout_ms)
{
	static char buf[1 << 16];
	static size_t len;
	long long end = now_ns() + (long long)timeout_ms * 1000000;
	char *nl;

	while (!(nl = memchr(buf, '\n', len))) {
		ssize_t n = read(fifo_fd, buf + len, sizeof(buf) - len);
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		if (now_ns() > end)
			return -1;
		msleep(1);
	}
	*nl = '\0';
	if (sscanf(buf, "%d %lld", pid, ns) != 2)
		die("bad stamp '%s'", buf);
	len -= (size_t)(nl + 1 - buf);
	memmove(buf, nl + 1, len);
	return 0;
}

static void drain_stamps(void)
{
	int pid;
	long long ns;

	while (read_stamp(&pid, &ns, 0) == 0)
		;
}

/* ---- /proc ---- */

struct proc {
	pid_t pid, ppid;
	char comm[32];
};

static int scan_procs(struct proc *procs)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)) && n < MAX_PROCS) {
		char path[300], buf[512], *l, *r;
		FILE *f;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (l = strchr(buf, '(')) &&
		    (r = strrchr(buf, ')'))) {
			procs[n].pid = atoi(de->d_name);
			snprintf(procs[n].comm,
				 sizeof(procs[n].comm),
				 "%.*s",
				 (int)(r - l - 1),
				 l + 1);
			procs[n].ppid = atoi(r + 4);
			n++;
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

/* The supervisor's own processes: @root and its descendants that are not the
 * service program. Returns how many were written to @out. */
static int supervisor_pids(pid_t root, pid_t *out)
{
	static struct proc procs[MAX_PROCS];
	int n = scan_procs(procs), k = 0;
	bool changed = true;

	out[k++] = root;
	/* Fixpoint over the parent links: a few passes cover any depth. */
	while (changed) {
		changed = false;
		for (int i = 0; i < n; i++) {
			bool parent_in = false, self_in = false;
			for (int j = 0; j < k; j++) {
				parent_in |= out[j] == procs[i].ppid;
				self_in |= out[j] == procs[i].pid;
			}
			if (parent_in && !self_in && strcmp(procs[i].comm, "stamp") != 0 &&
			    k < MAX_PROCS) {
				out[k++] = procs[i].pid;
				changed = true;
			}
		}
	}
	return k;
}

static long read_kib(pid_t pid, const char *file, const char *field)
{
	char path[64], line[256];
	long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0)
			v = atol(line + strlen(field) + 1);
	if (f)
		fclose(f);
	return v;
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

struct usage {
	double pss_mib;
	long long cpu_ns, switches;
	int procs;
};

static struct usage measure(pid_t root)
{
	static pid_t pids[MAX_PROCS];
	struct usage u = {0};
	int n = supervisor_pids(root, pids);

	u.procs = n;
	for (int i = 0; i < n; i++) {
		u.pss_mib += read_kib(pids[i], "smaps_rollup", "Pss:") / 1024.0;
		u.cpu_ns += cpu_ns(pids[i]);
		u.switches += read_kib(pids[i], "status", "voluntary_ctxt_switches:") +
			      read_kib(pids[i], "status", "nonvoluntary_ctxt_switches:");
	}
	return u;
}

/* Kills every process that carries this run's tag (the services left behind). */
static void kill_tagged(void)
{
	char want[128];
	size_t wlen = (size_t)snprintf(want, sizeof(want), "STAMP_TAG=%s", dir) + 1;
	DIR *d = opendir("/proc");
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char path[300], env[16384];
		ssize_t n;
		int fd;

		if (!isdigit((unsigned char)de->d_name[0]) || atoi(de->d_name) == getpid())
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

/* ---- the supervisors ---- */

enum mode { MODE_PAUSE, MODE_FAIL };

struct supervisor {
	const char *name;
	const char *binary; /* to tell whether it is installed */
	/* Writes the configuration for @n services running stamp in @mode, restarting
	 * as fast as the supervisor allows. */
	void (*prepare)(int n, enum mode mode);
	/* Starts it; returns the root pid. */
	pid_t (*start)(void);
	void (*stop)(pid_t root);
	int restart_gap_ms; /* the pause its own rules need between two restarts */
	pid_t root;
};

static const char *mode_name(enum mode m)
{
	return m == MODE_PAUSE ? "pause" : "fail";
}

static pid_t spawn_quiet(const char *const argv[], const char *cwd)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		setsid();
		if (cwd && chdir(cwd) < 0)
			_exit(126);
		execvp(argv[0], (char **)argv);
		_exit(127);
	}
	return pid;
}

static void wait_gone(pid_t pid, int timeout_ms)
{
	long long end = now_ns() + (long long)timeout_ms * 1000000;

	while (now_ns() < end) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		msleep(5);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* vigil */
static void vigil_prepare(int n, enum mode mode)
{
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/vigil.conf", dir);
	f = fopen(path, "w");
	fprintf(f, "control-socket = \"%s/vigil.sock\"\nlog-forward = no\n", dir);
	for (int i = 0; i < n; i++)
		fprintf(f,
			"service s%d {\n  command = \"%s %s %s\"\n  restart-delay = 0s\n"
			"  restart-jitter = 0%%\n}\n",
			i,
			stamp,
			fifo,
			mode_name(mode));
	fclose(f);
}

static pid_t vigil_start(void)
{
	unsetenv("STAMP_MODE"); /* vigil passes the mode as an argument */
	char conf[160];
	const char *argv[] = {vigild, "-c", conf, "--log-level", "error", NULL};

	snprintf(conf, sizeof(conf), "%s/vigil.conf", dir);
	return spawn_quiet(argv, dir);
}

static void signal_stop(pid_t root)
{
	kill(root, SIGTERM);
	wait_gone(root, 30000);
}

/* runit: runsvdir over one directory per service, ./run being stamp itself */
static void service_dirs(const char *top, int n)
{
	run_shell("rm -rf %s/%s && mkdir -p %s/%s", dir, top, dir, top);
	for (int i = 0; i < n; i++) {
		char d[256], run[300];
		snprintf(d, sizeof(d), "%s/%s/s%d", dir, top, i);
		mkdir(d, 0755);
		snprintf(run, sizeof(run), "%s/run", d);
		if (symlink(stamp, run) < 0)
			die("symlink %s: %s", run, strerror(errno));
	}
}

static void runit_prepare(int n, enum mode mode)
{
	service_dirs("runit", n);
	setenv("STAMP_MODE", mode_name(mode), 1);
}

static pid_t runit_start(void)
{
	char d[160];
	const char *argv[] = {"runsvdir", d, NULL};

	snprintf(d, sizeof(d), "%s/runit", dir);
	return spawn_quiet(argv, NULL);
}

static void runit_stop(pid_t root)
{
	/* SIGHUP: runsvdir stops every runsv, which stops its service. */
	kill(root, SIGHUP);
	wait_gone(root, 30000);
}

/* s6: s6-svscan over the same layout */
static void s6_prepare(int n, enum mode mode)
{
	service_dirs("s6", n);
	setenv("STAMP_MODE", mode_name(mode), 1);
}

static pid_t s6_start(void)
{
	char d[160];
	/* -c: room for more than the default 500 services. */
	const char *argv[] = {"s6-svscan", "-c", "4096", d, NULL};

	snprintf(d, sizeof(d), "%s/s6", dir);
	return spawn_quiet(argv, NULL);
}

static void s6_stop(pid_t root)
{
	run_shell("s6-svscanctl -t %s/s6 2>/dev/null", dir);
	wait_gone(root, 30000);
}

/* supervisord */
static void supervisord_prepare(int n, enum mode mode)
{
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/supervisord.conf", dir);
	f = fopen(path, "w");
	fprintf(f,
		"[supervisord]\nnodaemon=true\nlogfile=/dev/null\nlogfile_maxbytes=0\n"
		"pidfile=%s/supervisord.pid\n\n"
		"[unix_http_server]\nfile=%s/supervisor.sock\n\n"
		"[rpcinterface:supervisor]\n"
		"supervisor.rpcinterface_factory = "
		"supervisor.rpcinterface:make_main_rpcinterface\n\n"
		"[supervisorctl]\nserverurl=unix://%s/supervisor.sock\n\n",
		dir,
		dir,
		dir);
	for (int i = 0; i < n; i++)
		fprintf(f,
			"[program:s%d]\ncommand=%s %s %s\nautorestart=true\nstartsecs=0\n"
			"startretries=1000000\nstdout_logfile=NONE\nstderr_logfile=NONE\n\n",
			i,
			stamp,
			fifo,
			mode_name(mode));
	fclose(f);
}

static pid_t supervisord_start(void)
{
	char conf[160];
	const char *argv[] = {"supervisord", "-c", conf, NULL};

	snprintf(conf, sizeof(conf), "%s/supervisord.conf", dir);
	return spawn_quiet(argv, NULL);
}

static struct supervisor supervisors[] = {
	{"vigil", NULL, vigil_prepare, vigil_start, signal_stop, 0, 0},
	{"runit", "runsvdir", runit_prepare, runit_start, runit_stop, 1100, 0},
	{"s6", "s6-svscan", s6_prepare, s6_start, s6_stop, 1100, 0},
	{"supervisord", "supervisord", supervisord_prepare, supervisord_start, signal_stop, 0, 0},
};
#define N_SUP ((int)(sizeof(supervisors) / sizeof(supervisors[0])))

static bool installed(const char *binary)
{
	char cmd[256];

	if (!binary)
		return true;
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", binary);
	return system(cmd) == 0;
}

static void stop(struct supervisor *s)
{
	if (s->root > 0)
		s->stop(s->root);
	s->root = 0;
	kill_tagged();
	drain_stamps();
}

static int last_pid; /* the service that wrote the last stamp start_all() read */

/* Starts @n services and waits until all have run; false on timeout. */
static bool start_all(struct supervisor *s, int n, enum mode mode, long long *ret_ns)
{
	long long t0, last = 0, ns;
	int pid = 0;

	s->prepare(n, mode);
	drain_stamps();
	t0 = now_ns();
	s->root = s->start();
	for (int i = 0; i < n; i++) {
		if (read_stamp(&pid, &ns, 30000) < 0)
			return false;
		if (ns > last)
			last = ns;
	}
	last_pid = pid;
	if (ret_ns)
		*ret_ns = last - t0;
	return true;
}

/* ---- the figures ---- */

#define N_ROWS   10
#define ROW_LOGS 8 /* a supervisor's log writer against the others */
#define ROW_INIT 9 /* vigil against tini and dumb-init only */
static const char *row_names[N_ROWS] = {
	"restart latency (ms)",
	"start 100 services (ms)",
	"PSS, 1 service (MiB)",
	"PSS, 100 services (MiB)",
	"PSS, 1000 services (MiB)",
	"idle wakeups/s, 100 svc",
	"crash-loop CPU/restart (ms)",
	"status, 100 svc (ms)",
	"log 256 MiB to a file (s)",
	"-- true overhead (ms)",
};
static double cat_seconds = -1;         /* the same writer into `cat > file` */
static double table[N_ROWS][N_SUP + 2]; /* + tini, dumb-init */
static const char *columns[N_SUP + 2];

static void bench_restart(int col, struct supervisor *s)
{
	int n = quick ? 7 : (s->restart_gap_ms ? 21 : 201), pid, k = 0;
	double *v = calloc((size_t)n, sizeof(double));
	long long ns;

	if (!start_all(s, 1, MODE_PAUSE, NULL))
		goto out;
	pid = last_pid;
	for (; k < n && pid > 0; k++) {
		long long t0;

		if (s->restart_gap_ms)
			msleep(s->restart_gap_ms);
		t0 = now_ns();
		kill(pid, SIGKILL);
		if (read_stamp(&pid, &ns, 5000) < 0)
			break;
		v[k] = (ns - t0) / 1e6;
	}
out:
	table[0][col] = median(v, k);
	stop(s);
	free(v);
}

static void bench_start(int col, struct supervisor *s)
{
	int n = quick ? 3 : 7, k = 0;
	double v[16];

	for (int r = 0; r < n; r++) {
		long long ns;
		bool ok = start_all(s, 100, MODE_PAUSE, &ns);
		stop(s);
		if (ok)
			v[k++] = ns / 1e6;
	}
	table[1][col] = median(v, k);
}

static void bench_memory_and_idle(int col, struct supervisor *s)
{
	static const int counts[] = {1, 100, 1000};

	for (int i = 0; i < 3; i++) {
		struct usage u0, u1;

		if (!start_all(s, counts[i], MODE_PAUSE, NULL)) {
			table[2 + i][col] = -1;
			stop(s);
			continue;
		}
		msleep(1000); /* let start-up settle */
		u0 = measure(s->root);
		table[2 + i][col] = u0.pss_mib;
		if (counts[i] == 100) {
			int seconds = quick ? 3 : 10;
			msleep(seconds * 1000);
			u1 = measure(s->root);
			table[5][col] = (double)(u1.switches - u0.switches) / seconds;
		}
		stop(s);
	}
}

static void bench_crashloop(int col, struct supervisor *s)
{
	int seconds = quick ? 3 : 10, restarts = 0, pid;
	long long end, ns, c0, c1;

	if (!start_all(s, 1, MODE_FAIL, NULL))
		goto out;
	c0 = measure(s->root).cpu_ns;
	end = now_ns() + (long long)seconds * 1000000000LL;
	while (now_ns() < end)
		if (read_stamp(&pid, &ns, 100) == 0)
			restarts++;
	c1 = measure(s->root).cpu_ns;
	table[6][col] = restarts ? (double)(c1 - c0) / 1e6 / restarts : -1;
out:
	stop(s);
}

/* Wall time of one command run to completion, in ms. */
static double time_command(const char *const argv[])
{
	long long t0 = now_ns();
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		dup2(null, 2);
		execvp(argv[0], (char **)argv);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
	return (now_ns() - t0) / 1e6;
}

static double median_of_runs(const char *const argv[], int n)
{
	double v[512];

	for (int i = 0; i < n; i++)
		v[i] = time_command(argv);
	return median(v, n);
}

static void bench_status(int col, struct supervisor *s)
{
	char target[256], sock[256];
	int n = quick ? 11 : 51;

	if (!start_all(s, 100, MODE_PAUSE, NULL)) {
		table[7][col] = -1;
		stop(s);
		return;
	}
	msleep(1500);
	if (strcmp(s->name, "vigil") == 0) {
		const char *argv[] = {vigilctl, "-s", sock, "status", NULL};
		snprintf(sock, sizeof(sock), "%s/vigil.sock", dir);
		table[7][col] = access(vigilctl, X_OK) == 0 ? median_of_runs(argv, n) : -1;
	} else if (strcmp(s->name, "runit") == 0) {
		const char *argv[] = {"sh", "-c", target, NULL};
		snprintf(target, sizeof(target), "sv status %s/runit/*", dir);
		table[7][col] = median_of_runs(argv, n);
	} else if (strcmp(s->name, "s6") == 0) {
		const char *argv[] = {"sh", "-c", target, NULL};
		snprintf(target, sizeof(target), "for d in %s/s6/s*; do s6-svstat $d; done", dir);
		table[7][col] = median_of_runs(argv, n);
	} else {
		const char *argv[] = {"supervisorctl", "-c", target, "status", NULL};
		snprintf(target, sizeof(target), "%s/supervisord.conf", dir);
		table[7][col] = median_of_runs(argv, quick ? 3 : 11);
	}
	stop(s);
}

static void bench_init_overhead(void)
{
	int n = quick ? 21 : 401;
	const char *bare[] = {"true", NULL};
	const char *vigil_argv[] = {vigild, "--", "true", NULL};
	const char *tini_argv[] = {"tini", "-s", "--", "true", NULL};
	const char *dumb_argv[] = {"dumb-init", "true", NULL};
	bool tini = installed("tini"), dumb = installed("dumb-init");
	double b[512], vg[512], ti[512], du[512];

	/* One run of each in turn: a machine that drifts (another tenant, the CPU's
	 * clock) weighs on all four alike, where a block of runs each would not. */
	for (int i = 0; i < n; i++) {
		b[i] = time_command(bare);
		vg[i] = time_command(vigil_argv);
		ti[i] = tini ? time_command(tini_argv) : 0;
		du[i] = dumb ? time_command(dumb_argv) : 0;
	}
	table[ROW_INIT][0] = median(vg, n) - median(b, n);
	table[ROW_INIT][N_SUP] = tini ? median(ti, n) - median(b, n) : -1;
	table[ROW_INIT][N_SUP + 1] = dumb ? median(du, n) - median(b, n) : -1;
}

/* ---- logs: 256 MiB of 100-byte lines from the same writer ---- */

#define LOG_MIB 256

static const char *helper;

static long log_lines(void)
{
	return (long)LOG_MIB * 1024 * 1024 / 100;
}

/* True when @path ends with the writer's last line (its number starts it). */
static bool ends_with_last_line(const char *path)
{
	char want[16], tail[160];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t end;
	ssize_t n;

	if (fd < 0)
		return false;
	end = lseek(fd, 0, SEEK_END);
	n = end > 0 ? pread(fd, tail, sizeof(tail) - 1, end > 150 ? end - 150 : 0) : 0;
	close(fd);
	if (n <= 0)
		return false;
	tail[n] = '\0';
	snprintf(want, sizeof(want), "%010ld ", log_lines() - 1);
	return strstr(tail, want) != NULL;
}

/* Seconds until @path holds the last line, polling; -1 after 120 s. */
static double wait_last_line(const char *path, long long t0)
{
	long long end = t0 + 120LL * 1000000000LL;

	while (now_ns() < end) {
		if (ends_with_last_line(path))
			return (now_ns() - t0) / 1e9;
		msleep(2);
	}
	return -1;
}

/* A pipeline writer | consumer, timed to its end. */
static double time_pipeline(const char *consumer)
{
	char cmd[1024];
	long long t0;

	snprintf(cmd, sizeof(cmd), "%s lines %ld 100 | %s", helper, log_lines(), consumer);
	t0 = now_ns();
	run_shell("%s", cmd);
	return (now_ns() - t0) / 1e9;
}

/* A supervisor started by @start, timed until @log ends with the writer's last line,
 * then stopped. Seconds, or -1 (said) when the line never came. */
static double time_to_last_line(pid_t (*start)(void), const char *log)
{
	long long t0 = now_ns();
	pid_t root = start();
	double s = wait_last_line(log, t0);

	signal_stop(root);
	if (s < 0)
		fprintf(stderr, "compare: %s never got the last line\n", log);
	return s;
}

static void bench_logs(void)
{
	char path[256];

	if (access(helper, X_OK) < 0) {
		fprintf(stderr, "compare: no %s, the log row is skipped\n", helper);
		return;
	}
	run_shell("rm -rf %s/logs && mkdir -p %s/logs/svlogd %s/logs/vigil", dir, dir, dir);
	snprintf(path, sizeof(path), "cat > %s/logs/cat.out", dir);
	cat_seconds = time_pipeline(path);
	run_shell("rm -f %s/logs/cat.out", dir);

	/* vigil: the service writes, vigild timestamps into log-dir/w.log. */
	snprintf(path, sizeof(path), "%s/vigil.conf", dir);
	{
		FILE *f = fopen(path, "w");
		fprintf(f,
			"control-socket = \"%s/vigil.sock\"\nlog-dir = \"%s/logs/vigil\"\n"
			"log-forward = no\nservice w {\n  command = \"%s lines %ld 100\"\n"
			"  restart = never\n  log-max-size = 2G\n}\n",
			dir,
			dir,
			helper,
			log_lines());
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/logs/vigil/w.log", dir);
	table[ROW_LOGS][0] = time_to_last_line(vigil_start, path);
	run_shell("rm -rf %s/logs/vigil", dir);

	/* runit's svlogd and s6-log, with their own timestamps and no rotation to speak of. */
	if (installed("svlogd")) {
		snprintf(path, sizeof(path), "%s/logs/svlogd/config", dir);
		run_shell("echo s2000000000 > %s", path);
		snprintf(path, sizeof(path), "svlogd -tt %s/logs/svlogd", dir);
		table[ROW_LOGS][1] = time_pipeline(path);
		run_shell("rm -rf %s/logs/svlogd", dir);
	}
	if (installed("s6-log")) {
		snprintf(path, sizeof(path), "s6-log T s200000000 %s/logs/s6", dir);
		table[ROW_LOGS][2] = time_pipeline(path);
		run_shell("rm -rf %s/logs/s6", dir);
	}
	if (installed("supervisord")) {
		snprintf(path, sizeof(path), "%s/supervisord.conf", dir);
		FILE *f = fopen(path, "w");
		fprintf(f,
			"[supervisord]\nnodaemon=true\nlogfile=/dev/null\nlogfile_maxbytes=0\n"
			"pidfile=%s/supervisord.pid\n\n[program:w]\ncommand=%s lines %ld 100\n"
			"autorestart=false\nstartsecs=0\nstdout_logfile=%s/logs/sup.log\n"
			"stdout_logfile_maxbytes=0\n",
			dir,
			helper,
			log_lines(),
			dir);
		fclose(f);
		snprintf(path, sizeof(path), "%s/logs/sup.log", dir);
		table[ROW_LOGS][3] = time_to_last_line(supervisord_start, path);
	}
	run_shell("rm -rf %s/logs", dir);
}

static void print_table(void)
{
	printf("\n%-30s", "figure (median)");
	for (int c = 0; c < N_SUP + 2; c++)
		printf(" %11s", columns[c]);
	printf(" %11s\n", "vigil/best");
	for (int r = 0; r < N_ROWS; r++) {
		double best = -1;

		printf("%-30s", row_names[r]);
		for (int c = 0; c < N_SUP + 2; c++) {
			double v = table[r][c];
			bool shown = r == ROW_INIT ? c == 0 || c >= N_SUP : c < N_SUP;

			if (v < 0 || !shown)
				printf(" %11s", "-");
			else
				printf(" %11.3f", v);
			if (c > 0 && v >= 0 && shown && (best < 0 || v < best))
				best = v;
		}
		if (best > 0 && table[r][0] >= 0)
			printf(" %10.2fx", table[r][0] / best);
		else if (best == 0 && table[r][0] == 0)
			printf(" %11s", "equal");
		else
			printf(" %11s", "-");
		printf("\n");
	}
	printf("\nLower is better everywhere; the last column is vigil divided by the best peer "
	       "(below 1: vigil is ahead).\n");
	if (cat_seconds > 0)
		printf("Logs: 100-byte lines; vigil timestamps each line (RFC 3339), runit's "
		       "svlogd "
		       "(-tt) and s6-log (T) too, supervisord does not. The same writer into "
		       "`cat > file` took %.3f s (%.0f MiB/s); vigil: %.2f x cat's speed.\n",
		       cat_seconds,
		       LOG_MIB / cat_seconds,
		       table[ROW_LOGS][0] > 0 ? cat_seconds / table[ROW_LOGS][0] : 0.0);
	printf("s6 2.11 waits about 1 s before every restart after a death, whatever the "
	       "uptime; supervisord's loop wakes once a second.\n");
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;

	quick = getenv("BENCH_QUICK") != NULL;
	vigild = getenv("VIGILD") ? getenv("VIGILD") : "./vigild";
	vigilctl = getenv("VIGILCTL") ? getenv("VIGILCTL") : "./vigilctl";
	stamp = getenv("STAMP") ? getenv("STAMP") : "./t/bench/stamp";
	helper = getenv("VIGIL_HELPER") ? getenv("VIGIL_HELPER") : "./t/helper/vigil-helper";
	{
		/* Absolute paths: supervisors run services from their own directories. */
		static char abs_stamp[4096], abs_vigild[4096], abs_vigilctl[4096], abs_helper[4096];
		if (!realpath(stamp, abs_stamp))
			die("no %s: build it with `make t/bench/stamp`", stamp);
		if (!realpath(vigild, abs_vigild))
			die("no %s: build it with `make vigild`", vigild);
		stamp = abs_stamp;
		vigild = abs_vigild;
		if (realpath(vigilctl, abs_vigilctl))
			vigilctl = abs_vigilctl;
		if (realpath(helper, abs_helper))
			helper = abs_helper;
	}
	snprintf(dir, sizeof(dir), "/tmp/vigil-compare.XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp: %s", strerror(errno));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	if (mkfifo(fifo, 0600) < 0)
		die("mkfifo: %s", strerror(errno));
	fifo_fd = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	setenv("STAMP_FIFO", fifo, 1);
	setenv("STAMP_TAG", dir, 1);
	signal(SIGPIPE, SIG_IGN);

	for (int r = 0; r < N_ROWS; r++)
		for (int c = 0; c < N_SUP + 2; c++)
			table[r][c] = -1;
	for (int c = 0; c < N_SUP; c++)
		columns[c] = supervisors[c].name;
	columns[N_SUP] = "tini";
	columns[N_SUP + 1] = "dumb-init";

	for (int c = 0; c < N_SUP; c++) {
		struct supervisor *s = &supervisors[c];

		/* One peer named on the command line: vigil and that one; `init`: the
		 * `-- true` row alone. */
		if (only && strcmp(only, s->name) != 0 && (c != 0 || strcmp(only, "init") == 0))
			continue;
		if (!installed(s->binary)) {
			fprintf(stderr, "compare: %s is not installed, skipped\n", s->name);
			continue;
		}
		fprintf(stderr, "compare: measuring %s...\n", s->name);
		bench_restart(c, s);
		bench_start(c, s);
		bench_memory_and_idle(c, s);
		bench_crashloop(c, s);
		bench_status(c, s);
	}
	if (!only) {
		fprintf(stderr, "compare: measuring log writing...\n");
		bench_logs();
	}
	fprintf(stderr, "compare: measuring -- true against tini and dumb-init...\n");
	bench_init_overhead();
	print_table();
	kill_tagged();
	run_shell("rm -rf %s", dir);
	return 0;
}

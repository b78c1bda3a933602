/* vigil-soak: services restarted RESTARTS times under a real vigild while clients
 * poll its API; fails when vigild's memory (PSS) or open fds grow by more than 5 %
 * after the warm-up (a tenth of the restarts, at least 2000), when a service stalls, when
 * a restart the API counted did not run the program, or when vigild logs a problem.
 *
 *   vigil-soak [-n RESTARTS] [-k] [-t SECONDS] VIGILD
 *
 * -k keeps the work directory (config, vigild's log, the runs recorded); it is kept
 * anyway on failure. -t gives up after SECONDS (default: 60 + RESTARTS / 100).
 *
 * The services run this very program (`vigil-soak --child MODE FILE`), which
 * appends its pid to FILE, so that every counted restart can be matched with a run:
 *   crash   writes a line to stdout and one to stderr, exits 3
 *   signal  kills itself with SIGTERM (a signal vigild did not send)
 *   pause   waits to be killed (by vigild, when its liveness probe fails)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "http.h"

#define GROWTH_MAX  0.05 /* after the warm-up */
#define WARMUP_MIN  2000 /* restarts: the warm-up is a tenth of the run, at least this */
#define STALL_SEC   5.0  /* a service whose restarts stop moving this long */
#define SAMPLE_MS   20   /* restarts are looked at this often */
#define FD_SAMPLES  5    /* fds, that many times in between */
#define CHECKPOINTS 20   /* table rows over the run */

static const struct soak_service {
	const char *name;
	const char *kind; /* for the table's legend */
	const char *mode; /* --child MODE, or NULL: the command below */
	const char *command;
	const char *extra; /* more options */
} services[] = {
	{"crash", "exits 3 after a line on each stream", "crash", NULL, ""},
	{"crash-signal", "killed by SIGTERM it sent itself", "signal", NULL, ""},
	{"crash-false", "/bin/false", NULL, "/bin/false", ""},
	{"probe-tcp",
	 "liveness tcp to a closed port",
	 "pause",
	 NULL,
	 "  liveness { tcp = \"127.0.0.1:1\" initial-delay = 100ms period = 1s failure-threshold = "
	 "1 }\n"},
	{"probe-http",
	 "liveness http to a closed port",
	 "pause",
	 NULL,
	 "  liveness { http = \"http://127.0.0.1:1/\" initial-delay = 100ms period = 1s "
	 "failure-threshold = 1 }\n"},
	{"probe-exec",
	 "liveness exec /bin/false",
	 "pause",
	 NULL,
	 "  liveness { exec = \"/bin/false\" initial-delay = 100ms period = 1s failure-threshold = "
	 "1 }\n"},
	{"probe-unix",
	 "liveness unix to a missing socket",
	 "pause",
	 NULL,
	 "  liveness { unix = \"/nonexistent/soak.sock\" initial-delay = 100ms period = 1s "
	 "failure-threshold = 1 }\n"},
};
#define N_SERVICES (sizeof(services) / sizeof(services[0]))

static char dir[PATH_MAX], sock[PATH_MAX + 32];
static pid_t vigild_pid; /* killed by die() */
static volatile bool stop_clients;
static unsigned long requests, request_failures, events_seen;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void msleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vigil-soak: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (vigild_pid > 0)
		kill(vigild_pid, SIGKILL);
	exit(2);
}

/* ---- the services' side ---- */

static int child(const char *mode, const char *file)
{
	char line[32];
	int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());

	if (fd < 0 || write(fd, line, (size_t)n) != n)
		return 90;
	close(fd);
	if (strcmp(mode, "crash") == 0) {
		printf("soak: a line on stdout before crashing\n");
		fprintf(stderr, "soak: a line on stderr before crashing\n");
		return 3;
	}
	if (strcmp(mode, "signal") == 0) {
		signal(SIGTERM, SIG_DFL);
		raise(SIGTERM);
		return 91;
	}
	for (;;)
		pause();
}

/* ---- vigild's side: /proc ---- */

/* vigild's PSS, and its anonymous part (heap, stacks) in *anon, in KiB. The file-backed
 * part (libraries) moves with what else maps the same files and with page reclaim
 * (kdamond evicts cold library pages on this machine): only the anonymous part can
 * show a leak. */
static long pss_kib(pid_t pid, long *anon)
{
	char path[64], line[256];
	long kib = -1, a = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pss: %ld kB", &kib) != 1)
			(void)sscanf(line, "Pss_Anon: %ld kB", &a);
	fclose(f);
	*anon = a;
	return kib;
}

/* vigild's open fds; how many of them are pipes in *pipes. */
static int fd_count(pid_t pid, int *pipes)
{
	char path[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	*pipes = 0;
	while ((de = readdir(d))) {
		char link[PATH_MAX + 64], target[64];
		ssize_t k;

		if (de->d_name[0] == '.')
			continue;
		n++;
		snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
		k = readlink(link, target, sizeof(target) - 1);
		if (k > 5 && strncmp(target, "pipe:", 5) == 0)
			(*pipes)++;
	}
	closedir(d);
	return n;
}

static int count_lines(const char *path)
{
	char buf[65536];
	int n = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t k;

	if (fd < 0)
		return 0;
	while ((k = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < k; i++)
			n += buf[i] == '\n';
	close(fd);
	return n;
}

/* ---- the API ---- */

/* Restarts and state of every service, from GET /v1/services. Returns false when
 * vigild did not answer. */
static bool read_services(long restarts[], char states[][16])
{
	struct http_response res;
	json_t *list, *s;
	size_t i;
	bool ok = false;

	if (http_request(sock, "GET", "/v1/services", 10000, &res) < 0)
		return false;
	list = res.status == 200 ? json_loads(res.body, 0, NULL) : NULL;
	http_response_clear(&res);
	json_array_foreach(list, i, s)
	{
		const char *name = json_string_value(json_object_get(s, "name"));

		for (size_t k = 0; name && k < N_SERVICES; k++)
			if (strcmp(name, services[k].name) == 0) {
				restarts[k] =
					(long)json_integer_value(json_object_get(s, "restarts"));
				snprintf(states[k],
					 16,
					 "%s",
					 json_string_value(json_object_get(s, "state")) ?: "?");
			}
		ok = true;
	}
	json_decref(list);
	return ok;
}

/* A client asking what an operator or a monitoring system would, one request after
 * the other. */
static void *poller(void *arg)
{
	/* What each may answer besides 200: the health endpoints say 503 while the
	 * crashing services are down. */
	static const struct {
		const char *path;
		bool may_503;
	} targets[] = {
		{"/v1/services", false},
		{"/metrics", false},
		{"/healthz", true},
		{"/readyz", true},
		{"/v1/services/probe-http", false},
		{"/v1/services/crash/logs?lines=20", false},
	};
	unsigned i = (unsigned)(uintptr_t)arg;

	while (!stop_clients) {
		struct http_response res;
		unsigned k = i++ % (sizeof(targets) / sizeof(targets[0]));
		int r = http_request(sock, "GET", targets[k].path, 10000, &res);
		bool ok =
			r == 0 && (res.status == 200 || (res.status == 503 && targets[k].may_503));

		pthread_mutex_lock(&lock);
		requests++;
		if (!ok)
			request_failures++;
		pthread_mutex_unlock(&lock);
		if (r == 0)
			http_response_clear(&res);
		msleep(2);
	}
	return NULL;
}

static int on_event_bytes(const char *data, size_t len, void *userdata)
{
	(void)userdata;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < len; i++)
		events_seen += data[i] == '\n';
	pthread_mutex_unlock(&lock);
	return stop_clients ? -ECANCELED : 0;
}

/* A client following GET /v1/events, connecting again when the stream ends. */
static void *event_reader(void *arg)
{
	(void)arg;
	while (!stop_clients) {
		struct http_parser p;
		int fd, r;

		if (http_open(sock, "GET", "/v1/events", &fd) < 0) {
			pthread_mutex_lock(&lock);
			request_failures += !stop_clients;
			pthread_mutex_unlock(&lock);
			msleep(50);
			continue;
		}
		http_parser_init(&p);
		do
			r = http_read(fd, &p, 200, on_event_bytes, NULL);
		while ((r == 0 || r == -ETIMEDOUT) && !stop_clients);
		close(fd);
	}
	return NULL;
}

/* ---- the run ---- */

static void write_config(const char *self)
{
	char path[PATH_MAX + 16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/vigil.conf", dir);
	f = fopen(path, "w");
	if (!f)
		die("cannot write %s: %s", path, strerror(errno));
	fprintf(f,
		"log-dir = \"%s/logs\"\n"
		"shutdown-timeout = 10s\n",
		dir);
	for (size_t i = 0; i < N_SERVICES; i++) {
		const struct soak_service *s = &services[i];

		fprintf(f, "service %s {\n", s->name);
		if (s->mode)
			fprintf(f,
				"  command = \"%s --child %s %s/runs-%s\"\n",
				self,
				s->mode,
				dir,
				s->name);
		else
			fprintf(f, "  command = \"%s\"\n", s->command);
		fprintf(f,
			"  restart = always\n"
			"  restart-delay = 1ms\n"
			"  restart-delay-max = 1ms\n"
			"  restart-factor = 1\n"
			"  restart-jitter = 0%%\n"
			"  stop-timeout = 2s\n"
			"  log-max-size = 64K\n"
			"  log-keep = 2\n"
			"  log-buffer = 16K\n"
			"%s"
			"}\n",
			s->extra);
	}
	fclose(f);
}

static pid_t start_vigild(const char *vigild)
{
	char conf[PATH_MAX + 16], log[PATH_MAX + 16];
	pid_t pid;

	snprintf(conf, sizeof(conf), "%s/vigil.conf", dir);
	snprintf(log, sizeof(log), "%s/vigild.log", dir);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0)
			_exit(120);
		dup2(fd, 1);
		dup2(fd, 2);
		close_range(3, ~0U, 0);
		execl(vigild, vigild, "-c", conf, "-s", sock, "--log-level", "warn", (char *)NULL);
		_exit(121);
	}
	return pid;
}

struct sample {
	long restarts;
	double t;
	long pss, anon;
	int fd_min, fd_max;
	long fd_sum, pipe_sum, fd_n; /* for the means */
	unsigned long requests, events;
};

static double fd_mean(const struct sample *s)
{
	return s->fd_n ? (double)s->fd_sum / (double)s->fd_n : 0;
}

static double pipe_mean(const struct sample *s)
{
	return s->fd_n ? (double)s->pipe_sum / (double)s->fd_n : 0;
}

/* vigild's pipes per fd sample over rows [@from, @to). */
static double pipes_over(const struct sample *rows, size_t from, size_t to)
{
	long pipes = 0, n = 0;

	for (size_t k = from; k < to; k++) {
		pipes += rows[k].pipe_sum;
		n += rows[k].fd_n;
	}
	return n ? (double)pipes / (double)n : 0;
}

static void print_row(const struct sample *s)
{
	if (!s->fd_n) {
		printf("%10ld %8.1fs %9ld %9ld %9s %11s %7s %9lu %9lu\n",
		       s->restarts,
		       s->t,
		       s->pss,
		       s->anon,
		       "-",
		       "-",
		       "-",
		       s->requests,
		       s->events);
		fflush(stdout);
		return;
	}
	printf("%10ld %8.1fs %9ld %9ld %9.1f %5d-%-5d %7.1f %9lu %9lu\n",
	       s->restarts,
	       s->t,
	       s->pss,
	       s->anon,
	       fd_mean(s),
	       s->fd_min,
	       s->fd_max,
	       pipe_mean(s),
	       s->requests,
	       s->events);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	long target = 10000, restarts[N_SERVICES] = {0}, last[N_SERVICES] = {0};
	double last_move[N_SERVICES], t0, deadline, timeout = 0;
	char states[N_SERVICES][16];
	struct sample rows[CHECKPOINTS + 2], cur;
	size_t n_rows = 0;
	char self[PATH_MAX];
	bool keep = false, failed = false;
	pthread_t threads[3];
	const char *vigild;
	pid_t pid;
	int c, status;
	long total = 0;

	if (argc == 4 && strcmp(argv[1], "--child") == 0)
		return child(argv[2], argv[3]);
	while ((c = getopt(argc, argv, "n:kt:")) >= 0) {
		switch (c) {
		case 'n':
			target = atol(optarg);
			break;
		case 'k':
			keep = true;
			break;
		case 't':
			timeout = atof(optarg);
			break;
		default:
			fprintf(stderr,
				"usage: vigil-soak [-n RESTARTS] [-k] [-t SECONDS] VIGILD\n");
			return 2;
		}
	}
	if (optind + 1 != argc || target < 5000) {
		fprintf(stderr,
			"usage: vigil-soak [-n RESTARTS >= 5000] [-k] [-t SECONDS] VIGILD\n");
		return 2;
	}
	vigild = argv[optind];
	if (!realpath("/proc/self/exe", self))
		die("cannot find myself: %s", strerror(errno));
	if (timeout <= 0)
		timeout = 60 + (double)target / 100;
	snprintf(dir, sizeof(dir), "/tmp/vigil-soak.XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp: %s", strerror(errno));
	snprintf(sock, sizeof(sock), "%s/control.sock", dir);
	write_config(self);
	signal(SIGPIPE, SIG_IGN);

	printf("soak: %ld restarts of %zu services restarted 1 ms after each end, while 2 "
	       "clients poll the API and one follows its events; work directory %s\n",
	       target,
	       N_SERVICES,
	       dir);
	for (size_t i = 0; i < N_SERVICES; i++)
		printf("  %-13s %s\n", services[i].name, services[i].kind);
	pid = vigild_pid = start_vigild(vigild);
	t0 = now();
	deadline = t0 + timeout;
	while (!read_services(restarts, states)) {
		if (now() > t0 + 10)
			die("vigild never answered on %s (see %s/vigild.log)", sock, dir);
		msleep(10);
	}
	pthread_create(&threads[0], NULL, poller, (void *)(uintptr_t)0);
	pthread_create(&threads[1], NULL, poller, (void *)(uintptr_t)3);
	pthread_create(&threads[2], NULL, event_reader, NULL);
	for (size_t i = 0; i < N_SERVICES; i++)
		last_move[i] = now();

	printf("%10s %9s %9s %9s %9s %11s %7s %9s %9s\n",
	       "restarts",
	       "time",
	       "PSS KiB",
	       "anon KiB",
	       "fds mean",
	       "min-max",
	       "pipes",
	       "requests",
	       "events");
	cur = (struct sample){.fd_min = INT_MAX, .fd_max = 0};
	for (;;) {
		double t = now();
		bool done;

		if (!read_services(restarts, states)) {
			printf("soak: FAIL: vigild stopped answering\n");
			failed = true;
			break;
		}
		total = 0;
		for (size_t i = 0; i < N_SERVICES; i++) {
			total += restarts[i];
			if (restarts[i] != last[i]) {
				last[i] = restarts[i];
				last_move[i] = t;
			} else if (t - last_move[i] > STALL_SEC) {
				printf("soak: FAIL: %s has not restarted for %.0f s (%s, %ld "
				       "restarts)\n",
				       services[i].name,
				       STALL_SEC,
				       states[i],
				       restarts[i]);
				failed = true;
			}
		}
		done = total >= target;
		if (n_rows == 0 || done || total >= target * (long)n_rows / CHECKPOINTS) {
			pthread_mutex_lock(&lock);
			cur.requests = requests;
			cur.events = events_seen;
			pthread_mutex_unlock(&lock);
			cur.restarts = total;
			cur.t = t - t0;
			cur.pss = pss_kib(pid, &cur.anon);
			if (n_rows < sizeof(rows) / sizeof(rows[0]))
				rows[n_rows++] = cur;
			print_row(&cur);
			cur = (struct sample){.fd_min = INT_MAX, .fd_max = 0};
		}
		if (done || failed)
			break;
		if (t > deadline) {
			printf("soak: FAIL: only %ld restarts after %.0f s\n", total, timeout);
			failed = true;
			break;
		}
		/* Runs and clients come and go between two looks: the mean over many
		 * looks is what a leak would move. */
		for (int k = 0; k < FD_SAMPLES; k++) {
			int pipes = 0, fds = fd_count(pid, &pipes);

			if (fds >= 0) {
				cur.pipe_sum += pipes;
				cur.fd_min = fds < cur.fd_min ? fds : cur.fd_min;
				cur.fd_max = fds > cur.fd_max ? fds : cur.fd_max;
				cur.fd_sum += fds;
				cur.fd_n++;
			}
			msleep(SAMPLE_MS / FD_SAMPLES);
		}
	}
	stop_clients = true;
	for (size_t i = 0; i < 3; i++)
		pthread_join(threads[i], NULL);

	/* Memory and fds: flat after the warm-up, a tenth of the run but at least
	 * WARMUP_MIN restarts (the heap reaches its high-water mark over the first
	 * thousand or so). The verdict is on the anonymous PSS (see pss_kib()) at each
	 * row, and on vigild's fds averaged over each tenth of the run (two rows), the
	 * services' output pipes apart: each live run holds two, and how many services
	 * have a process at a time moves with the machine's load (by 2-3 % of all fds
	 * within one run here). Those are judged on the two halves of what follows
	 * the warm-up, each an average over many samples: a leak raises the second
	 * half's, while the average of one tenth moves by 2 pipes or more without one
	 * (12.7 then 14.9 in a run that failed on tenths). The second half may hold
	 * 5 % of all fds or 2 pipes more than the first. */
	if (!failed && n_rows <= 4) {
		printf("soak: FAIL: only %zu rows: too few to judge PSS and fds\n", n_rows);
		failed = true;
	}
	/* Each kind kept restarting: the probe-killed ones, the slowest, about once a
	 * second. */
	for (size_t i = 0; !failed && i < N_SERVICES; i++)
		if (restarts[i] < 2) {
			printf("soak: FAIL: %s restarted %ld times\n",
			       services[i].name,
			       restarts[i]);
			failed = true;
		}
	if (!failed) {
		long warmup = target / 10 > WARMUP_MIN ? target / 10 : WARMUP_MIN;
		long anon_max = 0, pss_min = LONG_MAX, pss_max = 0;
		double base_fds = 0, base_other = 0, base_pipes = 0;
		double max_fds = 0, max_other = 0, max_pipes = 0, half_pipes[2] = {0, 0};
		size_t w = 1;

		while (w + 1 < n_rows && rows[w].restarts < warmup)
			w++;
		/* The tenth that ends the warm-up, then each later tenth (the short last
		 * row goes with the one before). */
		for (size_t i = w - 1; i < n_rows; i += 2) {
			size_t end = i + 2 < n_rows ? i + 2 : n_rows;
			long fds = 0, pipes = 0, n = 0;
			double f, p;

			if (end + 1 == n_rows)
				end = n_rows; /* a lone last row joins this tenth */
			for (size_t k = i; k < end; k++) {
				fds += rows[k].fd_sum;
				pipes += rows[k].pipe_sum;
				n += rows[k].fd_n;
			}
			if (n == 0)
				continue;
			f = (double)fds / (double)n;
			p = (double)pipes / (double)n;
			if (i == w - 1) {
				base_fds = f;
				base_pipes = p;
				base_other = f - p;
			} else {
				max_fds = f > max_fds ? f : max_fds;
				max_pipes = p > max_pipes ? p : max_pipes;
				max_other = f - p > max_other ? f - p : max_other;
			}
			if (end == n_rows)
				break;
		}
		/* The pipes over each half of the rows from the warm-up's last tenth on. */
		half_pipes[0] = pipes_over(rows, w - 1, w - 1 + (n_rows - w + 1) / 2);
		half_pipes[1] = pipes_over(rows, w - 1 + (n_rows - w + 1) / 2, n_rows);
		for (size_t i = w + 1; i < n_rows; i++) {
			anon_max = rows[i].anon > anon_max ? rows[i].anon : anon_max;
			pss_min = rows[i].pss < pss_min ? rows[i].pss : pss_min;
			pss_max = rows[i].pss > pss_max ? rows[i].pss : pss_max;
		}
		printf("soak: after the warm-up (%ld restarts): anonymous PSS %ld KiB, at most "
		       "%ld later (%+.1f %%); fds %.1f on average, at most %.1f over a later "
		       "tenth (%+.1f %%): %.1f without the pipes, at most %.1f (%+.1f %%), pipes "
		       "%.1f, at most %.1f (%.1f over the first half after it, %.1f over the "
		       "second); PSS with the libraries %ld KiB, %ld-%ld later\n",
		       rows[w].restarts,
		       rows[w].anon,
		       anon_max,
		       100.0 * ((double)anon_max / (double)rows[w].anon - 1),
		       base_fds,
		       max_fds,
		       100.0 * (max_fds / base_fds - 1),
		       base_other,
		       max_other,
		       100.0 * (max_other / base_other - 1),
		       base_pipes,
		       max_pipes,
		       half_pipes[0],
		       half_pipes[1],
		       rows[w].pss,
		       pss_min,
		       pss_max);
		if ((double)anon_max > (double)rows[w].anon * (1 + GROWTH_MAX)) {
			printf("soak: FAIL: vigild's anonymous PSS grew by more than %.0f %%\n",
			       GROWTH_MAX * 100);
			failed = true;
		}
		if (max_other > base_other * (1 + GROWTH_MAX)) {
			printf("soak: FAIL: vigild's open fds other than pipes grew by more than "
			       "%.0f %%\n",
			       GROWTH_MAX * 100);
			failed = true;
		}
		if (half_pipes[1] >
		    half_pipes[0] + (base_fds * GROWTH_MAX > 2 ? base_fds * GROWTH_MAX : 2)) {
			printf("soak: FAIL: vigild's pipes grew by more than %.0f %% of its fds "
			       "or 2 from the first half after the warm-up to the second\n",
			       GROWTH_MAX * 100);
			failed = true;
		}
	}

	/* Every restart ran the program: stop them all, then compare the runs each one
	 * recorded with the restarts the API counted. */
	if (!failed) {
		struct http_response res;

		for (size_t i = 0; i < N_SERVICES; i++) {
			char target_path[128];

			snprintf(target_path,
				 sizeof(target_path),
				 "/v1/services/%s/stop",
				 services[i].name);
			if (http_request(sock, "POST", target_path, 10000, &res) == 0)
				http_response_clear(&res);
		}
		for (double end = now() + 15; now() < end; msleep(20)) {
			bool all = read_services(restarts, states);

			for (size_t i = 0; all && i < N_SERVICES; i++)
				all = strcmp(states[i], "stopped") == 0;
			if (all)
				break;
		}
		total = 0;
		for (size_t i = 0; i < N_SERVICES; i++) {
			char path[PATH_MAX + 64];
			int runs;

			total += restarts[i];
			if (strcmp(states[i], "stopped") != 0) {
				printf("soak: FAIL: %s did not stop (%s)\n",
				       services[i].name,
				       states[i]);
				failed = true;
			}
			if (!services[i].mode)
				continue;
			snprintf(path, sizeof(path), "%s/runs-%s", dir, services[i].name);
			runs = count_lines(path);
			if (runs < restarts[i] || runs > restarts[i] + 1) {
				printf("soak: FAIL: %s: %ld restarts counted, %d runs recorded\n",
				       services[i].name,
				       restarts[i],
				       runs);
				failed = true;
			}
		}
		printf("soak: restarts per service:");
		for (size_t i = 0; i < N_SERVICES; i++)
			printf(" %s %ld%s",
			       services[i].name,
			       restarts[i],
			       i + 1 < N_SERVICES ? "," : "\n");
		if (!failed)
			printf("soak: every restart the API counted ran its program (runs recorded "
			       "= restarts + the first run, where recorded)\n");
	}

	/* vigild ends cleanly, leaving nothing behind, and logged no problem. */
	kill(pid, SIGTERM);
	for (double end = now() + 20; waitpid(pid, &status, WNOHANG) == 0; msleep(10))
		if (now() > end) {
			printf("soak: FAIL: vigild did not exit within 20 s of SIGTERM\n");
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			failed = true;
			break;
		}
	if (!failed && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		printf("soak: FAIL: vigild exited with status 0x%x\n", status);
		failed = true;
	}
	{
		char path[PATH_MAX + 16], line[512];
		FILE *f;
		int shown = 0;

		snprintf(path, sizeof(path), "%s/vigild.log", dir);
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f)) {
			if (shown++ < 10)
				printf("soak: vigild said: %s", line);
			failed = true;
		}
		if (f)
			fclose(f);
		if (shown)
			printf("soak: FAIL: vigild logged %d warnings or errors\n", shown);
	}
	pthread_mutex_lock(&lock);
	printf("soak: %ld restarts in %.1f s (%.0f per second); %lu API requests (%lu failed), "
	       "%lu events streamed\n",
	       total,
	       now() - t0,
	       (double)total / (now() - t0),
	       requests,
	       request_failures,
	       events_seen);
	if (request_failures > 0) {
		printf("soak: FAIL: %lu API requests failed\n", request_failures);
		failed = true;
	}
	/* Each restart is at least two transitions, each an event line (three for the
	 * crashes: running -> backoff -> starting -> running); the third leaves room for
	 * a stream cut for falling a ring behind and the lines around its reconnect. */
	if (events_seen < 2 * (unsigned long)total) {
		printf("soak: FAIL: %lu events streamed for %ld restarts\n", events_seen, total);
		failed = true;
	}
	pthread_mutex_unlock(&lock);
	if (failed || keep)
		printf("soak: kept %s\n", dir);
	else {
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			printf("soak: cannot remove %s\n", dir);
	}
	printf("soak: %s\n", failed ? "FAIL" : "PASS");
	return failed ? 1 : 0;
}

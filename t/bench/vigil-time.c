/* vigil-time: wall time of a command, run many times, for the benchmarks in t/bench.
 *
 *   vigil-time RUNS COMMAND [ARG...]
 *
 * Runs COMMAND (stdout to /dev/null) RUNS times, one after the other, and prints:
 *   runs=N failed=N mean_ms=X p50_ms=X p95_ms=X max_ms=X
 * Each time covers fork() to waitpid(): process start, the work, the exit.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int runs, failed = 0;
	double *t, sum = 0;

	if (argc < 3 || (runs = atoi(argv[1])) < 1) {
		fprintf(stderr, "usage: vigil-time RUNS COMMAND [ARG...]\n");
		return 2;
	}
	t = calloc((size_t)runs, sizeof(*t));
	if (!t)
		return 1;
	for (int i = 0; i < runs; i++) {
		double t0 = now();
		pid_t pid;
		int st;

		pid = fork();
		if (pid < 0) {
			perror("vigil-time: fork");
			return 1;
		}
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, STDOUT_FILENO);
			execvp(argv[2], argv + 2);
			_exit(127);
		}
		waitpid(pid, &st, 0);
		t[i] = now() - t0;
		sum += t[i];
		failed += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	qsort(t, (size_t)runs, sizeof(*t), cmp);
	printf("runs=%d failed=%d mean_ms=%.3f p50_ms=%.3f p95_ms=%.3f max_ms=%.3f\n",
	       runs,
	       failed,
	       sum / runs * 1e3,
	       t[runs / 2] * 1e3,
	       t[runs * 95 / 100] * 1e3,
	       t[runs - 1] * 1e3);
	return failed ? 1 : 0;
}

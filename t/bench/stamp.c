/* stamp: the benchmarks' program: writes "PID MONOTONIC_NS\n" to FILE (a fifo) the
 * moment it runs, then exits or pauses. Kept tiny and static-friendly so a fork+exec
 * of it measures the supervisor, not the program. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec ts;
	char line[64];
	int fd, n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (argc < 2)
		return 2;
	n = snprintf(line, sizeof(line), "%d %lld\n", (int)getpid(),
		     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	fd = open(argv[1], O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, line, (size_t)n) != n)
		return 3;
	close(fd);
	if (argc > 2 && strcmp(argv[2], "pause") == 0)
		for (;;)
			pause();
	if (argc > 2 && strcmp(argv[2], "fail") == 0)
		return 1;
	return 0;
}

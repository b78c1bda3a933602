/* stamp [FIFO [exit|pause|fail]]: the benchmarks' program: writes
 * "PID MONOTONIC_NS\n" to FIFO the moment it runs, then exits, pauses or fails. Kept
 * tiny so a fork+exec of it measures the supervisor, not the program. STAMP_FIFO
 * and STAMP_MODE, when set, win over the arguments, so runit and s6 can run it as
 * ./run directly, with no shell in between (s6 passes the service directory as
 * argv[1]). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec ts;
	const char *fifo = getenv("STAMP_FIFO") ?: (argc > 1 ? argv[1] : NULL);
	const char *mode = getenv("STAMP_MODE") ?: (argc > 2 ? argv[2] : NULL);
	char line[64];
	int fd, n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (!fifo)
		return 2;
	n = snprintf(line,
		     sizeof(line),
		     "%d %lld\n",
		     (int)getpid(),
		     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	fd = open(fifo, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, line, (size_t)n) != n)
		return 3;
	close(fd);
	if (mode && strcmp(mode, "pause") == 0)
		for (;;)
			pause();
	if (mode && strcmp(mode, "fail") == 0)
		return 1;
	return 0;
}

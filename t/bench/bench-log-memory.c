/* bench-log-memory: heap used by the log state of idle services (the figure of
 * issue 5: at most 4 KiB until a service writes), and after each wrote one line.
 * Prints figures, asserts nothing. Usage: bench-log-memory [N] */
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "log-tail.h"
#include "logs.h"
#include "macro.h"

static size_t heap(void)
{
	return mallinfo2().uordblks;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	char dir[] = "/tmp/vigil-bench-mem.XXXXXX", cmd[64];
	struct service_logs **l = calloc((size_t)n, sizeof(*l));
	int(*fds)[2] = calloc((size_t)n, sizeof(*fds));
	sd_event *e = NULL;
	struct logs *h = NULL;
	size_t base, created, running, wrote;

	if (!l || !fds || !mkdtemp(dir) || sd_event_new(&e) < 0 || logs_new(e, &h) < 0 ||
	    logs_configure(h, dir, false) < 0) {
		fprintf(stderr, "bench-log-memory: set-up failed\n");
		return 1;
	}
	base = heap();
	for (int i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "service-%d", i);
		if (service_logs_new(h, name, &l[i]) < 0)
			return 1;
		service_logs_set_limits(l[i], 10 << 20, 5, 256 * 1024);
	}
	created = heap();
	for (int i = 0; i < n; i++)
		if (service_logs_open_run(l[i], &fds[i][0], &fds[i][1]) < 0) {
			fprintf(stderr,
				"bench-log-memory: out of fds at %d (raise ulimit -n)\n",
				i);
			return 1;
		}
	running = heap();
	for (int i = 0; i < n; i++)
		(void)!write(fds[i][0], "one line\n", 9);
	while (sd_event_run(e, 100 * 1000) > 0)
		;
	wrote = heap();

	printf("log state per service, %d services (heap, mallinfo2):\n", n);
	printf("  defined, not running:            %6zu bytes\n", (created - base) / (size_t)n);
	printf("  running, idle (2 pipes watched): %6zu bytes\n", (running - base) / (size_t)n);
	printf("  after writing one line:          %6zu bytes (tail %u KiB + file buffer)\n",
	       (wrote - base) / (size_t)n,
	       LOG_TAIL_INITIAL / 1024);
	for (int i = 0; i < n; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
		service_logs_free(l[i]);
	}
	logs_free(h);
	sd_event_unref(e);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
	free(l);
	free(fds);
	return 0;
}

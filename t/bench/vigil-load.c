/* vigil-load: a load generator for the control API, for the benchmarks in t/bench.
 *
 *   vigil-load SOCKET CLIENTS SECONDS [METHOD PATH]
 *
 * CLIENTS threads each send requests (default GET /v1/services) one after the other,
 * one per connection, for SECONDS; prints one line:
 *   requests=N failed=N per_second=N p50_ms=X p99_ms=X max_ms=X
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"

#define SAMPLES_MAX 1000000

static const char *sock, *method = "GET", *path = "/v1/services";
static double end_at;
static double *samples;
static size_t n_samples;
static unsigned long failed;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *client(void *arg)
{
	(void)arg;
	while (now() < end_at) {
		struct http_response res;
		double t0 = now(), took;
		int r = http_request(sock, method, path, 10000, &res);

		took = now() - t0;
		pthread_mutex_lock(&lock);
		if (r < 0 || res.status >= 500)
			failed++;
		else if (n_samples < SAMPLES_MAX)
			samples[n_samples++] = took;
		pthread_mutex_unlock(&lock);
		if (r == 0)
			http_response_clear(&res);
	}
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int clients;
	double seconds;
	pthread_t *t;

	if (argc != 4 && argc != 6) {
		fprintf(stderr, "usage: vigil-load SOCKET CLIENTS SECONDS [METHOD PATH]\n");
		return 2;
	}
	sock = argv[1];
	clients = atoi(argv[2]);
	seconds = atof(argv[3]);
	if (argc == 6) {
		method = argv[4];
		path = argv[5];
	}
	samples = malloc(SAMPLES_MAX * sizeof(*samples));
	t = calloc((size_t)clients, sizeof(*t));
	if (!samples || !t || clients < 1)
		return 1;
	end_at = now() + seconds;
	for (int i = 0; i < clients; i++)
		pthread_create(&t[i], NULL, client, NULL);
	for (int i = 0; i < clients; i++)
		pthread_join(t[i], NULL);
	qsort(samples, n_samples, sizeof(*samples), cmp);
	printf("requests=%zu failed=%lu per_second=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
	       n_samples,
	       failed,
	       (double)n_samples / seconds,
	       n_samples ? samples[n_samples / 2] * 1e3 : 0.0,
	       n_samples ? samples[n_samples * 99 / 100] * 1e3 : 0.0,
	       n_samples ? samples[n_samples - 1] * 1e3 : 0.0);
	return failed ? 1 : 0;
}

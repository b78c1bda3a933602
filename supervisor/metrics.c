/* metrics.c: the Prometheus text exposition of SPEC §9, built from the manager's
 * services on each scrape. */
#include "metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "macro.h"
#include "manager.h"
#include "probe.h"
#include "service.h"

/* Writes @v as a label value: backslash, double quote and newline escaped, as the
 * text format requires. Service names cannot hold them today; labels must not
 * break if that ever changes. */
static void put_label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*v, f);
	}
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Begins a sample: NAME{service="..." and ,probe="..." when @probe is given; the
 * caller writes any further labels, the closing brace and the value. */
static void series(FILE *f, const char *name, const struct service *s, const char *probe)
{
	fprintf(f, "%s{service=\"", name);
	put_label(f, service_get_name(s));
	fputc('"', f);
	if (probe)
		fprintf(f, ",probe=\"%s\"", probe);
}

/* One sample per service: NAME{service="..."} VALUE */
typedef double sample_fn(const struct service *s);

static void per_service(FILE *f, struct service *const *list, size_t n, const char *name,
			sample_fn *fn)
{
	for (size_t i = 0; i < n; i++) {
		series(f, name, list[i], NULL);
		fprintf(f, "} %.17g\n", fn(list[i]));
	}
}

static double sample_up(const struct service *s)
{
	return service_get_pid(s) > 0;
}

static double sample_ready(const struct service *s)
{
	return service_is_ready(s);
}

static double sample_restarts(const struct service *s)
{
	return service_get_restarts(s);
}

int metrics_render(const struct manager *m, char **ret, size_t *ret_len)
{
	struct service *const *list;
	size_t n = manager_get_services(m, &list), len = 0;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return -ENOMEM;

	header(f, "vigil_build_info", "gauge", "The running vigild's version, as a label.");
	fprintf(f, "vigil_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);

	header(f, "vigil_service_up", "gauge", "1 while the service's main process runs.");
	per_service(f, list, n, "vigil_service_up", sample_up);

	header(f, "vigil_service_ready", "gauge", "The service's ready flag.");
	per_service(f, list, n, "vigil_service_ready", sample_ready);

	header(f,
	       "vigil_service_restarts_total",
	       "counter",
	       "Restarts scheduled since the service was defined.");
	per_service(f, list, n, "vigil_service_restarts_total", sample_restarts);

	header(f,
	       "vigil_service_state",
	       "gauge",
	       "1 for the service's current state, 0 for the others.");
	for (size_t i = 0; i < n; i++)
		for (int st = 0; st < SERVICE_STATE_COUNT; st++) {
			series(f, "vigil_service_state", list[i], NULL);
			fprintf(f,
				",state=\"%s\"} %d\n",
				service_state_to_string(st),
				service_get_state(list[i]) == (enum service_state)st);
		}

	header(f,
	       "vigil_service_start_time_seconds",
	       "gauge",
	       "Unix time when the current run started; absent when nothing runs.");
	for (size_t i = 0; i < n; i++) {
		uint64_t t = service_get_started_at(list[i]);

		if (!t)
			continue;
		series(f, "vigil_service_start_time_seconds", list[i], NULL);
		fprintf(f,
			"} %llu.%03llu\n",
			(unsigned long long)(t / SEC),
			(unsigned long long)(t % SEC / USEC_PER_MSEC));
	}

	header(f, "vigil_probe_failures_total", "counter", "Failed checks, per service and probe.");
	for (size_t i = 0; i < n; i++)
		for (enum probe_role r = 0; r < PROBE_ROLE_COUNT; r++) {
			struct probe_info pi;

			if (service_get_probe(list[i], r, &pi) < 0)
				continue;
			series(f, "vigil_probe_failures_total", list[i], probe_role_to_string(r));
			fprintf(f, "} %llu\n", (unsigned long long)pi.failures_total);
		}

	header(f, "vigil_probe_duration_seconds", "histogram", "How long checks took.");
	for (size_t i = 0; i < n; i++)
		for (enum probe_role r = 0; r < PROBE_ROLE_COUNT; r++) {
			const uint64_t *bounds = probe_duration_bounds();
			const char *role = probe_role_to_string(r);
			struct probe_info pi;

			if (service_get_probe(list[i], r, &pi) < 0)
				continue;
			for (size_t b = 0; b <= PROBE_DURATION_BUCKETS; b++) {
				series(f, "vigil_probe_duration_seconds_bucket", list[i], role);
				fputs(",le=\"", f);
				if (b < PROBE_DURATION_BUCKETS)
					fprintf(f, "%g", (double)bounds[b] / (double)SEC);
				else
					fputs("+Inf", f);
				fprintf(f,
					"\"} %llu\n",
					(unsigned long long)(b < PROBE_DURATION_BUCKETS
								     ? pi.duration_buckets[b]
								     : pi.checks_total));
			}
			series(f, "vigil_probe_duration_seconds_sum", list[i], role);
			fprintf(f, "} %.6f\n", (double)pi.duration_sum / (double)SEC);
			series(f, "vigil_probe_duration_seconds_count", list[i], role);
			fprintf(f, "} %llu\n", (unsigned long long)pi.checks_total);
		}

	if (fclose(f) != 0 || !buf) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

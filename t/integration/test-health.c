/* test-health.c: what probes and the notify protocol show through the control API
 * and vigilctl: probe results, health, STATUS= text, metrics, `vigilctl wait`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "api.h"
#include "harness.h"

static struct vh v;

static void setup(void)
{
	vh_init(&v);
}

static void teardown(void)
{
	vh_cleanup(&v);
}

TestSuite(health, .init = setup, .fini = teardown, .timeout = 40);

/* A web server on a free port whose status comes from DIR/status. */
static int start_web(const char *extra)
{
	int port = vh_free_port();

	vh_write(&v, "status", "200\n");
	vh_write(&v,
		 "vigil.conf",
		 "service web {\n"
		 "  command = \"%s http-serve %d %s\"\n"
		 "  ready = probe\n"
		 "  startup { tcp = \"127.0.0.1:%d\" period = 50ms failure-threshold = 200 }\n"
		 "  readiness { http = \"http://127.0.0.1:%d/ready\" period = 100ms }\n"
		 "  liveness { http = \"http://127.0.0.1:%d/live\" period = 100ms "
		 "failure-threshold = 2 }\n"
		 "%s"
		 "}\n",
		 vh_helper(),
		 port,
		 vh_path(&v, "status"),
		 port,
		 port,
		 port,
		 extra);
	vh_start(&v);
	api_wait_up(&v);
	return port;
}

Test(health, a_service_shows_each_probes_last_result)
{
	json_t *probes, *p;
	size_t i;
	bool seen_live = false;
	char *out = NULL;

	start_web("");
	cr_assert_eq(ctl_run(&v, NULL, NULL, "wait", "-t", "10", "web", NULL), 0);
	/* Liveness reports within a period after startup passed. */
	for (int k = 0; k < 100 && !seen_live; k++) {
		probes = api_field(&v, "web", "probes");
		cr_assert(json_is_array(probes));
		json_array_foreach(probes, i, p)
		{
			json_t *last = json_object_get(p, "last");
			if (strcmp(json_string_value(json_object_get(p, "role")), "liveness") ==
				    0 &&
			    json_is_object(last)) {
				seen_live = true;
				cr_assert_str_eq(json_string_value(json_object_get(p, "type")),
						 "http");
				cr_assert_str_eq(json_string_value(json_object_get(last, "result")),
						 "pass");
				cr_assert_str_eq(
					json_string_value(json_object_get(last, "message")),
					"HTTP 200");
				cr_assert(json_is_string(json_object_get(last, "time")));
				cr_assert(json_is_real(json_object_get(last, "duration")));
				cr_assert_eq(json_integer_value(
						     json_object_get(p, "consecutive_failures")),
					     0);
			}
		}
		cr_assert_eq(json_array_size(probes), 3);
		json_decref(probes);
		if (!seen_live)
			vh_msleep(50);
	}
	cr_assert(seen_live, "no liveness result in GET /v1/services/web");
	{
		json_t *h = api_field(&v, "web", "health");
		for (int k = 0; k < 100 && strcmp(json_string_value(h), "healthy"); k++) {
			json_decref(h);
			vh_msleep(50);
			h = api_field(&v, "web", "health");
		}
		cr_assert_str_eq(json_string_value(h), "healthy");
		json_decref(h);
	}
	cr_assert_eq(ctl_run(&v, &out, NULL, "status", "web", NULL), 0);
	cr_assert(strstr(out, "liveness  http http://127.0.0.1:") && strstr(out, "pass at "),
		  "%s",
		  out);
	cr_assert(strstr(out, "\"HTTP 200\", 0 failing in a row"), "%s", out);
	free(out);
}

Test(health, failing_liveness_makes_healthz_fail_and_names_the_service)
{
	char *body = NULL;

	/* A long restart delay keeps it unhealthy while it waits to restart. */
	start_web("  restart-delay = 30s\n");
	cr_assert_eq(ctl_run(&v, NULL, NULL, "wait", "-t", "10", "web", NULL), 0);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "health", NULL), 0);
	vh_write(&v, "status", "500\n");
	cr_assert(api_wait_state(&v, "web", "backoff", 10000));
	cr_assert_eq(api_call(&v, "GET", "/healthz", &body), 503);
	cr_assert(strstr(body, "\"web\""), "%s", body);
	free(body);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "health", NULL), 1);
	{
		json_t *h = api_field(&v, "web", "health");
		cr_assert_str_eq(json_string_value(h), "unhealthy");
		json_decref(h);
	}
}

/* A service that cannot even be started backs off and tries again, and meanwhile
 * /healthz names it with the reason (SPEC §4: "could not be started"); once its
 * program is there, the next attempt runs it and /healthz is 200 again. */
Test(health, a_service_that_cannot_be_started_fails_healthz_until_it_runs)
{
	char *body = NULL;

	vh_write(&v,
		 "vigil.conf",
		 "service late {\n  command = \"%s\"\n  restart-delay = 100ms\n"
		 "  restart-delay-max = 100ms\n}\n",
		 vh_path(&v, "late.sh"));
	vh_start(&v);
	api_wait_up(&v);
	cr_assert(vh_wait_log(&v, "late: starting -> backoff (cannot execute", 1, 5000));
	cr_assert_eq(api_call(&v, "GET", "/healthz", &body), 503);
	cr_assert(strstr(body, "\"late\"") && strstr(body, "cannot execute"), "%s", body);
	free(body);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "health", NULL), 1);
	vh_write(&v, "late.tmp", "#!/bin/sh\nexec sleep 1000\n");
	cr_assert_eq(chmod(vh_path(&v, "late.tmp"), 0755), 0);
	cr_assert_eq(rename(vh_path(&v, "late.tmp"), vh_path(&v, "late.sh")), 0);
	cr_assert(api_wait_state(&v, "late", "running", 10000));
	cr_assert_eq(api_call(&v, "GET", "/healthz", NULL), 200);
}

/* README: after a liveness kill the service stays unhealthy until the next run's
 * liveness passes, so /healthz does not answer 200 between kills of a crash loop. */
Test(health, healthz_stays_unhealthy_across_liveness_restarts_until_liveness_passes)
{
	int port = vh_free_port(), running = 0;
	long long deadline;
	char *body = NULL;

	vh_write(&v, "status", "500\n");
	vh_write(&v,
		 "vigil.conf",
		 "service web {\n"
		 "  command = \"%s http-serve %d %s\"\n"
		 "  restart-delay = 100ms\n"
		 "  restart-delay-max = 100ms\n"
		 "  liveness { http = \"http://127.0.0.1:%d/\" period = 100ms "
		 "failure-threshold = 3 }\n"
		 "}\n",
		 vh_helper(),
		 port,
		 vh_path(&v, "status"),
		 port);
	vh_start(&v);
	api_wait_up(&v);
	cr_assert(vh_wait_log(&v, "web: running -> stopping (liveness failed", 1, vh_ms(10000)));
	/* Sampled through later runs: each answer names web, and some while it runs. */
	deadline = vh_now_ms() + vh_ms(20000);
	while ((running < 5 || vh_count_log(&v, "web: running -> stopping (liveness failed") < 3) &&
	       vh_now_ms() < deadline) {
		int status = api_call(&v, "GET", "/healthz", &body);

		cr_assert_eq(status, 503, "%d %s", status, body);
		cr_assert(strstr(body, "\"web\""), "%s", body);
		running += strstr(body, "\"running\"") != NULL;
		free(body);
		body = NULL;
		vh_msleep(20);
	}
	cr_assert_geq(running, 5, "web was never seen running again");
	cr_assert_geq(vh_count_log(&v, "web: running -> stopping (liveness failed"), 3);

	vh_write(&v, "status", "200\n");
	deadline = vh_now_ms() + vh_ms(10000);
	while (api_call(&v, "GET", "/healthz", NULL) != 200 && vh_now_ms() < deadline)
		vh_msleep(50);
	cr_assert_eq(api_call(&v, "GET", "/healthz", &body), 200, "%s", body);
	free(body);
}

Test(health, probe_metrics_have_samples_and_pass_promtool)
{
	char *body = NULL, cmd[512];

	start_web("");
	cr_assert_eq(ctl_run(&v, NULL, NULL, "wait", "-t", "10", "web", NULL), 0);
	vh_write(&v, "status", "503\n"); /* a readiness and liveness failure or two */
	vh_msleep(150);
	vh_write(&v, "status", "200\n");
	for (int k = 0; k < 100; k++) {
		free(body);
		body = NULL;
		cr_assert_eq(api_call(&v, "GET", "/metrics", &body), 200);
		if (!strstr(body,
			    "vigil_probe_failures_total{service=\"web\",probe=\"readiness\"} 0"))
			break;
		vh_msleep(50);
	}
	cr_assert(strstr(body, "vigil_probe_failures_total{service=\"web\",probe=\"liveness\"}"),
		  "%s",
		  body);
	cr_assert(strstr(body,
			 "vigil_probe_duration_seconds_bucket{service=\"web\",probe=\"readiness\","
			 "le=\"+Inf\"}"),
		  "%s",
		  body);
	cr_assert(strstr(body,
			 "vigil_probe_duration_seconds_count{service=\"web\",probe=\"startup\"}"),
		  "%s",
		  body);
	cr_assert_null(
		strstr(body, "vigil_probe_failures_total{service=\"web\",probe=\"readiness\"} 0"),
		"the readiness failure was not counted:\n%s",
		body);
	vh_write(&v, "metrics.txt", "%s", body);
	free(body);
	vh_need(&v, "promtool", "prometheus");
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", vh_path(&v, "metrics.txt"));
	{
		const char *sh[] = {"sh", "-c", cmd, NULL};
		char *out = NULL;
		cr_assert_eq(vh_run(sh, &out, 10000), 0, "promtool: %s", out);
		free(out);
	}
}

Test(health, wait_returns_when_readiness_comes_from_a_probe)
{
	int port = vh_free_port();
	long long t0;

	/* The server listens after 1 s: wait must return soon after, not before. */
	vh_write(&v,
		 "vigil.conf",
		 "service slow {\n"
		 "  command = \"%s sleep 1000 tcp-listen %d\"\n"
		 "  ready = probe\n"
		 "  readiness { tcp = \"127.0.0.1:%d\" period = 50ms }\n"
		 "}\n",
		 vh_helper(),
		 port,
		 port);
	t0 = vh_now_ms();
	vh_start(&v);
	api_wait_up(&v);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "wait", "-t", "10", "slow", NULL), 0);
	cr_assert_geq(vh_now_ms() - t0, 900);
	cr_assert(api_wait_state(&v, "slow", "running", 100));
}

Test(health, wait_returns_when_readiness_comes_from_sd_notify_and_status_shows_its_text)
{
	json_t *status;
	long long t0;

	vh_write(&v,
		 "vigil.conf",
		 "service n {\n"
		 "  command = \"%s sleep 1000 notify 'STATUS=warming up' sleep 100 notify "
		 "'READY=1\\\\nSTATUS=serving' pause\"\n"
		 "  ready = notify\n"
		 "}\n",
		 vh_helper());
	t0 = vh_now_ms();
	vh_start(&v);
	api_wait_up(&v);
	cr_assert_eq(ctl_run(&v, NULL, NULL, "wait", "-t", "10", "n", NULL), 0);
	cr_assert_geq(vh_now_ms() - t0, 900);
	status = api_field(&v, "n", "status");
	cr_assert_str_eq(json_string_value(status), "serving");
	json_decref(status);
	{
		char *out = NULL;
		cr_assert_eq(ctl_run(&v, &out, NULL, "status", "n", NULL), 0);
		cr_assert(strstr(out, "status:  serving"), "%s", out);
		free(out);
	}
}

/* test-probe.c: periods, initial delay, timeouts, thresholds and the startup gate of
 * probe.c, on a fake clock; then a probe set on a real loop against real sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "config.h"
#include "macro.h"
#include "probe.h"

static struct probe_config probe(enum probe_type type, uint64_t delay, uint64_t period,
				 unsigned success, unsigned failure)
{
	return (struct probe_config){
		.type = type,
		.target = (char *)"127.0.0.1:1",
		.initial_delay = delay,
		.period = period,
		.timeout = 1 * SEC,
		.success_threshold = success,
		.failure_threshold = failure,
	};
}

/* Runs @role's check that is due now at @t for @took and reports @res. */
static enum probe_verdict check(struct probe_plan *pl, enum probe_role role, uint64_t t,
				uint64_t took, enum probe_result res)
{
	cr_assert(probe_plan_take_due(pl, role, t),
		  "%s not due at %llu (due %llu)",
		  probe_role_to_string(role),
		  (unsigned long long)t,
		  (unsigned long long)pl->due[role]);
	return probe_plan_result(pl, role, res, t + took);
}

Test(probe, failure_threshold_counts_consecutive_failures_only)
{
	struct probe_config c = probe(PROBE_TCP, 0, SEC, 1, 3);
	struct probe_counts n = {0};

	cr_assert_eq(probe_counts_add(&n, &c, PROBE_FAIL), PROBE_HEALTH_UNKNOWN);
	cr_assert_eq(probe_counts_add(&n, &c, PROBE_FAIL), PROBE_HEALTH_UNKNOWN);
	/* A success in between starts the count again. */
	cr_assert_eq(probe_counts_add(&n, &c, PROBE_PASS), PROBE_HEALTH_PASSING);
	cr_assert_eq(probe_counts_add(&n, &c, PROBE_FAIL), PROBE_HEALTH_UNKNOWN);
	cr_assert_eq(probe_counts_add(&n, &c, PROBE_FAIL), PROBE_HEALTH_UNKNOWN);
	cr_assert_eq(n.health, PROBE_HEALTH_PASSING);
	cr_assert_eq(probe_counts_add(&n, &c, PROBE_FAIL), PROBE_HEALTH_FAILING);
	cr_assert_eq(n.failures, 3);
	/* Already failing: no change to report. */
	cr_assert_eq(probe_counts_add(&n, &c, PROBE_FAIL), PROBE_HEALTH_UNKNOWN);
	cr_assert_eq(n.failures, 4);
}

Test(probe, success_threshold_needs_that_many_passes_in_a_row)
{
	struct probe_config c = probe(PROBE_TCP, 0, SEC, 3, 1);
	struct probe_counts n = {0};

	cr_assert_eq(probe_counts_add(&n, &c, PROBE_PASS), PROBE_HEALTH_UNKNOWN);
	cr_assert_eq(probe_counts_add(&n, &c, PROBE_PASS), PROBE_HEALTH_UNKNOWN);
	cr_assert_eq(probe_counts_add(&n, &c, PROBE_FAIL), PROBE_HEALTH_FAILING);
	cr_assert_eq(probe_counts_add(&n, &c, PROBE_PASS), PROBE_HEALTH_UNKNOWN);
	cr_assert_eq(probe_counts_add(&n, &c, PROBE_PASS), PROBE_HEALTH_UNKNOWN);
	cr_assert_eq(probe_counts_add(&n, &c, PROBE_PASS), PROBE_HEALTH_PASSING);
}

Test(probe, first_check_waits_for_the_initial_delay_then_runs_every_period)
{
	struct probe_config cfgs[PROBE_ROLE_COUNT] = {
		[PROBE_LIVENESS] = probe(PROBE_TCP, 5 * SEC, 2 * SEC, 1, 3),
	};
	struct probe_plan pl;
	uint64_t t0 = 100 * SEC;

	probe_plan_init(&pl, cfgs);
	cr_assert_eq(pl.due[PROBE_LIVENESS], USEC_INFINITY, "nothing is due before a run");
	probe_plan_begin(&pl, t0);
	cr_assert_eq(pl.due[PROBE_LIVENESS], t0 + 5 * SEC);
	cr_assert_not(probe_plan_take_due(&pl, PROBE_LIVENESS, t0 + 5 * SEC - 1));
	check(&pl, PROBE_LIVENESS, t0 + 5 * SEC, 10 * MSEC, PROBE_PASS);
	/* The period counts from the start of a check, not its end. */
	cr_assert_eq(pl.due[PROBE_LIVENESS], t0 + 7 * SEC);
	check(&pl, PROBE_LIVENESS, t0 + 7 * SEC, 10 * MSEC, PROBE_PASS);
	cr_assert_eq(pl.due[PROBE_LIVENESS], t0 + 9 * SEC);
}

Test(probe, the_period_is_a_steady_tick_however_late_a_check_started)
{
	struct probe_config cfgs[PROBE_ROLE_COUNT] = {
		[PROBE_LIVENESS] = probe(PROBE_TCP, 0, 1 * SEC, 1, 3),
	};
	struct probe_plan pl;

	probe_plan_init(&pl, cfgs);
	probe_plan_begin(&pl, 0);
	/* Due at 0, started 80ms late (the loop's slack), took 5ms. */
	cr_assert(probe_plan_take_due(&pl, PROBE_LIVENESS, 80 * MSEC));
	probe_plan_result(&pl, PROBE_LIVENESS, PROBE_PASS, 85 * MSEC);
	cr_assert_eq(pl.due[PROBE_LIVENESS], 1 * SEC);
}

Test(probe, start_slack_is_a_tenth_of_the_period_at_most_100ms)
{
	struct probe_config c = probe(PROBE_TCP, 0, 500 * MSEC, 1, 3);

	cr_assert_eq(probe_start_slack(&c), 50 * MSEC);
	c.period = 10 * SEC;
	cr_assert_eq(probe_start_slack(&c), 100 * MSEC);
	c.period = 5;
	cr_assert_eq(probe_start_slack(&c), 1);
}

Test(probe, a_check_longer_than_the_period_is_followed_at_once)
{
	struct probe_config cfgs[PROBE_ROLE_COUNT] = {
		[PROBE_LIVENESS] = probe(PROBE_TCP, 0, 1 * SEC, 1, 3),
	};
	struct probe_plan pl;

	probe_plan_init(&pl, cfgs);
	probe_plan_begin(&pl, 0);
	check(&pl, PROBE_LIVENESS, 0, 1500 * MSEC, PROBE_FAIL);
	cr_assert_eq(pl.due[PROBE_LIVENESS], 1500 * MSEC);
}

Test(probe, deadline_is_the_timeout_after_the_start)
{
	struct probe_config c = probe(PROBE_HTTP, 0, SEC, 1, 3);

	c.timeout = 250 * MSEC;
	cr_assert_eq(probe_deadline(&c, 10 * SEC), 10 * SEC + 250 * MSEC);
}

Test(probe, a_check_in_flight_is_not_started_twice)
{
	struct probe_config cfgs[PROBE_ROLE_COUNT] = {
		[PROBE_READINESS] = probe(PROBE_TCP, 0, 1 * SEC, 1, 3),
	};
	struct probe_plan pl;

	probe_plan_init(&pl, cfgs);
	probe_plan_begin(&pl, 0);
	cr_assert(probe_plan_take_due(&pl, PROBE_READINESS, 0));
	cr_assert_not(probe_plan_take_due(&pl, PROBE_READINESS, 5 * SEC));
	probe_plan_result(&pl, PROBE_READINESS, PROBE_PASS, 5 * SEC);
	cr_assert(probe_plan_take_due(&pl, PROBE_READINESS, 5 * SEC));
}

Test(probe, liveness_and_readiness_wait_until_startup_passed)
{
	struct probe_config cfgs[PROBE_ROLE_COUNT] = {
		[PROBE_STARTUP] = probe(PROBE_EXEC, 0, 1 * SEC, 1, 30),
		[PROBE_LIVENESS] = probe(PROBE_HTTP, 2 * SEC, 5 * SEC, 1, 3),
		[PROBE_READINESS] = probe(PROBE_TCP, 0, 1 * SEC, 1, 3),
	};
	struct probe_plan pl;
	uint64_t t = 0;

	probe_plan_init(&pl, cfgs);
	probe_plan_begin(&pl, 0);
	cr_assert_not(pl.started);
	cr_assert_eq(pl.due[PROBE_STARTUP], 0);
	cr_assert_eq(pl.due[PROBE_LIVENESS], USEC_INFINITY);
	cr_assert_eq(pl.due[PROBE_READINESS], USEC_INFINITY);
	/* A slow starter: 10 failed startup checks are fine with a threshold of 30. */
	for (int i = 0; i < 10; i++, t += SEC) {
		cr_assert_eq(check(&pl, PROBE_STARTUP, t, MSEC, PROBE_FAIL), PROBE_VERDICT_NONE);
		cr_assert_not(probe_plan_take_due(&pl, PROBE_LIVENESS, t + MSEC));
		cr_assert_not(probe_plan_take_due(&pl, PROBE_READINESS, t + MSEC));
	}
	cr_assert_eq(check(&pl, PROBE_STARTUP, t, MSEC, PROBE_PASS), PROBE_VERDICT_STARTED);
	cr_assert(pl.started);
	/* Startup is done for this run; the others begin at once (their initial delay
	 * counts from the start of the run and has passed). */
	cr_assert_eq(pl.due[PROBE_STARTUP], USEC_INFINITY);
	cr_assert_eq(pl.due[PROBE_LIVENESS], t + MSEC);
	cr_assert_eq(pl.due[PROBE_READINESS], t + MSEC);
	cr_assert_eq(check(&pl, PROBE_READINESS, t + MSEC, MSEC, PROBE_PASS), PROBE_VERDICT_READY);
}

Test(probe, initial_delay_still_applies_after_an_early_startup)
{
	struct probe_config cfgs[PROBE_ROLE_COUNT] = {
		[PROBE_STARTUP] = probe(PROBE_EXEC, 0, 1 * SEC, 1, 3),
		[PROBE_LIVENESS] = probe(PROBE_HTTP, 10 * SEC, 5 * SEC, 1, 3),
	};
	struct probe_plan pl;

	probe_plan_init(&pl, cfgs);
	probe_plan_begin(&pl, 0);
	cr_assert_eq(check(&pl, PROBE_STARTUP, 0, MSEC, PROBE_PASS), PROBE_VERDICT_STARTED);
	cr_assert_eq(pl.due[PROBE_LIVENESS], 10 * SEC);
}

Test(probe, startup_failing_past_its_threshold_is_unhealthy_and_ends_the_run)
{
	struct probe_config cfgs[PROBE_ROLE_COUNT] = {
		[PROBE_STARTUP] = probe(PROBE_EXEC, 0, 1 * SEC, 1, 3),
		[PROBE_LIVENESS] = probe(PROBE_HTTP, 0, 1 * SEC, 1, 3),
	};
	struct probe_plan pl;

	probe_plan_init(&pl, cfgs);
	probe_plan_begin(&pl, 0);
	cr_assert_eq(check(&pl, PROBE_STARTUP, 0, MSEC, PROBE_FAIL), PROBE_VERDICT_NONE);
	cr_assert_eq(check(&pl, PROBE_STARTUP, SEC, MSEC, PROBE_FAIL), PROBE_VERDICT_NONE);
	cr_assert_eq(check(&pl, PROBE_STARTUP, 2 * SEC, MSEC, PROBE_FAIL), PROBE_VERDICT_UNHEALTHY);
	cr_assert_not(pl.active);
	for (int r = 0; r < PROBE_ROLE_COUNT; r++)
		cr_assert_eq(pl.due[r], USEC_INFINITY);
}

Test(probe, liveness_failing_past_its_threshold_is_unhealthy)
{
	struct probe_config cfgs[PROBE_ROLE_COUNT] = {
		[PROBE_LIVENESS] = probe(PROBE_HTTP, 0, 1 * SEC, 1, 2),
		[PROBE_READINESS] = probe(PROBE_TCP, 0, 1 * SEC, 1, 3),
	};
	struct probe_plan pl;

	probe_plan_init(&pl, cfgs);
	probe_plan_begin(&pl, 0);
	cr_assert_eq(check(&pl, PROBE_LIVENESS, 0, MSEC, PROBE_PASS), PROBE_VERDICT_NONE);
	cr_assert_eq(check(&pl, PROBE_LIVENESS, SEC, MSEC, PROBE_FAIL), PROBE_VERDICT_NONE);
	/* The readiness check in flight is dropped with the run. */
	cr_assert(probe_plan_take_due(&pl, PROBE_READINESS, 2 * SEC));
	cr_assert_eq(check(&pl, PROBE_LIVENESS, 2 * SEC, MSEC, PROBE_FAIL),
		     PROBE_VERDICT_UNHEALTHY);
	cr_assert_not(pl.in_flight[PROBE_READINESS]);
	cr_assert_eq(probe_plan_result(&pl, PROBE_READINESS, PROBE_FAIL, 3 * SEC),
		     PROBE_VERDICT_NONE);
}

Test(probe, readiness_only_moves_the_ready_flag)
{
	struct probe_config cfgs[PROBE_ROLE_COUNT] = {
		[PROBE_READINESS] = probe(PROBE_TCP, 0, 1 * SEC, 2, 2),
	};
	struct probe_plan pl;
	uint64_t t = 0;

	probe_plan_init(&pl, cfgs);
	probe_plan_begin(&pl, 0);
	cr_assert_eq(check(&pl, PROBE_READINESS, t, MSEC, PROBE_PASS), PROBE_VERDICT_NONE);
	t += SEC;
	cr_assert_eq(check(&pl, PROBE_READINESS, t, MSEC, PROBE_PASS), PROBE_VERDICT_READY);
	t += SEC;
	cr_assert_eq(check(&pl, PROBE_READINESS, t, MSEC, PROBE_FAIL), PROBE_VERDICT_NONE);
	t += SEC;
	cr_assert_eq(check(&pl, PROBE_READINESS, t, MSEC, PROBE_FAIL), PROBE_VERDICT_NOT_READY);
	/* It keeps failing: nothing new, and never a restart. */
	for (int i = 0; i < 10; i++) {
		t += SEC;
		cr_assert_eq(check(&pl, PROBE_READINESS, t, MSEC, PROBE_FAIL), PROBE_VERDICT_NONE);
	}
	cr_assert(pl.active);
	t += SEC;
	cr_assert_eq(check(&pl, PROBE_READINESS, t, MSEC, PROBE_PASS), PROBE_VERDICT_NONE);
	t += SEC;
	cr_assert_eq(check(&pl, PROBE_READINESS, t, MSEC, PROBE_PASS), PROBE_VERDICT_READY);
}

Test(probe, a_new_run_starts_with_fresh_counts_and_startup_again)
{
	struct probe_config cfgs[PROBE_ROLE_COUNT] = {
		[PROBE_STARTUP] = probe(PROBE_EXEC, 0, 1 * SEC, 1, 3),
		[PROBE_LIVENESS] = probe(PROBE_HTTP, 0, 1 * SEC, 1, 3),
	};
	struct probe_plan pl;

	probe_plan_init(&pl, cfgs);
	probe_plan_begin(&pl, 0);
	check(&pl, PROBE_STARTUP, 0, MSEC, PROBE_PASS);
	check(&pl, PROBE_LIVENESS, MSEC, MSEC, PROBE_FAIL);
	check(&pl, PROBE_LIVENESS, SEC + MSEC, MSEC, PROBE_FAIL);
	probe_plan_end(&pl);
	cr_assert_not(probe_plan_take_due(&pl, PROBE_LIVENESS, 100 * SEC));

	probe_plan_begin(&pl, 100 * SEC);
	cr_assert_not(pl.started);
	cr_assert_eq(pl.counts[PROBE_LIVENESS].failures, 0);
	cr_assert_eq(pl.counts[PROBE_LIVENESS].health, PROBE_HEALTH_UNKNOWN);
	cr_assert_eq(pl.due[PROBE_STARTUP], 100 * SEC);
	cr_assert_eq(pl.due[PROBE_LIVENESS], USEC_INFINITY);
}

Test(probe, a_liveness_restart_leaves_the_health_failing_until_the_next_run_passes)
{
	struct probe_config cfgs[PROBE_ROLE_COUNT] = {
		[PROBE_LIVENESS] = probe(PROBE_HTTP, 0, 1 * SEC, 1, 2),
	};
	struct probe_plan pl;
	uint64_t t = 0;

	probe_plan_init(&pl, cfgs);
	cr_assert_eq(probe_plan_health(&pl, PROBE_LIVENESS), PROBE_HEALTH_UNKNOWN);
	probe_plan_begin(&pl, t);
	check(&pl, PROBE_LIVENESS, t, MSEC, PROBE_FAIL);
	t += SEC;
	cr_assert_eq(check(&pl, PROBE_LIVENESS, t, MSEC, PROBE_FAIL), PROBE_VERDICT_UNHEALTHY);

	/* The next run, and one after that which ended before its liveness decided. */
	for (int run = 0; run < 2; run++) {
		t += 10 * SEC;
		probe_plan_begin(&pl, t);
		cr_assert_eq(pl.counts[PROBE_LIVENESS].failures, 0);
		cr_assert_eq(probe_plan_health(&pl, PROBE_LIVENESS), PROBE_HEALTH_FAILING);
		cr_assert_eq(check(&pl, PROBE_LIVENESS, t, MSEC, PROBE_FAIL), PROBE_VERDICT_NONE);
		cr_assert_eq(probe_plan_health(&pl, PROBE_LIVENESS), PROBE_HEALTH_FAILING);
		probe_plan_end(&pl);
	}
	/* Failing again counts from zero and restarts at the threshold, as before. */
	t += 10 * SEC;
	probe_plan_begin(&pl, t);
	cr_assert_eq(check(&pl, PROBE_LIVENESS, t, MSEC, PROBE_FAIL), PROBE_VERDICT_NONE);
	t += SEC;
	cr_assert_eq(check(&pl, PROBE_LIVENESS, t, MSEC, PROBE_FAIL), PROBE_VERDICT_UNHEALTHY);
	cr_assert_eq(probe_plan_health(&pl, PROBE_LIVENESS), PROBE_HEALTH_FAILING);

	/* Only a pass makes it healthy, and a run after that starts unknown. */
	t += 10 * SEC;
	probe_plan_begin(&pl, t);
	check(&pl, PROBE_LIVENESS, t, MSEC, PROBE_PASS);
	cr_assert_eq(probe_plan_health(&pl, PROBE_LIVENESS), PROBE_HEALTH_PASSING);
	probe_plan_end(&pl);
	probe_plan_begin(&pl, t + 10 * SEC);
	cr_assert_eq(probe_plan_health(&pl, PROBE_LIVENESS), PROBE_HEALTH_UNKNOWN);
}

Test(probe, a_result_after_the_run_ended_is_ignored)
{
	struct probe_config cfgs[PROBE_ROLE_COUNT] = {
		[PROBE_LIVENESS] = probe(PROBE_HTTP, 0, 1 * SEC, 1, 1),
	};
	struct probe_plan pl;

	probe_plan_init(&pl, cfgs);
	probe_plan_begin(&pl, 0);
	cr_assert(probe_plan_take_due(&pl, PROBE_LIVENESS, 0));
	probe_plan_end(&pl);
	cr_assert_eq(probe_plan_result(&pl, PROBE_LIVENESS, PROBE_FAIL, MSEC), PROBE_VERDICT_NONE);
	cr_assert_eq(pl.counts[PROBE_LIVENESS].failures, 0);
}

Test(probe, only_http_needs_loading)
{
	char why[256] = "";

	cr_assert_eq(probe_kind_load(PROBE_TCP, why, sizeof(why)), 0);
	cr_assert_eq(probe_kind_load(PROBE_EXEC, why, sizeof(why)), 0);
	cr_assert_eq(probe_kind_load(PROBE_UNIX, why, sizeof(why)), 0);
	cr_assert_eq(probe_kind_load(PROBE_NONE, why, sizeof(why)), -EINVAL);
	cr_assert_str_eq(probe_kind_from_type(PROBE_HTTP)->name, "http");
}

/* ---- a probe set on a real loop ---- */

struct seen {
	int verdicts[8];
	int results;
	char last[256];
	sd_event *event;
};

static void on_verdict(struct probe_set *set, enum probe_role role, enum probe_verdict v,
		       const char *message, void *userdata)
{
	struct seen *s = userdata;

	(void)set;
	(void)role;
	s->verdicts[v]++;
	s->results++;
	snprintf(s->last, sizeof(s->last), "%s", message);
}

/* Runs the loop until @results checks have ended (the test's timeout bounds it). */
static void run_until(struct seen *s, int results)
{
	while (s->results < results)
		cr_assert_geq(sd_event_run(s->event, UINT64_MAX), 0);
}

Test(probe_set, no_probe_configured_means_no_set_at_all)
{
	struct probe_config cfgs[PROBE_ROLE_COUNT] = {0};
	struct probe_host host = {.service = "x"};
	struct probe_set *set = (struct probe_set *)1;

	cr_assert_eq(probe_set_new(&host, cfgs, NULL, NULL, &set), 0);
	cr_assert_null(set);
}

Test(probe_set, unix_probe_passes_against_a_listener_and_fails_without, .timeout = 10)
{
	char dir[] = "/tmp/vigil-probe.XXXXXX", path[100];
	struct probe_config cfgs[PROBE_ROLE_COUNT] = {
		[PROBE_READINESS] = probe(PROBE_UNIX, 0, 20 * MSEC, 1, 2),
	};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct seen seen = {0};
	struct probe_host host = {.service = "u"};
	struct probe_set *set;
	struct probe_info info;
	int fd;

	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%.64s/sock", dir);
	cfgs[PROBE_READINESS].target = path;
	cr_assert_geq(sd_event_new(&seen.event), 0);
	host.event = seen.event;
	cr_assert_eq(probe_set_new(&host, cfgs, on_verdict, &seen, &set), 0);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 16), 0);
	probe_set_begin(set);
	run_until(&seen, 1);
	cr_assert_eq(seen.verdicts[PROBE_VERDICT_READY], 1);
	cr_assert_str_eq(seen.last, "connected");

	close(fd);
	unlink(path);
	run_until(&seen, 3);
	cr_assert_eq(seen.verdicts[PROBE_VERDICT_NOT_READY], 1);
	cr_assert_str_eq(seen.last, strerror(ENOENT));
	cr_assert_eq(probe_set_get_info(set, PROBE_READINESS, &info), 0);
	cr_assert_eq(info.health, PROBE_HEALTH_FAILING);
	cr_assert_eq(info.consecutive_failures, 2);
	cr_assert_eq(info.checks_total, 3);
	cr_assert_eq(info.failures_total, 2);
	cr_assert(info.has_result);
	cr_assert_eq(info.last_result, PROBE_FAIL);
	cr_assert_gt(info.last_time, 0);
	cr_assert_eq(info.duration_buckets[PROBE_DURATION_BUCKETS - 1], 3);
	cr_assert_eq(probe_set_get_info(set, PROBE_LIVENESS, &info), -ENOENT);

	probe_set_stop(set);
	cr_assert_not(probe_set_is_active(set));
	probe_set_free(set);
	sd_event_unref(seen.event);
	rmdir(dir);
}

Test(probe_set, tcp_probe_to_a_closed_port_fails, .timeout = 10)
{
	struct probe_config cfgs[PROBE_ROLE_COUNT] = {
		[PROBE_LIVENESS] = probe(PROBE_TCP, 0, 10 * MSEC, 1, 2),
	};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t len = sizeof(sa);
	struct seen seen = {0};
	struct probe_host host = {.service = "t"};
	struct probe_set *set;
	char target[64];
	int fd;

	/* A port that was free a moment ago: bound, then closed. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	snprintf(target, sizeof(target), "127.0.0.1:%d", ntohs(sa.sin_port));
	cfgs[PROBE_LIVENESS].target = target;

	cr_assert_geq(sd_event_new(&seen.event), 0);
	host.event = seen.event;
	cr_assert_eq(probe_set_new(&host, cfgs, on_verdict, &seen, &set), 0);
	probe_set_begin(set);
	run_until(&seen, 2);
	cr_assert_eq(seen.verdicts[PROBE_VERDICT_UNHEALTHY], 1);
	cr_assert_str_eq(seen.last, strerror(ECONNREFUSED));
	cr_assert_not(probe_set_is_active(set));
	probe_set_free(set);
	sd_event_unref(seen.event);
}

Test(probe_set, tcp_probe_resolves_a_host_name_without_blocking, .timeout = 10)
{
	struct probe_config cfgs[PROBE_ROLE_COUNT] = {
		[PROBE_READINESS] = probe(PROBE_TCP, 0, 10 * MSEC, 1, 1),
	};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t len = sizeof(sa);
	struct seen seen = {0};
	struct probe_host host = {.service = "t"};
	struct probe_set *set;
	char target[64];
	int fd;

	{
		/* A bare chroot has no /etc/hosts: then nothing resolves "localhost". */
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
		if (getaddrinfo("localhost", "1", &hints, &ai) != 0)
			cr_skip_test("this machine cannot resolve localhost (no /etc/hosts?)");
		freeaddrinfo(ai);
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 16), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(target, sizeof(target), "localhost:%d", ntohs(sa.sin_port));
	cfgs[PROBE_READINESS].target = target;

	cr_assert_geq(sd_event_new(&seen.event), 0);
	host.event = seen.event;
	cr_assert_eq(probe_set_new(&host, cfgs, on_verdict, &seen, &set), 0);
	probe_set_begin(set);
	run_until(&seen, 1);
	/* localhost may name ::1 first, where nothing listens: the next address is tried. */
	cr_assert_eq(seen.verdicts[PROBE_VERDICT_READY], 1, "last: %s", seen.last);
	probe_set_free(set);
	close(fd);
	sd_event_unref(seen.event);
}

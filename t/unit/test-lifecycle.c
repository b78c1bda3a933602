/* test-lifecycle.c: the service state machine, state by state, on a fake clock. */
#include <stdbool.h>
#include <stdint.h>

#include <criterion/criterion.h>

#include "lifecycle.h"
#include "macro.h"
#include "service-state.h"

#define assert_state(lc, expected)                         \
	cr_assert_eq((lc)->state,                          \
		     (expected),                           \
		     "state is %s, expected %s",           \
		     service_state_to_string((lc)->state), \
		     service_state_to_string(expected))

/* A service with vigil.conf's defaults (SPEC §4) that is ready once spawned; each
 * test changes the fields it is about. */
static struct lifecycle_policy base_policy(void)
{
	return (struct lifecycle_policy){
		.restart = RESTART_ALWAYS,
		.ready_on_spawn = true,
		.backoff = {.delay = 100 * MSEC, .delay_max = 30 * SEC, .factor = 2.0},
		.stable_after = 30 * SEC,
		.start_timeout = 60 * SEC,
		.stop_timeout = 10 * SEC,
	};
}

/* Starts @lc (its requirements ready) at @now and reports it spawned: running when
 * the policy says ready = started. */
static void bring_up(struct lifecycle *lc, uint64_t now)
{
	lc->deps_ready = true;
	cr_assert_eq(lifecycle_step(lc, LC_EV_START, now) & LC_SPAWN, LC_SPAWN);
	lifecycle_step(lc, LC_EV_SPAWNED, now);
	assert_state(lc, lc->policy->ready_on_spawn ? SERVICE_RUNNING : SERVICE_STARTING);
}

/* From backoff: waits for the timer, respawns, runs for @run and exits with a failure.
 * Returns the time of that exit. */
static uint64_t restart_and_fail(struct lifecycle *lc, uint64_t run)
{
	uint64_t t = lc->deadline;

	assert_state(lc, SERVICE_BACKOFF);
	cr_assert_eq(lifecycle_step(lc, LC_EV_TIMEOUT, t) & LC_SPAWN, LC_SPAWN);
	lifecycle_step(lc, LC_EV_SPAWNED, t);
	lifecycle_step(lc, LC_EV_EXIT_FAILURE, t + run);
	return t + run;
}

/* Feeds @ev and checks that a state which ignores it neither moves nor asks for anything. */
static void assert_ignored(struct lifecycle *lc, enum lc_event ev, uint64_t now)
{
	enum service_state before = lc->state;
	uint64_t deadline = lc->deadline;
	bool want_up = lc->want_up, ready = lc->ready;
	unsigned mask = lifecycle_step(lc, ev, now);

	cr_assert_eq(mask,
		     0,
		     "%s in %s asked for 0x%x",
		     lifecycle_event_to_string(ev),
		     service_state_to_string(before),
		     mask);
	cr_assert_eq(lc->state,
		     before,
		     "%s moved %s to %s",
		     lifecycle_event_to_string(ev),
		     service_state_to_string(before),
		     service_state_to_string(lc->state));
	cr_assert_eq(lc->deadline, deadline);
	cr_assert_eq(lc->want_up, want_up);
	cr_assert_eq(lc->ready, ready);
}

/* ---- stopped */

Test(lifecycle, a_new_machine_is_stopped_unwanted_and_without_a_timer)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	assert_state(&lc, SERVICE_STOPPED);
	cr_assert_not(lc.want_up);
	cr_assert_not(lc.ready);
	cr_assert_eq(lc.deadline, USEC_INFINITY);
	cr_assert_eq(lc.failures, 0);
	cr_assert_eq(lc.restarts, 0);
	cr_assert_eq(lc.policy, &policy);
}

Test(lifecycle, start_with_requirements_ready_spawns_at_once)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	cr_assert_eq(lifecycle_step(&lc, LC_EV_START, 5 * SEC), LC_SPAWN | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STARTING);
	cr_assert(lc.want_up);
	cr_assert_not(lc.ready);
	cr_assert_eq(lc.deadline, 65 * SEC);
}

Test(lifecycle, start_without_a_start_timeout_arms_no_timer)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.ready_on_spawn = false;
	policy.start_timeout = 0;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	cr_assert_eq(lifecycle_step(&lc, LC_EV_START, 0), LC_SPAWN);
	assert_state(&lc, SERVICE_STARTING);
	cr_assert_eq(lc.deadline, USEC_INFINITY);
}

Test(lifecycle, start_without_requirements_ready_waits_then_spawns_when_they_are)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = false;
	cr_assert_eq(lifecycle_step(&lc, LC_EV_START, 0), 0);
	assert_state(&lc, SERVICE_WAITING);
	cr_assert(lc.want_up);
	cr_assert_eq(lc.deadline, USEC_INFINITY);

	lc.deps_ready = true;
	cr_assert_eq(lifecycle_step(&lc, LC_EV_DEPS_READY, 3 * SEC), LC_SPAWN | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STARTING);
	cr_assert_eq(lc.deadline, 63 * SEC);
}

Test(lifecycle, restart_of_a_stopped_service_starts_it)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	cr_assert_eq(lifecycle_step(&lc, LC_EV_RESTART, 0), LC_SPAWN | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STARTING);
	cr_assert(lc.want_up);
}

Test(lifecycle, a_stopped_service_ignores_everything_but_start_and_restart)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	for (enum lc_event ev = 0; ev < LC_EV_COUNT; ev++)
		if (ev != LC_EV_START && ev != LC_EV_RESTART)
			assert_ignored(&lc, ev, 1 * SEC);
}

/* ---- waiting */

Test(lifecycle, deps_ready_without_the_flag_keeps_waiting)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	lifecycle_step(&lc, LC_EV_START, 0);
	assert_state(&lc, SERVICE_WAITING);
	assert_ignored(&lc, LC_EV_DEPS_READY, 1 * SEC);
}

Test(lifecycle, stop_while_waiting_stops_and_drops_the_wish)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	lifecycle_step(&lc, LC_EV_START, 0);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_STOP, 1 * SEC), 0);
	assert_state(&lc, SERVICE_STOPPED);
	cr_assert_not(lc.want_up);

	/* Requirements becoming ready later start nothing. */
	lc.deps_ready = true;
	assert_ignored(&lc, LC_EV_DEPS_READY, 2 * SEC);
}

Test(lifecycle, a_waiting_service_ignores_process_and_probe_events)
{
	struct lifecycle_policy policy = base_policy();
	static const enum lc_event events[] = {
		LC_EV_START,
		LC_EV_RESTART,
		LC_EV_DEPS_LOST,
		LC_EV_SPAWNED,
		LC_EV_SPAWN_FAILED,
		LC_EV_READY,
		LC_EV_NOT_READY,
		LC_EV_EXIT_SUCCESS,
		LC_EV_EXIT_FAILURE,
		LC_EV_UNHEALTHY,
		LC_EV_TIMEOUT,
	};
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	lifecycle_step(&lc, LC_EV_START, 0);
	assert_state(&lc, SERVICE_WAITING);
	for (size_t i = 0; i < ELEMENTSOF(events); i++)
		assert_ignored(&lc, events[i], 1 * SEC);
}

/* ---- starting */

Test(lifecycle, ready_started_makes_a_spawned_service_running_and_ready)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	/* The start timer is no longer needed: the deadline goes and the timer with it. */
	cr_assert_eq(lifecycle_step(&lc, LC_EV_SPAWNED, 2 * MSEC), LC_ARM_TIMER);
	assert_state(&lc, SERVICE_RUNNING);
	cr_assert(lc.ready);
	cr_assert_eq(lc.deadline, USEC_INFINITY);
}

Test(lifecycle, ready_notify_waits_in_starting_until_ready)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.ready_on_spawn = false;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_SPAWNED, 2 * MSEC), 0);
	assert_state(&lc, SERVICE_STARTING);
	cr_assert_not(lc.ready);
	cr_assert_eq(lc.deadline, 60 * SEC);

	cr_assert_eq(lifecycle_step(&lc, LC_EV_READY, 3 * SEC), LC_ARM_TIMER);
	assert_state(&lc, SERVICE_RUNNING);
	cr_assert(lc.ready);
	cr_assert_eq(lc.deadline, USEC_INFINITY);
}

Test(lifecycle, a_starting_service_ignores_start_deps_ready_and_not_ready)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.ready_on_spawn = false;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	assert_ignored(&lc, LC_EV_START, 1 * SEC);
	assert_ignored(&lc, LC_EV_DEPS_READY, 1 * SEC);
	assert_ignored(&lc, LC_EV_NOT_READY, 1 * SEC);
	assert_state(&lc, SERVICE_STARTING);
}

Test(lifecycle, a_oneshot_stays_starting_after_spawn_and_exits_ready_on_success)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_NEVER;
	policy.oneshot = true;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_SPAWNED, 1 * MSEC), 0);
	assert_state(&lc, SERVICE_STARTING);
	cr_assert_not(lc.ready);

	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_SUCCESS, 2 * SEC), LC_ARM_TIMER);
	assert_state(&lc, SERVICE_EXITED);
	cr_assert(lc.ready);
	cr_assert_eq(lc.deadline, USEC_INFINITY);
}

Test(lifecycle, a_oneshot_that_fails_is_failed_and_not_ready)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_NEVER;
	policy.oneshot = true;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	lifecycle_step(&lc, LC_EV_SPAWNED, 1 * MSEC);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 2 * SEC), LC_ARM_TIMER);
	assert_state(&lc, SERVICE_FAILED);
	cr_assert_not(lc.ready);
}

Test(lifecycle, a_oneshot_with_restart_on_failure_retries_after_a_failure)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_ON_FAILURE;
	policy.oneshot = true;
	policy.ready_on_spawn = false;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	lifecycle_step(&lc, LC_EV_SPAWNED, 1 * MSEC);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 1 * SEC);
	assert_state(&lc, SERVICE_BACKOFF);
	cr_assert_eq(lc.deadline, 1 * SEC + 100 * MSEC);

	lifecycle_step(&lc, LC_EV_TIMEOUT, lc.deadline);
	lifecycle_step(&lc, LC_EV_EXIT_SUCCESS, 2 * SEC);
	assert_state(&lc, SERVICE_EXITED);
	cr_assert(lc.ready);
}

Test(lifecycle, a_failed_spawn_with_restart_never_is_failed)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_NEVER;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_SPAWN_FAILED, 1 * MSEC), LC_ARM_TIMER);
	assert_state(&lc, SERVICE_FAILED);
	cr_assert_eq(lc.deadline, USEC_INFINITY);
	cr_assert_not(lc.ready);
}

Test(lifecycle, a_failed_spawn_with_restart_always_backs_off)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_SPAWN_FAILED, 1 * MSEC), LC_ARM_TIMER);
	assert_state(&lc, SERVICE_BACKOFF);
	cr_assert_eq(lc.deadline, 101 * MSEC);
	cr_assert_eq(lc.failures, 1);
	cr_assert_eq(lc.restarts, 1);
}

Test(lifecycle, a_failed_spawn_with_restart_on_failure_backs_off)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_ON_FAILURE;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	lifecycle_step(&lc, LC_EV_SPAWN_FAILED, 1 * MSEC);
	assert_state(&lc, SERVICE_BACKOFF);
	cr_assert_eq(lc.deadline, 101 * MSEC);
}

Test(lifecycle, repeated_failed_spawns_climb_the_backoff)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;
	uint64_t t;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	lifecycle_step(&lc, LC_EV_SPAWN_FAILED, 0);
	cr_assert_eq(lc.deadline, 100 * MSEC);
	t = lc.deadline;
	lifecycle_step(&lc, LC_EV_TIMEOUT, t);
	lifecycle_step(&lc, LC_EV_SPAWN_FAILED, t);
	cr_assert_eq(lc.deadline, t + 200 * MSEC);
	t = lc.deadline;
	lifecycle_step(&lc, LC_EV_TIMEOUT, t);
	lifecycle_step(&lc, LC_EV_SPAWN_FAILED, t);
	cr_assert_eq(lc.deadline, t + 400 * MSEC);
}

Test(lifecycle, an_exit_before_ready_is_a_failed_run)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_ON_FAILURE;
	policy.ready_on_spawn = false;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	lifecycle_step(&lc, LC_EV_SPAWNED, 0);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 2 * SEC), LC_ARM_TIMER);
	assert_state(&lc, SERVICE_BACKOFF);
	cr_assert_eq(lc.deadline, 2 * SEC + 100 * MSEC);
}

Test(lifecycle, a_simple_service_exiting_with_success_before_ready_is_exited_under_on_failure)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_ON_FAILURE;
	policy.ready_on_spawn = false;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	lifecycle_step(&lc, LC_EV_SPAWNED, 0);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_SUCCESS, 2 * SEC), LC_ARM_TIMER);
	assert_state(&lc, SERVICE_EXITED);
	cr_assert_not(lc.ready);
}

Test(lifecycle, start_timeout_stops_the_service_as_a_failed_start)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.ready_on_spawn = false;
	policy.start_timeout = 2 * SEC;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	lifecycle_step(&lc, LC_EV_SPAWNED, 1 * MSEC);
	cr_assert_eq(lc.deadline, 2 * SEC);

	cr_assert_eq(lifecycle_step(&lc, LC_EV_TIMEOUT, 2 * SEC), LC_SIGNAL_STOP | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STOPPING);
	cr_assert_not_null(lc.note);
	cr_assert_str_eq(lc.note, "start timed out");
	cr_assert_eq(lc.deadline, 12 * SEC);
	cr_assert(lc.want_up);

	/* Even a clean exit after the stop signal counts as a failed run. */
	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_SUCCESS, 2500 * MSEC), LC_ARM_TIMER);
	assert_state(&lc, SERVICE_BACKOFF);
	cr_assert_eq(lc.deadline, 2600 * MSEC);
	cr_assert_eq(lc.failures, 1);
}

Test(lifecycle, start_timeout_with_restart_never_ends_failed)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_NEVER;
	policy.ready_on_spawn = false;
	policy.start_timeout = 2 * SEC;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	lifecycle_step(&lc, LC_EV_SPAWNED, 1 * MSEC);
	lifecycle_step(&lc, LC_EV_TIMEOUT, 2 * SEC);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 3 * SEC);
	assert_state(&lc, SERVICE_FAILED);
}

Test(lifecycle, unhealthy_while_starting_stops_and_counts_as_a_failure)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_ON_FAILURE;
	policy.ready_on_spawn = false;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	lifecycle_step(&lc, LC_EV_SPAWNED, 0);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_UNHEALTHY, 5 * SEC), LC_SIGNAL_STOP | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STOPPING);
	cr_assert_eq(lc.deadline, 15 * SEC);
	lifecycle_step(&lc, LC_EV_EXIT_SUCCESS, 6 * SEC);
	assert_state(&lc, SERVICE_BACKOFF);
	cr_assert_eq(lc.deadline, 6 * SEC + 100 * MSEC);
}

Test(lifecycle, stop_while_starting_stops_for_good)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.ready_on_spawn = false;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	lifecycle_step(&lc, LC_EV_SPAWNED, 0);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_STOP, 1 * SEC), LC_SIGNAL_STOP | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STOPPING);
	cr_assert_not(lc.want_up);
	cr_assert_eq(lc.deadline, 11 * SEC);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 2 * SEC), LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STOPPED);
}

Test(lifecycle, restart_while_starting_stops_then_starts_again)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_NEVER;
	policy.ready_on_spawn = false;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	lifecycle_step(&lc, LC_EV_SPAWNED, 0);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_RESTART, 1 * SEC), LC_SIGNAL_STOP | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STOPPING);
	cr_assert(lc.want_up);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 2 * SEC), LC_SPAWN | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STARTING);
	cr_assert_eq(lc.deadline, 62 * SEC);
}

Test(lifecycle, deps_lost_while_starting_stops_and_waits_for_them)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.ready_on_spawn = false;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	lifecycle_step(&lc, LC_EV_SPAWNED, 0);
	lc.deps_ready = false;
	cr_assert_eq(lifecycle_step(&lc, LC_EV_DEPS_LOST, 1 * SEC), LC_SIGNAL_STOP | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STOPPING);
	cr_assert(lc.want_up);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 2 * SEC), LC_ARM_TIMER);
	assert_state(&lc, SERVICE_WAITING);
	cr_assert_eq(lc.failures, 0);
}

/* ---- running */

Test(lifecycle, ready_and_not_ready_toggle_the_ready_flag_while_running)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	cr_assert(lc.ready);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_NOT_READY, 1 * SEC), 0);
	assert_state(&lc, SERVICE_RUNNING);
	cr_assert_not(lc.ready);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_NOT_READY, 2 * SEC), 0);
	cr_assert_not(lc.ready);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_READY, 3 * SEC), 0);
	assert_state(&lc, SERVICE_RUNNING);
	cr_assert(lc.ready);
	cr_assert_eq(lc.deadline, USEC_INFINITY);
}

Test(lifecycle, a_running_service_ignores_start_deps_ready_spawn_events_and_timeouts)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	assert_ignored(&lc, LC_EV_START, 1 * SEC);
	assert_ignored(&lc, LC_EV_DEPS_READY, 1 * SEC);
	assert_ignored(&lc, LC_EV_SPAWNED, 1 * SEC);
	assert_ignored(&lc, LC_EV_SPAWN_FAILED, 1 * SEC);
	assert_ignored(&lc, LC_EV_TIMEOUT, 1 * SEC);
	assert_state(&lc, SERVICE_RUNNING);
}

Test(lifecycle, a_failed_exit_backs_off_for_the_restart_delay)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 5 * SEC), LC_ARM_TIMER);
	assert_state(&lc, SERVICE_BACKOFF);
	cr_assert_eq(lc.deadline, 5 * SEC + 100 * MSEC);
	cr_assert_not(lc.ready);
	cr_assert(lc.want_up);
	cr_assert_eq(lc.failures, 1);
	cr_assert_eq(lc.restarts, 1);

	cr_assert_eq(lifecycle_step(&lc, LC_EV_TIMEOUT, 5 * SEC + 100 * MSEC),
		     LC_SPAWN | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STARTING);
	cr_assert_eq(lc.deadline, 65 * SEC + 100 * MSEC);
}

Test(lifecycle, the_nth_consecutive_failure_waits_delay_times_factor_to_the_n_minus_1_capped)
{
	struct lifecycle_policy policy = base_policy();
	static const uint64_t expected[] = {
		100 * MSEC,
		200 * MSEC,
		400 * MSEC,
		800 * MSEC,
		1600 * MSEC,
		3200 * MSEC,
		5 * SEC,
		5 * SEC,
		5 * SEC,
	};
	struct lifecycle lc;
	uint64_t t = 1 * SEC;

	policy.backoff =
		(struct backoff_policy){.delay = 100 * MSEC, .delay_max = 5 * SEC, .factor = 2.0};

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, t);
	cr_assert_eq(lc.deadline - t, expected[0]);
	for (size_t n = 1; n < ELEMENTSOF(expected); n++) {
		t = restart_and_fail(&lc, 1 * SEC);
		assert_state(&lc, SERVICE_BACKOFF);
		cr_assert_eq(lc.failures, n + 1);
		cr_assert_eq(lc.deadline - t,
			     expected[n],
			     "failure %zu waits %llu µs, expected %llu",
			     n + 1,
			     (unsigned long long)(lc.deadline - t),
			     (unsigned long long)expected[n]);
	}
	cr_assert_eq(lc.restarts, ELEMENTSOF(expected));
}

Test(lifecycle, a_run_of_at_least_stable_after_resets_the_backoff_to_the_first_delay)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;
	uint64_t t;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 1 * SEC);
	restart_and_fail(&lc, 1 * SEC);
	t = restart_and_fail(&lc, 1 * SEC);
	cr_assert_eq(lc.deadline - t, 400 * MSEC);

	t = restart_and_fail(&lc, 30 * SEC); /* exactly stable-after */
	cr_assert_eq(lc.deadline - t, 100 * MSEC);
	cr_assert_eq(lc.failures, 1);

	t = restart_and_fail(&lc, 1 * SEC);
	cr_assert_eq(lc.deadline - t, 200 * MSEC);
}

Test(lifecycle, a_run_just_short_of_stable_after_still_climbs_the_backoff)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;
	uint64_t t;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 1 * SEC);
	t = restart_and_fail(&lc, 30 * SEC - 1);
	cr_assert_eq(lc.deadline - t, 200 * MSEC);
}

Test(lifecycle, a_first_run_of_at_least_stable_after_waits_the_first_delay)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 3600 * SEC);
	cr_assert_eq(lc.deadline, 3600 * SEC + 100 * MSEC);
}

Test(lifecycle, restart_limit_within_the_window_fails_the_service)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart_limit = 3;
	policy.restart_window = 60 * SEC;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 1 * SEC);
	assert_state(&lc, SERVICE_BACKOFF);
	restart_and_fail(&lc, 1 * SEC);
	assert_state(&lc, SERVICE_BACKOFF);
	restart_and_fail(&lc, 1 * SEC);
	assert_state(&lc, SERVICE_BACKOFF);
	cr_assert_eq(lc.restarts, 3);

	restart_and_fail(&lc, 1 * SEC);
	assert_state(&lc, SERVICE_FAILED);
	cr_assert_not_null(lc.note);
	cr_assert_str_eq(lc.note, "restart limit reached");
	cr_assert_eq(lc.restarts, 3);
	cr_assert_eq(lc.deadline, USEC_INFINITY);

	/* Failed stays failed: no timer brings it back. */
	assert_ignored(&lc, LC_EV_TIMEOUT, 100 * SEC);
}

Test(lifecycle, restarts_spread_out_in_time_never_reach_the_limit)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart_limit = 2;
	policy.restart_window = 10 * SEC;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 1 * SEC);
	for (int i = 0; i < 10; i++) {
		restart_and_fail(&lc, 6 * SEC);
		assert_state(&lc, SERVICE_BACKOFF);
	}
	cr_assert_eq(lc.restarts, 11);
}

Test(lifecycle, restart_on_failure_restarts_after_a_failure)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_ON_FAILURE;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 1 * SEC), LC_ARM_TIMER);
	assert_state(&lc, SERVICE_BACKOFF);
}

Test(lifecycle, restart_on_failure_leaves_a_successful_exit_exited)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_ON_FAILURE;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_SUCCESS, 1 * SEC), 0);
	assert_state(&lc, SERVICE_EXITED);
	cr_assert_eq(lc.deadline, USEC_INFINITY);
	cr_assert_eq(lc.restarts, 0);
}

Test(lifecycle, restart_always_restarts_even_after_a_successful_exit)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_SUCCESS, 1 * SEC), LC_ARM_TIMER);
	assert_state(&lc, SERVICE_BACKOFF);
	cr_assert_eq(lc.deadline, 1 * SEC + 100 * MSEC);
}

Test(lifecycle, restart_never_leaves_any_exit_exited)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_NEVER;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 1 * SEC), 0);
	assert_state(&lc, SERVICE_EXITED);

	lifecycle_step(&lc, LC_EV_START, 2 * SEC);
	lifecycle_step(&lc, LC_EV_SPAWNED, 2 * SEC);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_SUCCESS, 3 * SEC), 0);
	assert_state(&lc, SERVICE_EXITED);
	cr_assert_eq(lc.restarts, 0);
}

/* SPEC §4: running is "alive and has been ready"; an exited simple service is
 * neither, so /readyz must not count it ready. Only a oneshot exits ready. */
Test(lifecycle, a_simple_service_that_exits_is_no_longer_ready)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_NEVER;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	cr_assert(lc.ready);
	lifecycle_step(&lc, LC_EV_EXIT_SUCCESS, 1 * SEC);
	assert_state(&lc, SERVICE_EXITED);
	cr_assert_not(lc.ready, "an exited simple service still claims to be ready");
}

Test(lifecycle, a_simple_service_that_fails_without_a_restart_is_no_longer_ready)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_NEVER;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	cr_assert(lc.ready);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 1 * SEC);
	assert_state(&lc, SERVICE_EXITED);
	cr_assert_not(lc.ready, "an exited simple service still claims to be ready");
}

Test(lifecycle, stop_while_running_signals_then_kills_at_the_stop_timeout)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_STOP, 5 * SEC), LC_SIGNAL_STOP | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STOPPING);
	cr_assert_not(lc.want_up);
	cr_assert_not(lc.ready);
	cr_assert_eq(lc.deadline, 15 * SEC);

	cr_assert_eq(lifecycle_step(&lc, LC_EV_TIMEOUT, 15 * SEC), LC_SIGNAL_KILL | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STOPPING);
	cr_assert_eq(lc.deadline, USEC_INFINITY);

	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 15 * SEC + 1 * MSEC), 0);
	assert_state(&lc, SERVICE_STOPPED);
	cr_assert_eq(lc.restarts, 0);
}

Test(lifecycle, a_service_that_exits_on_its_stop_signal_is_stopped)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_STOP, 5 * SEC);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_SUCCESS, 6 * SEC), LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STOPPED);
	cr_assert_eq(lc.deadline, USEC_INFINITY);
}

Test(lifecycle, restart_while_running_stops_then_starts_on_exit)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_NEVER;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_RESTART, 5 * SEC), LC_SIGNAL_STOP | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STOPPING);
	cr_assert(lc.want_up);
	cr_assert_not(lc.ready);

	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 6 * SEC), LC_SPAWN | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STARTING);
	cr_assert_eq(lc.deadline, 66 * SEC);
	cr_assert_eq(lc.failures, 0);
}

Test(lifecycle, unhealthy_while_running_stops_and_the_exit_is_a_failure)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_ON_FAILURE;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_UNHEALTHY, 5 * SEC), LC_SIGNAL_STOP | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STOPPING);
	cr_assert(lc.want_up);
	cr_assert_eq(lc.deadline, 15 * SEC);

	/* It exits 0 on SIGTERM; on-failure still restarts it, and backoff counts it. */
	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_SUCCESS, 6 * SEC), LC_ARM_TIMER);
	assert_state(&lc, SERVICE_BACKOFF);
	cr_assert_eq(lc.deadline, 6 * SEC + 100 * MSEC);
	cr_assert_eq(lc.failures, 1);
	cr_assert_eq(lc.restarts, 1);
}

Test(lifecycle, repeated_unhealthy_kills_climb_the_backoff)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;
	uint64_t t;

	policy.restart = RESTART_ON_FAILURE;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_UNHEALTHY, 5 * SEC);
	lifecycle_step(&lc, LC_EV_EXIT_SUCCESS, 6 * SEC);
	t = lc.deadline;
	lifecycle_step(&lc, LC_EV_TIMEOUT, t);
	lifecycle_step(&lc, LC_EV_SPAWNED, t);
	lifecycle_step(&lc, LC_EV_UNHEALTHY, t + 5 * SEC);
	lifecycle_step(&lc, LC_EV_EXIT_SUCCESS, t + 6 * SEC);
	assert_state(&lc, SERVICE_BACKOFF);
	cr_assert_eq(lc.deadline - (t + 6 * SEC), 200 * MSEC);
}

Test(lifecycle, unhealthy_with_restart_never_ends_failed)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_NEVER;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_UNHEALTHY, 5 * SEC);
	lifecycle_step(&lc, LC_EV_EXIT_SUCCESS, 6 * SEC);
	assert_state(&lc, SERVICE_FAILED);
	cr_assert_not(lc.ready);
}

Test(lifecycle, stop_after_unhealthy_wins_over_the_restart)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_UNHEALTHY, 5 * SEC);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_STOP, 6 * SEC), 0);
	assert_state(&lc, SERVICE_STOPPING);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 7 * SEC);
	assert_state(&lc, SERVICE_STOPPED);
	cr_assert_eq(lc.restarts, 0);
}

Test(lifecycle, deps_lost_while_running_stops_then_waits_on_exit)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lc.deps_ready = false;
	cr_assert_eq(lifecycle_step(&lc, LC_EV_DEPS_LOST, 5 * SEC), LC_SIGNAL_STOP | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STOPPING);
	cr_assert(lc.want_up);

	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 6 * SEC), LC_ARM_TIMER);
	assert_state(&lc, SERVICE_WAITING);
	cr_assert_eq(lc.deadline, USEC_INFINITY);
	cr_assert_eq(lc.restarts, 0);

	lc.deps_ready = true;
	cr_assert_eq(lifecycle_step(&lc, LC_EV_DEPS_READY, 20 * SEC), LC_SPAWN | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STARTING);
}

/* ---- stopping */

Test(lifecycle, start_while_stopping_keeps_it_wanted_and_starts_on_exit)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_NEVER;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_STOP, 5 * SEC);
	cr_assert_not(lc.want_up);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_START, 6 * SEC), 0);
	assert_state(&lc, SERVICE_STOPPING);
	cr_assert(lc.want_up);
	cr_assert_eq(lc.deadline, 15 * SEC);

	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 7 * SEC), LC_SPAWN | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STARTING);
}

Test(lifecycle, restart_while_stopping_keeps_it_wanted)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_NEVER;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_STOP, 5 * SEC);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_RESTART, 6 * SEC), 0);
	cr_assert(lc.want_up);
	lifecycle_step(&lc, LC_EV_EXIT_SUCCESS, 7 * SEC);
	assert_state(&lc, SERVICE_STARTING);
}

Test(lifecycle, stop_while_stopping_for_a_restart_makes_it_unwanted)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_RESTART, 5 * SEC);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_STOP, 6 * SEC), 0);
	assert_state(&lc, SERVICE_STOPPING);
	cr_assert_not(lc.want_up);
	cr_assert_eq(lc.deadline, 15 * SEC);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 7 * SEC);
	assert_state(&lc, SERVICE_STOPPED);
}

Test(lifecycle, the_stop_timeout_kills_once_and_notes_why)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.stop_timeout = 3 * SEC;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_STOP, 1 * SEC);
	cr_assert_eq(lc.deadline, 4 * SEC);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_TIMEOUT, 4 * SEC), LC_SIGNAL_KILL | LC_ARM_TIMER);
	cr_assert_not_null(lc.note);
	cr_assert_str_eq(lc.note, "stop timed out");
	assert_state(&lc, SERVICE_STOPPING);
}

Test(lifecycle, a_stopping_service_ignores_probe_spawn_and_dependency_events)
{
	struct lifecycle_policy policy = base_policy();
	static const enum lc_event events[] = {
		LC_EV_DEPS_READY,
		LC_EV_DEPS_LOST,
		LC_EV_SPAWNED,
		LC_EV_SPAWN_FAILED,
		LC_EV_READY,
		LC_EV_NOT_READY,
		LC_EV_UNHEALTHY,
	};
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_STOP, 5 * SEC);
	for (size_t i = 0; i < ELEMENTSOF(events); i++)
		assert_ignored(&lc, events[i], 6 * SEC);
}

/* ---- backoff */

Test(lifecycle, stop_requested_while_backing_off_never_restarts)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 1 * MSEC);
	assert_state(&lc, SERVICE_BACKOFF);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_STOP, 2 * MSEC), LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STOPPED);
	cr_assert_not(lc.want_up);
	cr_assert_eq(lc.deadline, USEC_INFINITY);

	cr_assert_eq(lifecycle_step(&lc, LC_EV_TIMEOUT, 500 * MSEC), 0);
	assert_state(&lc, SERVICE_STOPPED);
}

Test(lifecycle, backoff_timeout_without_requirements_ready_waits)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 1 * SEC);
	lc.deps_ready = false;
	cr_assert_eq(lifecycle_step(&lc, LC_EV_TIMEOUT, lc.deadline), LC_ARM_TIMER);
	assert_state(&lc, SERVICE_WAITING);
	cr_assert_eq(lc.deadline, USEC_INFINITY);
}

Test(lifecycle, start_while_backing_off_starts_at_once_with_the_backoff_reset)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 1 * SEC);
	restart_and_fail(&lc, 1 * SEC);
	restart_and_fail(&lc, 1 * SEC);
	cr_assert_eq(lc.failures, 3);

	cr_assert_eq(lc.deadline, 3700 * MSEC);

	cr_assert_eq(lifecycle_step(&lc, LC_EV_START, 3500 * MSEC), LC_SPAWN | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STARTING);
	cr_assert_eq(lc.failures, 0);
	cr_assert_eq(lc.deadline, 63500 * MSEC);

	lifecycle_step(&lc, LC_EV_SPAWNED, 3500 * MSEC);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 4500 * MSEC);
	cr_assert_eq(lc.deadline, 4600 * MSEC);
}

Test(lifecycle, restart_while_backing_off_starts_at_once)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 1 * SEC);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_RESTART, 1 * SEC + 1), LC_SPAWN | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STARTING);
	cr_assert_eq(lc.failures, 0);
}

Test(lifecycle, a_backing_off_service_ignores_process_and_probe_events)
{
	struct lifecycle_policy policy = base_policy();
	static const enum lc_event events[] = {
		LC_EV_DEPS_READY,
		LC_EV_DEPS_LOST,
		LC_EV_SPAWNED,
		LC_EV_SPAWN_FAILED,
		LC_EV_READY,
		LC_EV_NOT_READY,
		LC_EV_EXIT_SUCCESS,
		LC_EV_EXIT_FAILURE,
		LC_EV_UNHEALTHY,
	};
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 1 * SEC);
	for (size_t i = 0; i < ELEMENTSOF(events); i++)
		assert_ignored(&lc, events[i], 1 * SEC + 50 * MSEC);
}

/* ---- exited and failed */

Test(lifecycle, start_after_exited_spawns_with_a_fresh_backoff)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_ON_FAILURE;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 1 * SEC);
	restart_and_fail(&lc, 1 * SEC);
	lifecycle_step(&lc, LC_EV_TIMEOUT, lc.deadline);
	lifecycle_step(&lc, LC_EV_SPAWNED, 3 * SEC);
	lifecycle_step(&lc, LC_EV_EXIT_SUCCESS, 4 * SEC);
	assert_state(&lc, SERVICE_EXITED);

	cr_assert_eq(lifecycle_step(&lc, LC_EV_START, 10 * SEC), LC_SPAWN | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STARTING);
	lifecycle_step(&lc, LC_EV_SPAWNED, 10 * SEC);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 11 * SEC);
	cr_assert_eq(lc.deadline, 11 * SEC + 100 * MSEC);
}

Test(lifecycle, start_after_failed_opens_a_fresh_restart_window)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart_limit = 1;
	policy.restart_window = 60 * SEC;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 1 * SEC);
	restart_and_fail(&lc, 1 * SEC);
	assert_state(&lc, SERVICE_FAILED);

	cr_assert_eq(lifecycle_step(&lc, LC_EV_START, 5 * SEC), LC_SPAWN | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STARTING);
	lifecycle_step(&lc, LC_EV_SPAWNED, 5 * SEC);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 6 * SEC);
	assert_state(&lc, SERVICE_BACKOFF);
	cr_assert_eq(lc.deadline, 6 * SEC + 100 * MSEC);
}

Test(lifecycle, restart_after_failed_starts_it)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_NEVER;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	lifecycle_step(&lc, LC_EV_SPAWN_FAILED, 0);
	assert_state(&lc, SERVICE_FAILED);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_RESTART, 1 * SEC), LC_SPAWN | LC_ARM_TIMER);
	assert_state(&lc, SERVICE_STARTING);
}

Test(lifecycle, start_after_exited_without_requirements_ready_waits)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_NEVER;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_EXIT_SUCCESS, 1 * SEC);
	lc.deps_ready = false;
	cr_assert_eq(lifecycle_step(&lc, LC_EV_START, 2 * SEC), 0);
	assert_state(&lc, SERVICE_WAITING);
}

Test(lifecycle, stop_after_exited_or_failed_makes_it_stopped_and_unwanted)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_NEVER;
	policy.oneshot = true;
	policy.ready_on_spawn = false;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	lifecycle_step(&lc, LC_EV_EXIT_SUCCESS, 1 * SEC);
	assert_state(&lc, SERVICE_EXITED);
	cr_assert(lc.ready);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_STOP, 2 * SEC), 0);
	assert_state(&lc, SERVICE_STOPPED);
	cr_assert_not(lc.want_up);
	cr_assert_not(lc.ready);

	lifecycle_step(&lc, LC_EV_START, 3 * SEC);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 4 * SEC);
	assert_state(&lc, SERVICE_FAILED);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_STOP, 5 * SEC), 0);
	assert_state(&lc, SERVICE_STOPPED);
	cr_assert_not(lc.want_up);
}

Test(lifecycle, exited_and_failed_ignore_everything_but_start_restart_and_stop)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle exited, failed;

	policy.restart = RESTART_NEVER;

	lifecycle_init(&exited, &policy, 1);
	bring_up(&exited, 0);
	lifecycle_step(&exited, LC_EV_EXIT_FAILURE, 1 * SEC);
	assert_state(&exited, SERVICE_EXITED);

	lifecycle_init(&failed, &policy, 1);
	failed.deps_ready = true;
	lifecycle_step(&failed, LC_EV_START, 0);
	lifecycle_step(&failed, LC_EV_SPAWN_FAILED, 0);
	assert_state(&failed, SERVICE_FAILED);

	for (enum lc_event ev = 0; ev < LC_EV_COUNT; ev++) {
		if (ev == LC_EV_START || ev == LC_EV_RESTART || ev == LC_EV_STOP ||
		    ev == LC_EV_UNWANTED)
			continue;
		assert_ignored(&exited, ev, 2 * SEC);
		assert_ignored(&failed, ev, 2 * SEC);
	}
}

/* ---- timers, notes, jitter */

Test(lifecycle, arm_timer_is_asked_for_exactly_when_the_deadline_changes)
{
	struct lifecycle_policy policy = base_policy();
	static const struct {
		enum lc_event ev;
		uint64_t at;
		bool deps_ready;
	} script[] = {
		{LC_EV_START, 0, false},
		{LC_EV_DEPS_READY, 1 * SEC, true},
		{LC_EV_SPAWNED, 1 * SEC, true},
		{LC_EV_NOT_READY, 2 * SEC, true},
		{LC_EV_READY, 3 * SEC, true},
		{LC_EV_NOT_READY, 4 * SEC, true},
		{LC_EV_READY, 5 * SEC, true},
		{LC_EV_UNHEALTHY, 6 * SEC, true},
		{LC_EV_START, 7 * SEC, true},
		{LC_EV_TIMEOUT, 16 * SEC, true},
		{LC_EV_EXIT_FAILURE, 17 * SEC, true},
		{LC_EV_TIMEOUT, 18 * SEC, true},
		{LC_EV_SPAWNED, 18 * SEC, true},
		{LC_EV_TIMEOUT, 38 * SEC, true},
		{LC_EV_EXIT_FAILURE, 39 * SEC, true},
		{LC_EV_START, 39 * SEC + 50 * MSEC, true},
		{LC_EV_SPAWN_FAILED, 40 * SEC, true},
		{LC_EV_STOP, 40 * SEC, true},
		{LC_EV_RESTART, 41 * SEC, true},
		{LC_EV_READY, 42 * SEC, true},
		{LC_EV_RESTART, 43 * SEC, true},
		{LC_EV_EXIT_SUCCESS, 44 * SEC, false},
		{LC_EV_DEPS_READY, 45 * SEC, true},
		{LC_EV_READY, 46 * SEC, true},
		{LC_EV_DEPS_LOST, 47 * SEC, false},
		{LC_EV_TIMEOUT, 57 * SEC, false},
		{LC_EV_EXIT_FAILURE, 58 * SEC, false},
		{LC_EV_STOP, 59 * SEC, false},
	};
	struct lifecycle lc;

	policy.ready_on_spawn = false;
	policy.backoff.jitter = 0.1;
	policy.restart_limit = 5;
	policy.restart_window = 60 * SEC;
	policy.start_timeout = 20 * SEC;
	lifecycle_init(&lc, &policy, 7);
	for (size_t i = 0; i < ELEMENTSOF(script); i++) {
		uint64_t before = lc.deadline;
		enum service_state from = lc.state;
		unsigned mask;

		lc.deps_ready = script[i].deps_ready;
		mask = lifecycle_step(&lc, script[i].ev, script[i].at);
		cr_assert_eq(!!(mask & LC_ARM_TIMER),
			     lc.deadline != before,
			     "step %zu, %s in %s: mask 0x%x, deadline %llu -> %llu",
			     i,
			     lifecycle_event_to_string(script[i].ev),
			     service_state_to_string(from),
			     mask,
			     (unsigned long long)before,
			     (unsigned long long)lc.deadline);
	}
	assert_state(&lc, SERVICE_STOPPED);
}

Test(lifecycle, every_state_but_the_timed_ones_has_no_deadline)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.restart = RESTART_NEVER;

	lifecycle_init(&lc, &policy, 1);
	lifecycle_step(&lc, LC_EV_START, 0);
	assert_state(&lc, SERVICE_WAITING);
	cr_assert_eq(lc.deadline, USEC_INFINITY);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_DEPS_READY, 0);
	lifecycle_step(&lc, LC_EV_SPAWNED, 0);
	assert_state(&lc, SERVICE_RUNNING);
	cr_assert_eq(lc.deadline, USEC_INFINITY);
	lifecycle_step(&lc, LC_EV_EXIT_SUCCESS, 1 * SEC);
	assert_state(&lc, SERVICE_EXITED);
	cr_assert_eq(lc.deadline, USEC_INFINITY);
}

Test(lifecycle, a_note_lasts_only_until_the_next_event)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.ready_on_spawn = false;
	policy.start_timeout = 2 * SEC;

	lifecycle_init(&lc, &policy, 1);
	lc.deps_ready = true;
	lifecycle_step(&lc, LC_EV_START, 0);
	lifecycle_step(&lc, LC_EV_TIMEOUT, 2 * SEC);
	cr_assert_not_null(lc.note);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 3 * SEC);
	cr_assert_null(lc.note);
}

Test(lifecycle, jitter_spreads_delays_within_plus_or_minus_the_fraction)
{
	struct lifecycle_policy policy = base_policy();
	uint64_t lo = UINT64_MAX, hi = 0;

	policy.backoff = (struct backoff_policy){
		.delay = 1 * SEC, .delay_max = 30 * SEC, .factor = 2.0, .jitter = 0.1};

	for (uint64_t seed = 1; seed <= 200; seed++) {
		struct lifecycle lc;
		uint64_t d;

		lifecycle_init(&lc, &policy, seed);
		bring_up(&lc, 0);
		lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 1 * SEC);
		d = lc.deadline - 1 * SEC;
		cr_assert_geq(d,
			      900 * MSEC,
			      "seed %llu: %llu µs",
			      (unsigned long long)seed,
			      (unsigned long long)d);
		cr_assert_leq(d,
			      1100 * MSEC,
			      "seed %llu: %llu µs",
			      (unsigned long long)seed,
			      (unsigned long long)d);
		lo = MIN(lo, d);
		hi = MAX(hi, d);

		/* The second failure spreads around twice the delay. */
		restart_and_fail(&lc, 1 * SEC);
		d = lc.deadline - (lc.started_at + 1 * SEC);
		cr_assert_geq(d, 1800 * MSEC);
		cr_assert_leq(d, 2200 * MSEC);
	}
	/* 200 draws over ±100 ms use most of the range. */
	cr_assert_lt(lo, 950 * MSEC, "lowest delay %llu µs", (unsigned long long)lo);
	cr_assert_gt(hi, 1050 * MSEC, "highest delay %llu µs", (unsigned long long)hi);
}

Test(lifecycle, jitter_is_deterministic_for_a_given_seed)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle a, b, c;
	bool differs = false;

	policy.backoff = (struct backoff_policy){
		.delay = 1 * SEC, .delay_max = 30 * SEC, .factor = 2.0, .jitter = 0.25};

	lifecycle_init(&a, &policy, 42);
	lifecycle_init(&b, &policy, 42);
	lifecycle_init(&c, &policy, 43);
	bring_up(&a, 0);
	bring_up(&b, 0);
	bring_up(&c, 0);
	lifecycle_step(&a, LC_EV_EXIT_FAILURE, 1 * SEC);
	lifecycle_step(&b, LC_EV_EXIT_FAILURE, 1 * SEC);
	lifecycle_step(&c, LC_EV_EXIT_FAILURE, 1 * SEC);
	for (int i = 0; i < 6; i++) {
		cr_assert_eq(a.deadline, b.deadline, "failure %d", i + 1);
		differs |= a.deadline != c.deadline;
		restart_and_fail(&a, 1 * SEC);
		restart_and_fail(&b, 1 * SEC);
		restart_and_fail(&c, 1 * SEC);
	}
	cr_assert(differs, "seeds 42 and 43 gave the same six delays");
}

Test(lifecycle, no_jitter_gives_exact_delays_whatever_the_seed)
{
	struct lifecycle_policy policy = base_policy();

	policy.backoff = (struct backoff_policy){
		.delay = 1 * SEC, .delay_max = 30 * SEC, .factor = 2.0, .jitter = 0};

	for (uint64_t seed = 0; seed < 20; seed++) {
		struct lifecycle lc;

		lifecycle_init(&lc, &policy, seed);
		bring_up(&lc, 0);
		lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 1 * SEC);
		cr_assert_eq(lc.deadline, 2 * SEC);
	}
}

Test(lifecycle, every_event_has_a_name)
{
	for (enum lc_event ev = 0; ev < LC_EV_COUNT; ev++)
		cr_assert_not_null(lifecycle_event_to_string(ev));
	cr_assert_str_eq(lifecycle_event_to_string(LC_EV_START), "start");
	cr_assert_str_eq(lifecycle_event_to_string(LC_EV_EXIT_FAILURE), "exit-failure");
	cr_assert_str_eq(lifecycle_event_to_string(LC_EV_TIMEOUT), "timeout");
	cr_assert_str_eq(lifecycle_event_to_string(LC_EV_COUNT), "invalid");
}

Test(lifecycle, a_zero_restart_delay_spawns_again_through_the_loop)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;
	unsigned mask;

	policy.backoff.delay = 0;
	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	/* Not from inside the exit's handling: a timer due at once, so that the loop
	 * gives signals and clients their turn between crash-looping services. */
	mask = lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 5 * MSEC);
	cr_assert_eq(mask & LC_SPAWN, 0);
	assert_state(&lc, SERVICE_BACKOFF);
	cr_assert_eq(lc.deadline, 5 * MSEC);
	cr_assert_eq(lc.restarts, 1);
	mask = lifecycle_step(&lc, LC_EV_TIMEOUT, 5 * MSEC);
	cr_assert_eq(mask & LC_SPAWN, LC_SPAWN);
	assert_state(&lc, SERVICE_STARTING);
	cr_assert_eq(lc.deadline, 5 * MSEC + policy.start_timeout);
}

Test(lifecycle, a_zero_restart_delay_still_honours_the_restart_limit)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	policy.backoff.delay = 0;
	policy.restart_limit = 2;
	policy.restart_window = 60 * SEC;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	for (int i = 0; i < 2; i++) {
		lifecycle_step(&lc, LC_EV_EXIT_FAILURE, MSEC);
		assert_state(&lc, SERVICE_BACKOFF);
		cr_assert_eq(lifecycle_step(&lc, LC_EV_TIMEOUT, MSEC) & LC_SPAWN, LC_SPAWN);
		lifecycle_step(&lc, LC_EV_SPAWNED, MSEC);
	}
	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 2 * MSEC), 0);
	assert_state(&lc, SERVICE_FAILED);
}

/* ---- shutdown */

Test(lifecycle, after_shutdown_an_exit_is_not_restarted)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	/* The process runs on until its STOP comes (its dependents stop first). */
	cr_assert_eq(lifecycle_step(&lc, LC_EV_UNWANTED, SEC), 0);
	assert_state(&lc, SERVICE_RUNNING);
	cr_assert(!lc.want_up);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 2 * SEC) & LC_SPAWN, 0);
	assert_state(&lc, SERVICE_EXITED);
	cr_assert_eq(lc.deadline, USEC_INFINITY);
	lifecycle_step(&lc, LC_EV_STOP, 3 * SEC);
	assert_state(&lc, SERVICE_STOPPED);
}

Test(lifecycle, shutdown_stops_a_backoff_and_a_wait_at_once)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle backoff, waiting;

	lifecycle_init(&backoff, &policy, 1);
	bring_up(&backoff, 0);
	lifecycle_step(&backoff, LC_EV_EXIT_FAILURE, SEC);
	assert_state(&backoff, SERVICE_BACKOFF);
	cr_assert_eq(lifecycle_step(&backoff, LC_EV_UNWANTED, SEC), LC_ARM_TIMER);
	assert_state(&backoff, SERVICE_STOPPED);
	cr_assert_eq(backoff.deadline, USEC_INFINITY);

	lifecycle_init(&waiting, &policy, 1);
	lifecycle_step(&waiting, LC_EV_START, 0);
	assert_state(&waiting, SERVICE_WAITING);
	cr_assert_eq(lifecycle_step(&waiting, LC_EV_UNWANTED, SEC), 0);
	assert_state(&waiting, SERVICE_STOPPED);
	waiting.deps_ready = true;
	cr_assert_eq(lifecycle_step(&waiting, LC_EV_DEPS_READY, 2 * SEC), 0);
	assert_state(&waiting, SERVICE_STOPPED);
}

Test(lifecycle, a_stop_during_shutdown_ends_in_stopped)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	lifecycle_step(&lc, LC_EV_UNWANTED, SEC);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_STOP, SEC) & LC_SIGNAL_STOP, LC_SIGNAL_STOP);
	assert_state(&lc, SERVICE_STOPPING);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 2 * SEC) & LC_SPAWN, 0);
	assert_state(&lc, SERVICE_STOPPED);
}

/* A stop that waits for the dependents (UNWANTED) and is then called off by a start:
 * the running service is wanted again, and its exit is restarted. */
Test(lifecycle, a_start_calls_off_a_stop_that_waited)
{
	struct lifecycle_policy policy = base_policy();
	struct lifecycle lc;

	lifecycle_init(&lc, &policy, 1);
	bring_up(&lc, 0);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_UNWANTED, SEC), 0);
	cr_assert(!lc.want_up);
	cr_assert_eq(lifecycle_step(&lc, LC_EV_START, SEC), 0);
	assert_state(&lc, SERVICE_RUNNING);
	cr_assert(lc.want_up);
	lifecycle_step(&lc, LC_EV_EXIT_FAILURE, 2 * SEC);
	assert_state(&lc, SERVICE_BACKOFF);
}

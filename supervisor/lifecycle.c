/* lifecycle.c: the service state machine. Only this file assigns a state.
 *
 *  state     event                     next state (actions)
 *  --------  ------------------------  ---------------------------------------------
 *  stopped   START, RESTART            waiting, or starting (SPAWN) if deps are ready
 *  waiting   DEPS_READY                starting (SPAWN)
 *            STOP                      stopped
 *  starting  SPAWNED                   running if ready = started (oneshot: stays)
 *            READY                     running
 *            SPAWN_FAILED, EXIT_*      backoff | exited | failed: see "after a run"
 *            UNHEALTHY, TIMEOUT        stopping (SIGNAL_STOP), the exit is a failure
 *            STOP                      stopping (SIGNAL_STOP), unwanted
 *            RESTART, DEPS_LOST        stopping (SIGNAL_STOP), still wanted
 *  running   READY, NOT_READY          running; the ready flag follows
 *            EXIT_*                    backoff | exited | failed: see "after a run"
 *            UNHEALTHY                 stopping (SIGNAL_STOP), the exit is a failure
 *            STOP                      stopping (SIGNAL_STOP), unwanted
 *            RESTART, DEPS_LOST        stopping (SIGNAL_STOP), still wanted
 *            START                     the same state, wanted again
 *  stopping  TIMEOUT                   stopping (SIGNAL_KILL)
 *            EXIT_*                    unwanted: stopped; a failure: "after a run";
 *                                      wanted: waiting, or starting (SPAWN)
 *            START, RESTART / STOP     stopping, wanted again / unwanted
 *  backoff   TIMEOUT                   waiting, or starting (SPAWN)
 *            START, RESTART            the same, at once, with the backoff reset
 *            STOP                      stopped
 *  exited,   START, RESTART            waiting, or starting (SPAWN), backoff reset
 *  failed    STOP                      stopped
 *  any       UNWANTED                  unwanted, so no run starts again: backoff and
 *                                      waiting are stopped, a process runs on until
 *                                      its STOP comes (after its dependents: at
 *                                      shutdown, or a stop request); its exit is
 *                                      not restarted
 *
 * After a run (an exit, a failed spawn, or a stop forced by UNHEALTHY/TIMEOUT):
 *  - a oneshot that exits with success from starting: exited, ready;
 *  - a restart is due when the service is wanted and the policy is "always", or
 *    "on-failure" and the run failed; then restart-limit restarts within
 *    restart-window lead to failed, else backoff with the timer at the next delay
 *    (a delay of 0 too: the timer fires at the next loop iteration);
 *  - no restart due: exited after an exit of a simple service, failed after a
 *    failed spawn, a failed oneshot or an unhealthy kill.
 * A run of at least stable-after resets the backoff count; every shorter run,
 * whatever its exit status, moves the backoff one step up.
 * Events not listed leave the state as it is and ask for nothing.
 */
#include "lifecycle.h"

#include "macro.h"

static const char *const event_names[LC_EV_COUNT] = {
	[LC_EV_START] = "start",
	[LC_EV_STOP] = "stop",
	[LC_EV_RESTART] = "restart",
	[LC_EV_DEPS_READY] = "deps-ready",
	[LC_EV_DEPS_LOST] = "deps-lost",
	[LC_EV_SPAWNED] = "spawned",
	[LC_EV_SPAWN_FAILED] = "spawn-failed",
	[LC_EV_READY] = "ready",
	[LC_EV_NOT_READY] = "not-ready",
	[LC_EV_EXIT_SUCCESS] = "exit-success",
	[LC_EV_EXIT_FAILURE] = "exit-failure",
	[LC_EV_UNHEALTHY] = "unhealthy",
	[LC_EV_TIMEOUT] = "timeout",
	[LC_EV_UNWANTED] = "unwanted",
};

const char *lifecycle_event_to_string(enum lc_event ev)
{
	return ev < LC_EV_COUNT ? event_names[ev] : "invalid";
}

void lifecycle_init(struct lifecycle *lc, const struct lifecycle_policy *policy, uint64_t seed)
{
	*lc = (struct lifecycle){
		.policy = policy,
		.state = SERVICE_STOPPED,
		.deadline = USEC_INFINITY,
		.rng = seed ? seed : 0x9e3779b97f4a7c15ULL,
	};
}

/* xorshift64*: jitter needs spread, not cryptographic quality. */
static double next_random(struct lifecycle *lc)
{
	uint64_t x = lc->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	lc->rng = x;
	return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

static unsigned set_deadline(struct lifecycle *lc, uint64_t deadline)
{
	if (lc->deadline == deadline)
		return 0;
	lc->deadline = deadline;
	return LC_ARM_TIMER;
}

/* Every transition goes through here: a new state starts with no timer unless
 * the caller of enter() gives one. */
static unsigned enter(struct lifecycle *lc, enum service_state state, uint64_t deadline)
{
	lc->state = state;
	/* Only a running service, or a oneshot that exited with success (after_run()
	 * decides), is ready. */
	if (state != SERVICE_RUNNING && state != SERVICE_EXITED)
		lc->ready = false;
	return set_deadline(lc, deadline);
}

static unsigned enter_start(struct lifecycle *lc, uint64_t now)
{
	const struct lifecycle_policy *p = lc->policy;

	if (!lc->deps_ready)
		return enter(lc, SERVICE_WAITING, USEC_INFINITY);
	lc->started_at = now;
	lc->stop_is_failure = false;
	return LC_SPAWN | enter(lc,
				SERVICE_STARTING,
				p->start_timeout ? now + p->start_timeout : USEC_INFINITY);
}

/* A start the user asked for begins a fresh backoff and restart window. */
static unsigned requested_start(struct lifecycle *lc, uint64_t now)
{
	lc->want_up = true;
	lc->failures = 0;
	lc->window_count = 0;
	return enter_start(lc, now);
}

static unsigned enter_stopping(struct lifecycle *lc, uint64_t now, bool failure)
{
	lc->stop_is_failure = failure;
	return LC_SIGNAL_STOP | enter(lc, SERVICE_STOPPING, now + lc->policy->stop_timeout);
}

static unsigned schedule_restart(struct lifecycle *lc, uint64_t now)
{
	const struct lifecycle_policy *p = lc->policy;
	uint64_t delay;
	double r;

	if (p->restart_limit > 0) {
		if (lc->window_count == 0 || now - lc->window_start >= p->restart_window) {
			lc->window_start = now;
			lc->window_count = 0;
		}
		if (lc->window_count >= p->restart_limit) {
			lc->note = "restart limit reached";
			return enter(lc, SERVICE_FAILED, USEC_INFINITY);
		}
		lc->window_count++;
	}
	lc->failures++;
	lc->restarts++;
	r = p->backoff.jitter > 0 ? next_random(lc) : 0.5;
	delay = backoff_delay(&p->backoff, lc->failures, r);
	/* A delay of 0 too goes through the loop (a deadline of now): started in this
	 * step, a crash-looping service would spawn from inside the handling of its own
	 * exit, and with enough of them nothing else (a signal, the API) got a turn. */
	return enter(lc, SERVICE_BACKOFF, now + delay);
}

/* After a run ended: @success is the exit's verdict, @spawned whether the program
 * ran at all. */
static unsigned after_run(struct lifecycle *lc, bool success, bool spawned, uint64_t now)
{
	const struct lifecycle_policy *p = lc->policy;
	bool restart;

	if (success && p->oneshot && lc->state == SERVICE_STARTING) {
		lc->failures = 0;
		lc->ready = true;
		return enter(lc, SERVICE_EXITED, USEC_INFINITY);
	}
	lc->ready = false;
	if (now - lc->started_at >= p->stable_after)
		lc->failures = 0;
	restart = lc->want_up &&
		  (p->restart == RESTART_ALWAYS || (p->restart == RESTART_ON_FAILURE && !success));
	if (restart)
		return schedule_restart(lc, now);
	if (!spawned || (!success && (p->oneshot || lc->stop_is_failure)))
		return enter(lc, SERVICE_FAILED, USEC_INFINITY);
	return enter(lc, SERVICE_EXITED, USEC_INFINITY);
}

static unsigned in_stopped(struct lifecycle *lc, enum lc_event ev, uint64_t now)
{
	switch (ev) {
	case LC_EV_START:
	case LC_EV_RESTART:
		return requested_start(lc, now);
	default:
		return 0;
	}
}

static unsigned in_waiting(struct lifecycle *lc, enum lc_event ev, uint64_t now)
{
	switch (ev) {
	case LC_EV_DEPS_READY:
		return lc->deps_ready ? enter_start(lc, now) : 0;
	case LC_EV_STOP:
		lc->want_up = false;
		return enter(lc, SERVICE_STOPPED, USEC_INFINITY);
	default:
		return 0;
	}
}

static unsigned in_starting(struct lifecycle *lc, enum lc_event ev, uint64_t now)
{
	switch (ev) {
	case LC_EV_SPAWNED:
		if (!lc->policy->ready_on_spawn || lc->policy->oneshot)
			return 0;
		lc->ready = true;
		return enter(lc, SERVICE_RUNNING, USEC_INFINITY);
	case LC_EV_READY:
		if (lc->policy->oneshot)
			return 0;
		lc->ready = true;
		return enter(lc, SERVICE_RUNNING, USEC_INFINITY);
	case LC_EV_SPAWN_FAILED:
		return after_run(lc, false, false, now);
	case LC_EV_TIMEOUT:
		lc->note = "start timed out";
		return enter_stopping(lc, now, true);
	default:
		return 0;
	}
}

static unsigned in_running(struct lifecycle *lc, enum lc_event ev)
{
	switch (ev) {
	case LC_EV_READY:
		lc->ready = true;
		return 0;
	case LC_EV_NOT_READY:
		lc->ready = false;
		return 0;
	default:
		return 0;
	}
}

/* Events with the same meaning whether the process is starting or running. */
static unsigned in_up(struct lifecycle *lc, enum lc_event ev, uint64_t now)
{
	switch (ev) {
	case LC_EV_EXIT_SUCCESS:
		return after_run(lc, true, true, now);
	case LC_EV_EXIT_FAILURE:
		return after_run(lc, false, true, now);
	case LC_EV_UNHEALTHY:
		return enter_stopping(lc, now, true);
	case LC_EV_STOP:
		lc->want_up = false;
		return enter_stopping(lc, now, false);
	case LC_EV_START:
		/* A stop that waited for its dependents (UNWANTED) is called off. */
		lc->want_up = true;
		return 0;
	case LC_EV_RESTART:
	case LC_EV_DEPS_LOST:
		lc->want_up = true;
		return enter_stopping(lc, now, false);
	default:
		return lc->state == SERVICE_STARTING ? in_starting(lc, ev, now)
						     : in_running(lc, ev);
	}
}

static unsigned in_stopping(struct lifecycle *lc, enum lc_event ev, uint64_t now)
{
	switch (ev) {
	case LC_EV_TIMEOUT:
		lc->note = "stop timed out";
		return LC_SIGNAL_KILL | set_deadline(lc, USEC_INFINITY);
	case LC_EV_EXIT_SUCCESS:
	case LC_EV_EXIT_FAILURE:
		if (!lc->want_up)
			return enter(lc, SERVICE_STOPPED, USEC_INFINITY);
		if (lc->stop_is_failure)
			return after_run(lc, false, true, now);
		return enter_start(lc, now);
	case LC_EV_START:
	case LC_EV_RESTART:
		lc->want_up = true;
		return 0;
	case LC_EV_STOP:
		lc->want_up = false;
		return 0;
	default:
		return 0;
	}
}

/* No process: exited, failed, or waiting out a backoff (which ends in a start). */
static unsigned in_down(struct lifecycle *lc, enum lc_event ev, uint64_t now)
{
	switch (ev) {
	case LC_EV_TIMEOUT:
		return lc->state == SERVICE_BACKOFF ? enter_start(lc, now) : 0;
	case LC_EV_START:
	case LC_EV_RESTART:
		return requested_start(lc, now);
	case LC_EV_STOP:
		lc->want_up = false;
		return enter(lc, SERVICE_STOPPED, USEC_INFINITY);
	default:
		return 0;
	}
}

typedef unsigned state_fn(struct lifecycle *lc, enum lc_event ev, uint64_t now);
static state_fn *const handlers[SERVICE_STATE_COUNT] = {
	[SERVICE_STOPPED] = in_stopped,
	[SERVICE_WAITING] = in_waiting,
	[SERVICE_STARTING] = in_up,
	[SERVICE_RUNNING] = in_up,
	[SERVICE_STOPPING] = in_stopping,
	[SERVICE_BACKOFF] = in_down,
	[SERVICE_EXITED] = in_down,
	[SERVICE_FAILED] = in_down,
};

unsigned lifecycle_step(struct lifecycle *lc, enum lc_event ev, uint64_t now)
{
	lc->note = NULL;
	if (ev == LC_EV_UNWANTED) {
		lc->want_up = false;
		if (lc->state == SERVICE_BACKOFF || lc->state == SERVICE_WAITING)
			return enter(lc, SERVICE_STOPPED, USEC_INFINITY);
		return 0;
	}
	return handlers[lc->state](lc, ev, now);
}

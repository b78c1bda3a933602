/* lifecycle.h: the service state machine of SPEC §4. Pure: no I/O, no clock. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "backoff.h"
#include "service-state.h"

enum restart_policy {
	RESTART_ALWAYS,
	RESTART_ON_FAILURE,
	RESTART_NEVER,
};

enum lc_event {
	LC_EV_START,        /* wanted up: autostart, or a start request */
	LC_EV_STOP,         /* wanted down: a stop request, or shutdown */
	LC_EV_RESTART,      /* a restart request: down if up, then up */
	LC_EV_DEPS_READY,   /* every required service is ready (lc->deps_ready is set) */
	LC_EV_DEPS_LOST,    /* a required service goes down on request: stop, stay wanted */
	LC_EV_SPAWNED,      /* the program was executed */
	LC_EV_SPAWN_FAILED, /* fork or exec failed: a failed run */
	LC_EV_READY,        /* READY=1, or the readiness probe passed */
	LC_EV_NOT_READY,    /* the readiness probe failed */
	LC_EV_EXIT_SUCCESS, /* the main process exited with a success code */
	LC_EV_EXIT_FAILURE, /* it exited otherwise, or died of a signal vigild did not send */
	LC_EV_UNHEALTHY,    /* startup or liveness probe, or the watchdog, gave up */
	LC_EV_TIMEOUT,      /* lc->deadline has passed */
	LC_EV_UNWANTED,     /* wanted down, the STOP to come later (after its dependents, at
			     * shutdown or a stop request): no new run; a running one runs on */
	LC_EV_COUNT
};

/* What lifecycle_step() asks its caller to do, as a mask. */
enum lc_action {
	LC_SPAWN = 1 << 0,       /* fork and exec, then feed LC_EV_SPAWNED or _SPAWN_FAILED */
	LC_SIGNAL_STOP = 1 << 1, /* send the stop signal */
	LC_SIGNAL_KILL = 1 << 2, /* send SIGKILL */
	LC_ARM_TIMER = 1 << 3,   /* lc->deadline changed (USEC_INFINITY: no timer) */
};

/* The part of a service's configuration the state machine reads. */
struct lifecycle_policy {
	enum restart_policy restart;
	bool oneshot;        /* ready once it exits with a success code */
	bool ready_on_spawn; /* ready = started */
	struct backoff_policy backoff;
	uint64_t stable_after;   /* µs: a run this long resets the backoff */
	unsigned restart_limit;  /* >0: restarts allowed within restart_window */
	uint64_t restart_window; /* µs */
	uint64_t start_timeout;  /* µs, 0: none */
	uint64_t stop_timeout;   /* µs before SIGKILL */
};

struct lifecycle {
	const struct lifecycle_policy *policy;
	enum service_state state;
	bool want_up;          /* what the user wants, apart from what the process does */
	bool deps_ready;       /* set by the caller before feeding events */
	bool ready;            /* the ready flag of SPEC §11 */
	bool stop_is_failure;  /* stopping because unhealthy: the exit counts as a failure */
	unsigned failures;     /* consecutive short runs: the n of backoff */
	unsigned restarts;     /* restarts scheduled since the service was defined */
	unsigned window_count; /* restarts in the current restart window */
	uint64_t window_start;
	uint64_t started_at; /* µs, when the current run was spawned */
	uint64_t deadline;   /* µs, when LC_EV_TIMEOUT is due; USEC_INFINITY: never */
	uint64_t rng;        /* xorshift state for jitter; any non-zero seed */
	const char *note;    /* why the last transition happened, when the machine decided */
};

/* Makes @lc a stopped, unwanted service governed by @policy (not copied). */
void lifecycle_init(struct lifecycle *lc, const struct lifecycle_policy *policy, uint64_t seed);

/* Feeds @ev at monotonic time @now (µs). Updates lc->state and returns a mask of
 * enum lc_action for the caller to carry out. */
unsigned lifecycle_step(struct lifecycle *lc, enum lc_event ev, uint64_t now);

/* Returns the event's name, for logs. */
const char *lifecycle_event_to_string(enum lc_event ev);

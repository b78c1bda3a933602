/* probe.h: health checks of a service (SPEC §3): one interface for the kinds (exec,
 * tcp, http, unix), the plain rules of periods, thresholds and startup gating, and
 * the set of probes a service runs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "config.h"

struct probe;
struct probe_host;
struct probe_set;
struct reaper;
struct rlimit;
struct spawn_creds;

/* The outcome of one check. */
enum probe_result { PROBE_PASS, PROBE_FAIL };

/* A probe's state after its thresholds: unknown until a threshold is first reached. */
enum probe_health { PROBE_HEALTH_UNKNOWN, PROBE_HEALTH_PASSING, PROBE_HEALTH_FAILING };

/* What a result means for the service (probe_plan_result()). */
enum probe_verdict {
	PROBE_VERDICT_NONE,      /* nothing for the service to do */
	PROBE_VERDICT_STARTED,   /* startup passed: liveness and readiness begin */
	PROBE_VERDICT_READY,     /* readiness passed success-threshold times in a row */
	PROBE_VERDICT_NOT_READY, /* readiness failed failure-threshold times in a row */
	PROBE_VERDICT_UNHEALTHY, /* startup or liveness failed failure-threshold times: restart */
};

/* ---- the kinds: probe-<kind>.c, each ending with its one exported symbol ---- */

struct probe_kind {
	const char *name; /* the word in vigil.conf */
	size_t priv_size; /* per-probe state, zeroed by probe.c */
	bool own_timeout; /* the kind enforces `timeout` itself; probe.c only backs it up */
	int (*load)(char *why, size_t size); /* optional: can it work here? -errno with why */
	/* optional, after load: is the target usable? -EINVAL with why */
	int (*check)(const struct probe_config *cfg, char *why, size_t size);
	int (*init)(struct probe *p);    /* optional: once, when the probe is created */
	void (*done)(struct probe *p);   /* optional: when it is freed (cancel came first) */
	int (*start)(struct probe *p);   /* begin one check; report later, or fail at once */
	void (*cancel)(struct probe *p); /* drop a check in flight; idempotent */
};

extern const struct probe_kind probe_exec;
extern const struct probe_kind probe_tcp;
extern const struct probe_kind probe_http;
extern const struct probe_kind probe_unix;

/* Ends the check in flight (a kind calls it once per start; later calls are ignored).
 * @why is a short message ("HTTP 500", "connection refused"); it is copied. The probe
 * may have been stopped on return: a kind releases its check's resources first. */
void probe_report(struct probe *p, enum probe_result res, const char *why);

/* For the kinds. */
void *probe_get_priv(struct probe *p);
const struct probe_config *probe_get_config(const struct probe *p);
const struct probe_host *probe_get_host(const struct probe *p);

/* Returns the kind of @type, or NULL for PROBE_NONE. */
const struct probe_kind *probe_kind_from_type(enum probe_type type);
/* Checks that a probe of @type can run on this machine (http: loads libcurl).
 * Returns 0, or a negative errno with the reason in @why. */
int probe_kind_load(enum probe_type type, char *why, size_t size);
/* Checks that @cfg's probe can run: loads its kind (probe_kind_load()), then has the
 * kind check the target (http: the URL, with libcurl's own parser). Returns 0, or a
 * negative errno with the reason in @why. */
int probe_config_check(const struct probe_config *cfg, char *why, size_t size);

/* ---- the plain rules (no I/O, no clock: time is an argument, in µs) ---- */

/* Consecutive results of one probe and the health they amount to. */
struct probe_counts {
	unsigned successes, failures;
	enum probe_health health;
};

/* Counts one result. Returns the health it turned into, or PROBE_HEALTH_UNKNOWN when
 * the health did not change. */
enum probe_health probe_counts_add(struct probe_counts *c, const struct probe_config *cfg,
				   enum probe_result res);

/* When the first check of a run is due: initial-delay after the run started, and not
 * before the probe's gate opened (startup passed). */
uint64_t probe_first_due(const struct probe_config *cfg, uint64_t run_start, uint64_t gate_open);
/* When the check after one that was due at @due and ended at @check_end is due: a
 * period after @due (a steady tick, however late the loop started the check), or at
 * once when the check ended after that. */
uint64_t probe_next_due(const struct probe_config *cfg, uint64_t due, uint64_t check_end);
/* How late the loop may start a due check: a tenth of the period, at most 100ms. The
 * slack lets one wakeup serve many probes; timeouts get none. */
uint64_t probe_start_slack(const struct probe_config *cfg);
/* When a check that started at @check_start has run out of time. */
uint64_t probe_deadline(const struct probe_config *cfg, uint64_t check_start);

/* The probes of one service run, Kubernetes' rules: startup alone until it passes;
 * then liveness and readiness. */
struct probe_plan {
	const struct probe_config *cfg[PROBE_ROLE_COUNT]; /* NULL: no such probe */
	bool active;                                      /* a run is being probed */
	bool started;                                     /* startup passed, or there is none */
	uint64_t run_start;
	uint64_t due[PROBE_ROLE_COUNT];       /* next check; USEC_INFINITY: none scheduled */
	uint64_t scheduled[PROBE_ROLE_COUNT]; /* when the check in flight was due */
	bool in_flight[PROBE_ROLE_COUNT];
	struct probe_counts counts[PROBE_ROLE_COUNT];
	bool liveness_held; /* liveness failed in an earlier run and has not passed since */
};

/* Sets up @pl for the probes in @cfgs (entries of type PROBE_NONE are absent); the
 * configurations are not copied. Nothing is due until probe_plan_begin(). */
void probe_plan_init(struct probe_plan *pl, const struct probe_config cfgs[PROBE_ROLE_COUNT]);
/* A run started at @now: counts start afresh (a failing liveness stays failing, see
 * probe_plan_health()), the first checks are scheduled. */
void probe_plan_begin(struct probe_plan *pl, uint64_t now);
/* The run is over: nothing is due, nothing counts as in flight. */
void probe_plan_end(struct probe_plan *pl);
/* Returns true, and marks the check in flight, when @role's check is due at @now. */
bool probe_plan_take_due(struct probe_plan *pl, enum probe_role role, uint64_t now);
/* Records the result of @role's check, which ended at @now, and schedules what
 * follows. Returns what the service must do; after PROBE_VERDICT_UNHEALTHY the plan
 * has ended. */
enum probe_verdict probe_plan_result(struct probe_plan *pl, enum probe_role role,
				     enum probe_result res, uint64_t now);
/* The health @role's probe shows: its thresholds' in this run; a liveness probe that
 * failed in an earlier run (the service was restarted for it) stays failing until
 * this run's thresholds decide. */
enum probe_health probe_plan_health(const struct probe_plan *pl, enum probe_role role);

/* ---- a service's probes ---- */

/* What the service lends its probes; owned by the service, which keeps the exec
 * fields true for the current run (exec probes run as the service's processes do). */
struct probe_host {
	sd_event *event;
	struct reaper *reaper;
	const char *service; /* its name, for logs */
	char *const *envp;
	const char *directory;
	const struct spawn_creds *creds;
	int umask;
	const struct rlimit *nofile; /* NULL: vigild's */
};

/* Called after every check with what it means (often PROBE_VERDICT_NONE); @message is
 * the check's. The callee may call probe_set_stop(), never probe_set_free(). */
typedef void probe_verdict_fn(struct probe_set *set, enum probe_role role,
			      enum probe_verdict verdict, const char *message, void *userdata);

/* Creates the probes configured in @cfgs (not copied: they must outlive the set).
 * Sets *ret to NULL when none is configured: then no source exists at all. Returns 0
 * or a negative errno. */
int probe_set_new(const struct probe_host *host, const struct probe_config cfgs[PROBE_ROLE_COUNT],
		  probe_verdict_fn *fn, void *userdata, struct probe_set **ret);
/* Cancels what is in flight and frees the set. Accepts NULL, returns NULL. */
struct probe_set *probe_set_free(struct probe_set *set);
/* A run of the service started: begins probing (counts start afresh). */
void probe_set_begin(struct probe_set *set);
/* The run is over: cancels the checks in flight, disarms every timer. Idempotent. */
void probe_set_stop(struct probe_set *set);
bool probe_set_is_active(const struct probe_set *set);

/* Duration histogram of vigil_probe_duration_seconds: bucket upper bounds in µs. */
#define PROBE_DURATION_BUCKETS 11
/* Returns the PROBE_DURATION_BUCKETS upper bounds (µs, ascending); +Inf is implied. */
const uint64_t *probe_duration_bounds(void);

/* What the control API shows of one probe. Strings are valid until the next check. */
struct probe_info {
	enum probe_type type;
	const char *target;
	bool active;              /* checks are being run (not gated, not stopped) */
	enum probe_health health; /* after the thresholds, in the current run */
	bool has_result;          /* false: never checked yet */
	enum probe_result last_result;
	const char *message;           /* the last check's, "" before any */
	uint64_t last_time;            /* CLOCK_REALTIME µs when the last check ended */
	uint64_t last_duration;        /* µs */
	unsigned consecutive_failures; /* in the current run */
	unsigned consecutive_successes;
	uint64_t checks_total; /* since the service was defined */
	uint64_t failures_total;
	uint64_t duration_sum;                             /* µs, over checks_total */
	uint64_t duration_buckets[PROBE_DURATION_BUCKETS]; /* cumulative counts, le bounds */
};

/* Describes @role's probe. Returns 0, or -ENOENT when the service has none. */
int probe_set_get_info(const struct probe_set *set, enum probe_role role, struct probe_info *ret);
/* The health of @role's probe, PROBE_HEALTH_UNKNOWN when absent. */
enum probe_health probe_set_get_health(const struct probe_set *set, enum probe_role role);

/* probe.c: the rules every probe kind shares: periods, initial delay, timeouts,
 * success and failure thresholds, the startup -> liveness/readiness gate (plain
 * functions), and the set of probes one service runs on the event loop. */
#include "probe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "macro.h"
#include "printable.h"
#include "units.h"

/* How long after `timeout` probe.c gives up on a kind that enforces it itself. */
#define PROBE_TIMEOUT_GRACE (1 * SEC)
#define PROBE_MESSAGE_MAX   256
#define PROBE_SLACK_MAX     (100 * MSEC)

/* ---- kinds ---- */

static const struct probe_kind *const kinds[PROBE_TYPE_COUNT] = {
	[PROBE_EXEC] = &probe_exec,
	[PROBE_TCP] = &probe_tcp,
	[PROBE_HTTP] = &probe_http,
	[PROBE_UNIX] = &probe_unix,
};

const struct probe_kind *probe_kind_from_type(enum probe_type type)
{
	return type < PROBE_TYPE_COUNT ? kinds[type] : NULL;
}

int probe_kind_load(enum probe_type type, char *why, size_t size)
{
	const struct probe_kind *k = probe_kind_from_type(type);

	if (!k)
		return -EINVAL;
	return k->load ? k->load(why, size) : 0;
}

int probe_config_check(const struct probe_config *cfg, char *why, size_t size)
{
	const struct probe_kind *k = probe_kind_from_type(cfg->type);
	int r = probe_kind_load(cfg->type, why, size);

	if (r < 0)
		return r;
	return k->check ? k->check(cfg, why, size) : 0;
}

/* ---- the plain rules ---- */

enum probe_health probe_counts_add(struct probe_counts *c, const struct probe_config *cfg,
				   enum probe_result res)
{
	enum probe_health before = c->health;

	if (res == PROBE_PASS) {
		c->successes++;
		c->failures = 0;
		if (c->successes >= MAX(cfg->success_threshold, 1u))
			c->health = PROBE_HEALTH_PASSING;
	} else {
		c->failures++;
		c->successes = 0;
		if (c->failures >= MAX(cfg->failure_threshold, 1u))
			c->health = PROBE_HEALTH_FAILING;
	}
	return c->health != before ? c->health : PROBE_HEALTH_UNKNOWN;
}

uint64_t probe_first_due(const struct probe_config *cfg, uint64_t run_start, uint64_t gate_open)
{
	return MAX(run_start + cfg->initial_delay, gate_open);
}

uint64_t probe_next_due(const struct probe_config *cfg, uint64_t due, uint64_t check_end)
{
	return MAX(due + cfg->period, check_end);
}

uint64_t probe_start_slack(const struct probe_config *cfg)
{
	return MAX(MIN(cfg->period / 10, PROBE_SLACK_MAX), 1u);
}

uint64_t probe_deadline(const struct probe_config *cfg, uint64_t check_start)
{
	return check_start + cfg->timeout;
}

void probe_plan_init(struct probe_plan *pl, const struct probe_config cfgs[PROBE_ROLE_COUNT])
{
	*pl = (struct probe_plan){0};
	for (size_t r = 0; r < PROBE_ROLE_COUNT; r++) {
		pl->cfg[r] = cfgs[r].type != PROBE_NONE ? &cfgs[r] : NULL;
		pl->due[r] = USEC_INFINITY;
	}
}

void probe_plan_end(struct probe_plan *pl)
{
	pl->active = false;
	for (size_t r = 0; r < PROBE_ROLE_COUNT; r++) {
		pl->due[r] = USEC_INFINITY;
		pl->in_flight[r] = false;
	}
}

/* Schedules the first check of every probe whose gate is open at @now. */
static void open_gates(struct probe_plan *pl, uint64_t now)
{
	for (size_t r = 0; r < PROBE_ROLE_COUNT; r++) {
		if (!pl->cfg[r] || pl->in_flight[r])
			continue;
		/* Startup runs until it passes; the others only after that. */
		if ((r == PROBE_STARTUP) == pl->started)
			pl->due[r] = USEC_INFINITY;
		else if (pl->due[r] == USEC_INFINITY)
			pl->due[r] = probe_first_due(pl->cfg[r], pl->run_start, now);
	}
}

void probe_plan_begin(struct probe_plan *pl, uint64_t now)
{
	/* The run before was restarted for its liveness (or ended before this one's
	 * decided): the service is not healthy again until its liveness passes. */
	pl->liveness_held = probe_plan_health(pl, PROBE_LIVENESS) == PROBE_HEALTH_FAILING;
	probe_plan_end(pl);
	pl->active = true;
	pl->run_start = now;
	pl->started = !pl->cfg[PROBE_STARTUP];
	for (size_t r = 0; r < PROBE_ROLE_COUNT; r++)
		pl->counts[r] = (struct probe_counts){0};
	open_gates(pl, now);
}

bool probe_plan_take_due(struct probe_plan *pl, enum probe_role role, uint64_t now)
{
	if (!pl->active || pl->in_flight[role] || pl->due[role] > now)
		return false;
	pl->in_flight[role] = true;
	pl->scheduled[role] = pl->due[role];
	pl->due[role] = USEC_INFINITY;
	return true;
}

enum probe_verdict probe_plan_result(struct probe_plan *pl, enum probe_role role,
				     enum probe_result res, uint64_t now)
{
	enum probe_health turned;

	if (!pl->active || !pl->in_flight[role])
		return PROBE_VERDICT_NONE;
	pl->in_flight[role] = false;
	turned = probe_counts_add(&pl->counts[role], pl->cfg[role], res);
	pl->due[role] = probe_next_due(pl->cfg[role], pl->scheduled[role], now);

	switch (role) {
	case PROBE_STARTUP:
		if (turned == PROBE_HEALTH_PASSING) {
			pl->started = true;
			open_gates(pl, now);
			return PROBE_VERDICT_STARTED;
		}
		break;
	case PROBE_LIVENESS:
		break;
	case PROBE_READINESS:
		if (turned == PROBE_HEALTH_PASSING)
			return PROBE_VERDICT_READY;
		if (turned == PROBE_HEALTH_FAILING)
			return PROBE_VERDICT_NOT_READY;
		return PROBE_VERDICT_NONE;
	default:
		return PROBE_VERDICT_NONE;
	}
	if (turned == PROBE_HEALTH_FAILING) {
		/* The service is restarted: nothing more to check in this run. */
		probe_plan_end(pl);
		return PROBE_VERDICT_UNHEALTHY;
	}
	return PROBE_VERDICT_NONE;
}

enum probe_health probe_plan_health(const struct probe_plan *pl, enum probe_role role)
{
	enum probe_health h = pl->counts[role].health;

	if (h == PROBE_HEALTH_UNKNOWN && role == PROBE_LIVENESS && pl->liveness_held)
		return PROBE_HEALTH_FAILING;
	return h;
}

/* ---- probes on the event loop ---- */

static const uint64_t duration_bounds[PROBE_DURATION_BUCKETS] = {
	5 * MSEC,
	10 * MSEC,
	25 * MSEC,
	50 * MSEC,
	100 * MSEC,
	250 * MSEC,
	500 * MSEC,
	1 * SEC,
	2500 * MSEC,
	5 * SEC,
	10 * SEC,
};

const uint64_t *probe_duration_bounds(void)
{
	return duration_bounds;
}

struct probe {
	struct probe_set *set;
	enum probe_role role;
	const struct probe_kind *kind;
	const struct probe_config *cfg;
	sd_event_source *timer;
	uint64_t check_start; /* CLOCK_MONOTONIC µs */
	char label[CONFIG_NAME_MAX + 16];

	/* What the API shows. */
	bool has_result;
	enum probe_result last_result;
	char message[PROBE_MESSAGE_MAX];
	uint64_t last_time, last_duration;
	uint64_t checks_total, failures_total, duration_sum;
	uint64_t buckets[PROBE_DURATION_BUCKETS + 1]; /* per bucket; the last one is +Inf */

	max_align_t priv[]; /* kind->priv_size bytes */
};

struct probe_set {
	const struct probe_host *host;
	probe_verdict_fn *fn;
	void *userdata;
	struct probe_plan plan;
	struct probe *probes[PROBE_ROLE_COUNT];
};

void *probe_get_priv(struct probe *p)
{
	return p->priv;
}

const struct probe_config *probe_get_config(const struct probe *p)
{
	return p->cfg;
}

const struct probe_host *probe_get_host(const struct probe *p)
{
	return p->set->host;
}

/* Arms the probe's one timer for what comes next: the deadline of the check in
 * flight, the next check, or nothing. */
static void sync_timer(struct probe *p)
{
	const struct probe_plan *pl = &p->set->plan;
	uint64_t when = USEC_INFINITY, accuracy = 1;

	if (pl->in_flight[p->role]) {
		when = probe_deadline(p->cfg, p->check_start);
		/* Only a backstop for a kind that enforces its own timeout. */
		if (p->kind->own_timeout) {
			when += PROBE_TIMEOUT_GRACE;
			accuracy = PROBE_SLACK_MAX;
		}
	} else if (pl->active) {
		when = pl->due[p->role];
		accuracy = probe_start_slack(p->cfg);
	}
	if (when == USEC_INFINITY) {
		(void)sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
		return;
	}
	(void)sd_event_source_set_time_accuracy(p->timer, accuracy);
	(void)sd_event_source_set_time(p->timer, when);
	(void)sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
}

static void sync_timers(struct probe_set *set)
{
	for (size_t r = 0; r < PROBE_ROLE_COUNT; r++)
		if (set->probes[r])
			sync_timer(set->probes[r]);
}

static void record(struct probe *p, enum probe_result res, const char *why, uint64_t duration)
{
	size_t b = 0;

	p->has_result = true;
	p->last_result = res;
	/* A check's output is a program's: no terminal escape reaches a log or a terminal
	 * (vigilctl status prints it). */
	printable_copy(p->message, sizeof(p->message), why ? why : "", why ? strlen(why) : 0, '?');
	p->last_time = clock_now(CLOCK_REALTIME);
	p->last_duration = duration;
	p->checks_total++;
	p->failures_total += res == PROBE_FAIL;
	p->duration_sum += duration;
	while (b < PROBE_DURATION_BUCKETS && duration > duration_bounds[b])
		b++;
	p->buckets[b]++;
}

void probe_report(struct probe *p, enum probe_result res, const char *why)
{
	struct probe_set *set = p->set;
	struct probe_plan *pl = &set->plan;
	bool was_in_flight[PROBE_ROLE_COUNT];
	enum probe_verdict verdict;
	uint64_t now = clock_now(CLOCK_MONOTONIC);

	if (!pl->active || !pl->in_flight[p->role])
		return; /* cancelled, or reported already */
	record(p, res, why, now - p->check_start);
	log_debug("%s: %s in %.1fms: %s",
		  p->label,
		  res == PROBE_PASS ? "passed" : "failed",
		  (double)(now - p->check_start) / (double)MSEC,
		  p->message);
	memcpy(was_in_flight, pl->in_flight, sizeof(was_in_flight));
	verdict = probe_plan_result(pl, p->role, res, now);
	/* A verdict that ends the run drops the other checks in flight. */
	for (size_t r = 0; r < PROBE_ROLE_COUNT; r++)
		if (was_in_flight[r] && !pl->in_flight[r] && set->probes[r] != p)
			set->probes[r]->kind->cancel(set->probes[r]);
	sync_timers(set);
	/* Last: the callee may stop the set. */
	if (set->fn)
		set->fn(set, p->role, verdict, p->message, set->userdata);
}

static void run_check(struct probe *p, uint64_t now)
{
	int r;

	p->check_start = now;
	sync_timer(p);
	r = p->kind->start(p);
	if (r < 0 && p->set->plan.in_flight[p->role]) {
		p->kind->cancel(p);
		probe_report(p, PROBE_FAIL, strerror(-r));
	}
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct probe *p = userdata;
	struct probe_plan *pl = &p->set->plan;
	uint64_t now = clock_now(CLOCK_MONOTONIC);

	(void)src;
	(void)usec;
	if (pl->in_flight[p->role]) {
		char t[32], why[64];

		p->kind->cancel(p);
		snprintf(why,
			 sizeof(why),
			 "timed out after %s",
			 units_format_duration(p->cfg->timeout, t, sizeof(t)));
		probe_report(p, PROBE_FAIL, why);
		return 0;
	}
	if (probe_plan_take_due(pl, p->role, MAX(now, usec)))
		run_check(p, now);
	else
		sync_timer(p);
	return 0;
}

static struct probe *probe_free(struct probe *p)
{
	if (!p)
		return NULL;
	p->kind->cancel(p);
	if (p->kind->done)
		p->kind->done(p);
	sd_event_source_disable_unref(p->timer);
	free(p);
	return NULL;
}

static int probe_new(struct probe_set *set, enum probe_role role, const struct probe_config *cfg,
		     struct probe **ret)
{
	const struct probe_kind *kind = probe_kind_from_type(cfg->type);
	struct probe *p;
	int r;

	if (!kind)
		return -EINVAL;
	p = calloc(1, sizeof(*p) + kind->priv_size);
	if (!p)
		return -ENOMEM;
	p->set = set;
	p->role = role;
	p->kind = kind;
	p->cfg = cfg;
	snprintf(p->label,
		 sizeof(p->label),
		 "%s: %s",
		 set->host->service,
		 probe_role_to_string(role));
	r = sd_event_add_time(
		set->host->event, &p->timer, CLOCK_MONOTONIC, USEC_INFINITY, 1, on_timer, p);
	if (r < 0) {
		free(p);
		return r;
	}
	(void)sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
	(void)sd_event_source_set_description(p->timer, "probe");
	if (kind->init) {
		r = kind->init(p);
		if (r < 0) {
			sd_event_source_disable_unref(p->timer);
			free(p);
			return r;
		}
	}
	*ret = p;
	return 0;
}

int probe_set_new(const struct probe_host *host, const struct probe_config cfgs[PROBE_ROLE_COUNT],
		  probe_verdict_fn *fn, void *userdata, struct probe_set **ret)
{
	struct probe_set *set;
	bool any = false;
	int r;

	for (size_t i = 0; i < PROBE_ROLE_COUNT; i++)
		any |= cfgs[i].type != PROBE_NONE;
	if (!any) {
		*ret = NULL;
		return 0;
	}
	set = calloc(1, sizeof(*set));
	if (!set)
		return -ENOMEM;
	set->host = host;
	set->fn = fn;
	set->userdata = userdata;
	probe_plan_init(&set->plan, cfgs);
	for (size_t i = 0; i < PROBE_ROLE_COUNT; i++) {
		if (cfgs[i].type == PROBE_NONE)
			continue;
		r = probe_new(set, (enum probe_role)i, &cfgs[i], &set->probes[i]);
		if (r < 0) {
			probe_set_free(set);
			return r;
		}
	}
	*ret = set;
	return 0;
}

struct probe_set *probe_set_free(struct probe_set *set)
{
	if (!set)
		return NULL;
	probe_plan_end(&set->plan);
	for (size_t i = 0; i < PROBE_ROLE_COUNT; i++)
		probe_free(set->probes[i]);
	free(set);
	return NULL;
}

void probe_set_begin(struct probe_set *set)
{
	if (!set)
		return;
	probe_set_stop(set);
	probe_plan_begin(&set->plan, clock_now(CLOCK_MONOTONIC));
	sync_timers(set);
}

void probe_set_stop(struct probe_set *set)
{
	bool was_in_flight[PROBE_ROLE_COUNT];

	if (!set)
		return;
	memcpy(was_in_flight, set->plan.in_flight, sizeof(was_in_flight));
	probe_plan_end(&set->plan);
	for (size_t r = 0; r < PROBE_ROLE_COUNT; r++)
		if (was_in_flight[r])
			set->probes[r]->kind->cancel(set->probes[r]);
	sync_timers(set);
}

bool probe_set_is_active(const struct probe_set *set)
{
	return set && set->plan.active;
}

enum probe_health probe_set_get_health(const struct probe_set *set, enum probe_role role)
{
	if (!set || role >= PROBE_ROLE_COUNT || !set->probes[role])
		return PROBE_HEALTH_UNKNOWN;
	return probe_plan_health(&set->plan, role);
}

int probe_set_get_info(const struct probe_set *set, enum probe_role role, struct probe_info *ret)
{
	const struct probe *p;
	uint64_t sum = 0;

	if (!set || role >= PROBE_ROLE_COUNT || !set->probes[role])
		return -ENOENT;
	p = set->probes[role];
	*ret = (struct probe_info){
		.type = p->cfg->type,
		.target = p->cfg->target,
		.active = set->plan.active &&
			  (set->plan.due[role] != USEC_INFINITY || set->plan.in_flight[role]),
		.health = probe_plan_health(&set->plan, role),
		.has_result = p->has_result,
		.last_result = p->last_result,
		.message = p->message,
		.last_time = p->last_time,
		.last_duration = p->last_duration,
		.consecutive_failures = set->plan.counts[role].failures,
		.consecutive_successes = set->plan.counts[role].successes,
		.checks_total = p->checks_total,
		.failures_total = p->failures_total,
		.duration_sum = p->duration_sum,
	};
	for (size_t b = 0; b < PROBE_DURATION_BUCKETS; b++) {
		sum += p->buckets[b];
		ret->duration_buckets[b] = sum;
	}
	return 0;
}

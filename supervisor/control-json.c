/* control-json.c: the JSON views of services, events, reload results and errors
 * that the control API serves. */
#include "control-json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log-format.h"
#include "macro.h"
#include "manager.h"
#include "printable.h"
#include "probe.h"
#include "service.h"
#include "signame.h"

char *control_format_time(uint64_t usec, char buf[static CONTROL_TIME_SIZE])
{
	/* The log files' format: one formatter for both. */
	buf[log_format_timestamp(usec, buf)] = '\0';
	return buf;
}

const char *service_health_to_string(const struct service *s)
{
	switch (service_get_health(s)) {
	case PROBE_HEALTH_PASSING:
		return "healthy";
	case PROBE_HEALTH_FAILING:
		return "unhealthy";
	default:
		return "unknown";
	}
}

bool service_exited_successfully(const struct service *s)
{
	return service_get_exit(s).success;
}

static json_t *text_to_json(const char *s);

/* The last STATUS= text of the service, or null. */
static json_t *status_to_json(const struct service *s)
{
	const char *t = service_get_status_text(s);

	return t ? text_to_json(t) : json_null();
}

static const char *probe_health_to_string(enum probe_health h)
{
	return h == PROBE_HEALTH_PASSING   ? "passing"
	       : h == PROBE_HEALTH_FAILING ? "failing"
					   : "unknown";
}

/* One probe's last result, for the detailed view. */
static json_t *probe_to_json(enum probe_role role, const struct probe_info *pi)
{
	char when[CONTROL_TIME_SIZE];
	json_t *o = json_pack("{s:s, s:s, s:o, s:b, s:s, s:I, s:I, s:I, s:I}",
			      "role",
			      probe_role_to_string(role),
			      "type",
			      probe_type_to_string(pi->type),
			      "target",
			      text_to_json(pi->target),
			      "active",
			      pi->active,
			      "health",
			      probe_health_to_string(pi->health),
			      "consecutive_failures",
			      (json_int_t)pi->consecutive_failures,
			      "consecutive_successes",
			      (json_int_t)pi->consecutive_successes,
			      "checks_total",
			      (json_int_t)pi->checks_total,
			      "failures_total",
			      (json_int_t)pi->failures_total);

	if (!o)
		return NULL;
	if (!pi->has_result) {
		if (json_object_set_new(o, "last", json_null()) < 0)
			return json_decref(o), NULL;
		return o;
	}
	if (json_object_set_new(o,
				"last",
				json_pack("{s:s, s:s, s:f, s:o}",
					  "result",
					  pi->last_result == PROBE_PASS ? "pass" : "fail",
					  "time",
					  control_format_time(pi->last_time, when),
					  "duration",
					  (double)pi->last_duration / (double)SEC,
					  "message",
					  text_to_json(pi->message))) < 0)
		return json_decref(o), NULL;
	return o;
}

/* The last results of the service's probes, for the detailed view. */
static json_t *probes_to_json(const struct service *s)
{
	json_t *a = json_array();

	for (enum probe_role r = 0; a && r < PROBE_ROLE_COUNT; r++) {
		struct probe_info pi;

		if (service_get_probe(s, r, &pi) < 0)
			continue;
		if (json_array_append_new(a, probe_to_json(r, &pi)) < 0)
			return json_decref(a), NULL;
	}
	return a;
}

/* {"code":N} or {"signal":"TERM"}, with the time of the exit (SPEC §4: every exit
 * records its status and time), or null before the first exit. */
static json_t *exit_to_json(const struct service *s)
{
	struct service_exit e = service_get_exit(s);
	char t[CONTROL_TIME_SIZE];
	const char *name;
	char num[16];

	if (!e.known)
		return json_null();
	control_format_time(e.time, t);
	if (!e.signal)
		return json_pack("{s:i, s:s}", "code", e.code, "time", t);
	name = signame_to_string(e.signal);
	if (!name) {
		snprintf(num, sizeof(num), "%d", e.signal);
		name = num;
	}
	return json_pack("{s:s, s:s}", "signal", name, "time", t);
}

/* Text from outside (paths, a program's words, a client's URL) as a JSON string:
 * bytes that are not valid UTF-8 become '?' rather than failing the answer; the
 * valid characters around them stay. */
static json_t *text_to_json(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j || !s)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	(void)printable_fix_utf8(copy);
	j = json_string(copy);
	free(copy);
	return j;
}

static json_t *strv_to_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, text_to_json(v[i])) < 0)
			return json_decref(a), NULL;
	return a;
}

/* Sets @key (a literal, so known to be valid UTF-8) to @v, taking @v. */
static int set(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new_nocheck(o, key, v);
}

/* A string vigild made up of ASCII (names, states, times): no UTF-8 check needed. */
static json_t *ascii(const char *s)
{
	return json_stringn_nocheck(s, strlen(s));
}

json_t *service_to_json(const struct service *s, bool detail, uint64_t now)
{
	const struct service_config *c = service_get_config(s);
	uint64_t started = service_get_started_at(s);
	pid_t pid = service_get_pid(s);
	char since[CONTROL_TIME_SIZE];
	json_t *j = json_object();
	int r = 0;

	/* GET /v1/services builds one of these per service on every request: plain
	 * object calls, no format strings to parse, no UTF-8 checks of our own ASCII. */
	if (!j)
		return NULL;
	r |= set(j, "name", ascii(service_get_name(s)));
	r |= set(j, "state", ascii(service_state_to_string(service_get_state(s))));
	r |= set(j, "pid", pid > 0 ? json_integer(pid) : json_null());
	r |= set(j, "ready", json_boolean(service_is_ready(s)));
	r |= set(j, "health", ascii(service_health_to_string(s)));
	r |= set(j, "restarts", json_integer(service_get_restarts(s)));
	r |= set(j, "exit", exit_to_json(s));
	r |= set(j, "since", ascii(control_format_time(service_get_since(s), since)));
	r |= set(j,
		 "uptime",
		 started && now >= started ? json_integer((json_int_t)((now - started) / SEC))
					   : json_null());
	r |= set(j, "status", status_to_json(s));
	if (!r && detail) {
		r |= set(j, "reason", text_to_json(service_get_reason(s)));
		r |= set(j, "wanted", json_boolean(service_is_wanted(s)));
		r |= set(j, "autostart", json_boolean(c->autostart));
		r |= set(j, "requires", strv_to_json(c->requires, c->n_requires));
		r |= set(j, "probes", probes_to_json(s));
	}
	if (r) {
		json_decref(j);
		return NULL;
	}
	return j;
}

json_t *service_event_to_json(const struct service *s, enum service_state from, const char *reason,
			      uint64_t now)
{
	char t[CONTROL_TIME_SIZE];

	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:b}",
			 "time",
			 control_format_time(now, t),
			 "service",
			 service_get_name(s),
			 "from",
			 service_state_to_string(from),
			 "to",
			 service_state_to_string(service_get_state(s)),
			 "reason",
			 text_to_json(reason ? reason : ""),
			 "ready",
			 service_is_ready(s));
}

json_t *reload_result_to_json(const struct reload_result *r)
{
	return json_pack("{s:o, s:o, s:o, s:I}",
			 "added",
			 strv_to_json(r->added, strv_length(r->added)),
			 "removed",
			 strv_to_json(r->removed, strv_length(r->removed)),
			 "changed",
			 strv_to_json(r->changed, strv_length(r->changed)),
			 "unchanged",
			 (json_int_t)r->unchanged);
}

json_t *config_errors_to_json(const struct config_errors *e)
{
	return json_pack("{s:o}", "errors", strv_to_json(e->lines, e->n));
}

json_t *error_to_json(const char *msg)
{
	return json_pack("{s:o}", "error", text_to_json(msg));
}

/* control-json.h: the JSON views the control API serves (SPEC §7, §11). Internal
 * structs never go out raw: every answer is built by one of these. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "service-state.h"

struct service;
struct reload_result;
struct config_errors;

/* "2025-01-31T23:59:59.999Z", with room for any year the compiler imagines. */
#define CONTROL_TIME_SIZE 64

/* Writes CLOCK_REALTIME µs as RFC 3339 in UTC with milliseconds. Returns @buf. */
char *control_format_time(uint64_t usec, char buf[static CONTROL_TIME_SIZE]);

/* The health of SPEC §11: "unknown", "healthy" or "unhealthy". */
const char *service_health_to_string(const struct service *s);

/* True when the service's last exit was a success by its definition at the time. */
bool service_exited_successfully(const struct service *s);

/* One service as GET /v1/services lists it; @detail adds what GET /v1/services/NAME
 * shows (probes, requirements, wanted, reason). @now is CLOCK_REALTIME µs.
 * Returns a new reference, or NULL when out of memory. */
json_t *service_to_json(const struct service *s, bool detail, uint64_t now);

/* One line of GET /v1/events: {"time","service","from","to","reason"}. */
json_t *service_event_to_json(const struct service *s, enum service_state from, const char *reason,
			      uint64_t now);

/* {"added":[],"removed":[],"changed":[],"unchanged":N} */
json_t *reload_result_to_json(const struct reload_result *r);

/* {"errors":["FILE:LINE: message", ...]} */
json_t *config_errors_to_json(const struct config_errors *e);

/* {"error":"@msg"} */
json_t *error_to_json(const char *msg);

/* api.h: a test's side of the control API: requests over the test vigild's socket
 * (with vigilctl's own client, ctl/http.c), raw bytes, and vigilctl runs. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include "harness.h"

/* Waits until vigild answers on v->sock (fails the test after 5 s). */
void api_wait_up(struct vh *v);

/* One request. Returns the HTTP status with the body in *body (if @body is not
 * NULL; free it), or a negative errno when vigild could not be reached. */
int api_call(struct vh *v, const char *method, const char *target, char **body);

/* One request whose answer must have status @want and a JSON body; returns it. */
json_t *api_json(struct vh *v, const char *method, const char *target, int want);

/* The field @key of service @name in GET /v1/services/NAME (a new reference). */
json_t *api_field(struct vh *v, const char *name, const char *key);

/* The pid of service @name's main process in GET /v1/services/NAME, or 0. */
pid_t api_pid(struct vh *v, const char *name);

/* Polls until service @name is in @state. */
bool api_wait_state(struct vh *v, const char *name, const char *state, int timeout_ms);

/* Connects to @sock, sends @len bytes of @req, and reads until the server closes or
 * @timeout_ms pass. Returns the bytes read (the text in *out, NUL-terminated), or -1
 * when it could not connect. *closed says whether the server closed. */
ssize_t api_raw(const char *sock, const void *req, size_t len, char **out, int timeout_ms,
		bool *closed);

/* Runs vigilctl with -s v->sock (unless @v is NULL) and the NULL-terminated
 * arguments, capturing stdout and stderr (either may be NULL). Returns its exit code,
 * or -1 if it was killed or ran past 20 s. */
int ctl_run(struct vh *v, char **out, char **err, ...) __attribute__((sentinel));
/* The same with an argument vector (no -s added) and a prefix command (e.g. setpriv
 * ...; NULL for none). */
int ctl_runv(const char *const *prefix, const char *const *argv, char **out, char **err);

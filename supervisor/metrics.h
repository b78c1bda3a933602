/* metrics.h: the Prometheus text exposition of SPEC §9 (GET /metrics). */
#pragma once

#include <stddef.h>

struct manager;

/* The Content-Type of the text format, version 0.0.4. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Renders every metric of every service of @m into a new string (NUL-terminated,
 * its length in *ret_len). Returns 0, or -ENOMEM. */
int metrics_render(const struct manager *m, char **ret, size_t *ret_len);

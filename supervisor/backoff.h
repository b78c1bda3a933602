/* backoff.h: how long to wait before a restart. Pure arithmetic. */
#pragma once

#include <stdint.h>

struct backoff_policy {
	uint64_t delay;     /* µs before the first restart */
	uint64_t delay_max; /* µs, the cap */
	double factor;      /* growth per consecutive failed run, >= 1 */
	double jitter;      /* fraction in [0, 1]: the delay is spread by ±jitter */
};

/* Returns the µs to wait after the @n-th consecutive failed run (n >= 1):
 * min(delay_max, delay × factor^(n-1)), then spread by ±jitter using @rand01, a
 * number in [0, 1) (0.5 means no spread). */
uint64_t backoff_delay(const struct backoff_policy *p, unsigned n, double rand01);

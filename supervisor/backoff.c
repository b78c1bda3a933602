/* backoff.c: how long to wait before a restart. Pure arithmetic. */
#include "backoff.h"

#include <math.h>

uint64_t backoff_delay(const struct backoff_policy *p, unsigned n, double rand01)
{
	double d = (double)p->delay, cap = (double)p->delay_max;

	/* Multiply step by step and stop at the cap: factor^(n-1) overflows a double
	 * long before n does. */
	for (unsigned i = 1; i < n && d < cap; i++)
		d *= p->factor;
	if (d > cap)
		d = cap;
	d *= 1.0 + p->jitter * (2.0 * rand01 - 1.0);
	if (d < 0)
		d = 0;
	return (uint64_t)llround(d);
}

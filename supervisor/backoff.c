/* backoff.c: how long to wait before a restart. Pure arithmetic. */
#include "backoff.h"

#include <math.h>

uint64_t backoff_delay(const struct backoff_policy *p, unsigned n, double rand01)
{
	double cap = (double)p->delay_max, d = 0;

	/* factor^(n-1) overflows to infinity for large n: the comparison caps it (and
	 * a zero first delay stays zero instead of becoming 0 × inf). */
	if (p->delay > 0)
		d = (double)p->delay * pow(p->factor, n > 1 ? (double)(n - 1) : 0.0);
	if (!(d < cap))
		d = cap;
	d *= 1.0 + p->jitter * (2.0 * rand01 - 1.0);
	if (d < 0)
		d = 0;
	return (uint64_t)llround(d);
}

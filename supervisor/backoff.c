/* backoff.c: how long to wait before a restart. Pure arithmetic. */
#include "backoff.h"

/* b^e by squaring: a few multiplications for any restart count. vigild does without
 * libm, which would add a library to its start-up and 180 KiB to its PSS. */
static double power(double b, unsigned e)
{
	double r = 1.0;

	for (; e > 0; e >>= 1, b *= b)
		if (e & 1)
			r *= b;
	return r;
}

uint64_t backoff_delay(const struct backoff_policy *p, unsigned n, double rand01)
{
	double cap = (double)p->delay_max, d = 0;

	/* factor^(n-1) overflows to infinity for large n: the comparison caps it (and
	 * a zero first delay stays zero instead of becoming 0 × inf). */
	if (p->delay > 0)
		d = (double)p->delay * power(p->factor, n > 1 ? n - 1 : 0);
	if (!(d < cap))
		d = cap;
	d *= 1.0 + p->jitter * (2.0 * rand01 - 1.0);
	/* Jitter (at most 1, that is ±100 %) leaves d in [0, 2 × delay_max]; a
	 * delay_max near 2^63 µs must not overflow the conversion. */
	if (d < 0)
		d = 0;
	if (d >= 0x1p63)
		return UINT64_C(1) << 63;
	return (uint64_t)(d + 0.5);
}

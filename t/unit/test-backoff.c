/* test-backoff.c: how long to wait before a restart. */
#include <limits.h>
#include <stdint.h>

#include <criterion/criterion.h>

#include "backoff.h"
#include "macro.h"

Test(backoff, the_first_failure_waits_the_first_delay)
{
	struct backoff_policy p = {
		.delay = 100 * MSEC, .delay_max = 30 * SEC, .factor = 2.0, .jitter = 0};

	cr_assert_eq(backoff_delay(&p, 1, 0.5), 100 * MSEC);
}

Test(backoff, each_failure_multiplies_the_delay_by_the_factor)
{
	struct backoff_policy p = {
		.delay = 100 * MSEC, .delay_max = 30 * SEC, .factor = 2.0, .jitter = 0};

	cr_assert_eq(backoff_delay(&p, 2, 0.5), 200 * MSEC);
	cr_assert_eq(backoff_delay(&p, 3, 0.5), 400 * MSEC);
	cr_assert_eq(backoff_delay(&p, 4, 0.5), 800 * MSEC);
	cr_assert_eq(backoff_delay(&p, 8, 0.5), 12800 * MSEC);
}

Test(backoff, a_fractional_factor_grows_as_a_power)
{
	struct backoff_policy p = {
		.delay = 1 * SEC, .delay_max = 60 * SEC, .factor = 1.5, .jitter = 0};

	cr_assert_eq(backoff_delay(&p, 2, 0.5), 1500 * MSEC);
	cr_assert_eq(backoff_delay(&p, 3, 0.5), 2250 * MSEC);
	cr_assert_eq(backoff_delay(&p, 4, 0.5), 3375 * MSEC);
}

Test(backoff, the_delay_never_exceeds_the_cap)
{
	struct backoff_policy p = {
		.delay = 100 * MSEC, .delay_max = 1 * SEC, .factor = 2.0, .jitter = 0};

	cr_assert_eq(backoff_delay(&p, 4, 0.5), 800 * MSEC);
	cr_assert_eq(backoff_delay(&p, 5, 0.5), 1 * SEC);
	cr_assert_eq(backoff_delay(&p, 6, 0.5), 1 * SEC);
	cr_assert_eq(backoff_delay(&p, 100, 0.5), 1 * SEC);
}

Test(backoff, a_cap_below_the_first_delay_wins)
{
	struct backoff_policy p = {
		.delay = 5 * SEC, .delay_max = 1 * SEC, .factor = 2.0, .jitter = 0};

	cr_assert_eq(backoff_delay(&p, 1, 0.5), 1 * SEC);
}

Test(backoff, a_factor_of_one_keeps_the_delay_constant)
{
	struct backoff_policy p = {
		.delay = 250 * MSEC, .delay_max = 30 * SEC, .factor = 1.0, .jitter = 0};

	cr_assert_eq(backoff_delay(&p, 1, 0.5), 250 * MSEC);
	cr_assert_eq(backoff_delay(&p, 50, 0.5), 250 * MSEC);
}

Test(backoff, a_huge_n_gives_the_cap_without_overflowing)
{
	struct backoff_policy p = {
		.delay = 100 * MSEC, .delay_max = 30 * SEC, .factor = 2.0, .jitter = 0};

	cr_assert_eq(backoff_delay(&p, 1000, 0.5), 30 * SEC);
	cr_assert_eq(backoff_delay(&p, 100000, 0.5), 30 * SEC);
	cr_assert_eq(backoff_delay(&p, UINT_MAX, 0.5), 30 * SEC);
}

Test(backoff, a_large_cap_reached_by_a_huge_n_is_returned_exactly)
{
	struct backoff_policy p = {
		.delay = 1, .delay_max = 1ULL << 50, .factor = 10.0, .jitter = 0};

	cr_assert_eq(backoff_delay(&p, UINT_MAX, 0.5), 1ULL << 50);
}

/* A crash loop runs the failure count up; the delay must not cost time in proportion. */
Test(backoff, a_huge_n_with_a_factor_of_one_returns_at_once, .timeout = 1)
{
	struct backoff_policy p = {
		.delay = 100 * MSEC, .delay_max = 30 * SEC, .factor = 1.0, .jitter = 0};

	cr_assert_eq(backoff_delay(&p, UINT_MAX, 0.5), 100 * MSEC);
}

Test(backoff, a_huge_n_with_a_zero_first_delay_returns_at_once, .timeout = 1)
{
	struct backoff_policy p = {.delay = 0, .delay_max = 30 * SEC, .factor = 2.0, .jitter = 0};

	cr_assert_eq(backoff_delay(&p, UINT_MAX, 0.5), 0);
}

Test(backoff, n_zero_is_treated_like_the_first_failure)
{
	struct backoff_policy p = {
		.delay = 100 * MSEC, .delay_max = 30 * SEC, .factor = 2.0, .jitter = 0};

	cr_assert_eq(backoff_delay(&p, 0, 0.5), 100 * MSEC);
}

Test(backoff, a_middle_random_number_means_no_spread)
{
	struct backoff_policy p = {
		.delay = 1 * SEC, .delay_max = 30 * SEC, .factor = 2.0, .jitter = 0.1};

	cr_assert_eq(backoff_delay(&p, 1, 0.5), 1 * SEC);
	cr_assert_eq(backoff_delay(&p, 2, 0.5), 2 * SEC);
}

Test(backoff, jitter_spreads_the_delay_by_at_most_plus_or_minus_the_fraction)
{
	struct backoff_policy p = {
		.delay = 1 * SEC, .delay_max = 30 * SEC, .factor = 2.0, .jitter = 0.1};

	cr_assert_eq(backoff_delay(&p, 1, 0.0), 900 * MSEC);
	cr_assert_eq(backoff_delay(&p, 1, 0.25), 950 * MSEC);
	cr_assert_eq(backoff_delay(&p, 1, 0.75), 1050 * MSEC);
	for (double r = 0; r < 1.0; r += 1.0 / 1024) {
		uint64_t d = backoff_delay(&p, 1, r);
		cr_assert_geq(d, 900 * MSEC, "r=%f gave %llu", r, (unsigned long long)d);
		cr_assert_leq(d, 1100 * MSEC, "r=%f gave %llu", r, (unsigned long long)d);
	}
}

Test(backoff, jitter_applies_after_the_cap)
{
	struct backoff_policy p = {
		.delay = 1 * SEC, .delay_max = 2 * SEC, .factor = 2.0, .jitter = 0.5};

	cr_assert_eq(backoff_delay(&p, 10, 0.0), 1 * SEC);
	cr_assert_leq(backoff_delay(&p, 10, 0.999999), 3 * SEC);
	cr_assert_geq(backoff_delay(&p, 10, 0.999999), 2999 * MSEC);
}

Test(backoff, full_jitter_never_goes_below_zero)
{
	struct backoff_policy p = {
		.delay = 1 * SEC, .delay_max = 30 * SEC, .factor = 2.0, .jitter = 1.0};

	cr_assert_eq(backoff_delay(&p, 1, 0.0), 0);
	cr_assert_leq(backoff_delay(&p, 1, 0.999999), 2 * SEC);
}

Test(backoff, a_random_number_grows_the_delay_monotonically)
{
	struct backoff_policy p = {
		.delay = 1 * SEC, .delay_max = 30 * SEC, .factor = 2.0, .jitter = 0.2};
	uint64_t prev = 0;

	for (double r = 0; r < 1.0; r += 1.0 / 64) {
		uint64_t d = backoff_delay(&p, 3, r);
		cr_assert_geq(d, prev);
		prev = d;
	}
}

/* Full jitter doubles a delay at the cap: a cap near 2^63 µs must not overflow the
 * conversion (UBSan reports that in make check-sanitize). */
Test(backoff, full_jitter_on_a_huge_cap_stays_in_range)
{
	struct backoff_policy p = {
		.delay = UINT64_MAX / 2, .delay_max = UINT64_MAX / 2, .factor = 2.0, .jitter = 1.0};

	cr_assert_eq(backoff_delay(&p, 1, 0.999999), UINT64_C(1) << 63);
	cr_assert_eq(backoff_delay(&p, 1, 0.0), 0);
}

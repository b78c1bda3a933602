/* test-units.c: durations, sizes and percentages as vigil.conf writes them. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "macro.h"
#include "units.h"

/* Parses @s as a duration that must be valid and returns its µs. */
static uint64_t duration(const char *s)
{
	uint64_t v = 12345;
	int r = units_parse_duration(s, &v);

	cr_assert_eq(r, 0, "units_parse_duration(\"%s\") returned %d", s, r);
	return v;
}

static int duration_error(const char *s)
{
	uint64_t v = 12345;
	int r = units_parse_duration(s, &v);

	cr_assert_eq(v, 12345, "a failed parse of \"%s\" wrote its result", s);
	return r;
}

static uint64_t size(const char *s)
{
	uint64_t v = 12345;
	int r = units_parse_size(s, &v);

	cr_assert_eq(r, 0, "units_parse_size(\"%s\") returned %d", s, r);
	return v;
}

static int size_error(const char *s)
{
	uint64_t v = 12345;
	int r = units_parse_size(s, &v);

	cr_assert_eq(v, 12345, "a failed parse of \"%s\" wrote its result", s);
	return r;
}

static int percent_error(const char *s)
{
	double v = 42.0;
	int r = units_parse_percent(s, &v);

	cr_assert_float_eq(v, 42.0, 1e-12, "a failed parse of \"%s\" wrote its result", s);
	return r;
}

Test(units, the_units_are_told_from_other_words)
{
	cr_assert(units_is_suffix("ms"));
	cr_assert(units_is_suffix("min"));
	cr_assert(units_is_suffix("K"));
	cr_assert(units_is_suffix("MiB"));
	cr_assert_not(units_is_suffix("command"));
	cr_assert_not(units_is_suffix(""));
	cr_assert_not(units_is_suffix("msx"));
}

Test(units, milliseconds_are_a_thousand_microseconds)
{
	cr_assert_eq(duration("500ms"), 500 * MSEC);
	cr_assert_eq(duration("1ms"), 1 * MSEC);
}

Test(units, seconds_minutes_and_hours_scale_as_written)
{
	cr_assert_eq(duration("10s"), 10 * SEC);
	cr_assert_eq(duration("2m"), 120 * SEC);
	cr_assert_eq(duration("1h"), 3600 * SEC);
	cr_assert_eq(duration("1d"), 86400 * SEC);
	cr_assert_eq(duration("250us"), 250);
}

Test(units, long_unit_names_mean_the_same_as_short_ones)
{
	cr_assert_eq(duration("3sec"), 3 * SEC);
	cr_assert_eq(duration("2min"), 120 * SEC);
	cr_assert_eq(duration("7msec"), 7 * MSEC);
	cr_assert_eq(duration("9usec"), 9);
}

Test(units, ms_is_not_read_as_minutes)
{
	cr_assert_eq(duration("5ms"), 5 * MSEC);
	cr_assert_eq(duration("5m"), 300 * SEC);
}

Test(units, compound_durations_add_their_parts)
{
	cr_assert_eq(duration("1m30s"), 90 * SEC);
	cr_assert_eq(duration("1h2m3s"), 3723 * SEC);
	cr_assert_eq(duration("1s500ms"), 1500 * MSEC);
}

Test(units, blanks_around_and_between_parts_are_allowed)
{
	cr_assert_eq(duration(" 10s "), 10 * SEC);
	cr_assert_eq(duration("1m 30s"), 90 * SEC);
	cr_assert_eq(duration("10 s"), 10 * SEC);
}

Test(units, fractional_durations_are_exact_to_the_microsecond)
{
	cr_assert_eq(duration("1.5s"), 1500 * MSEC);
	cr_assert_eq(duration("0.1s"), 100 * MSEC);
	cr_assert_eq(duration("2.5ms"), 2500);
	cr_assert_eq(duration(".5s"), 500 * MSEC);
}

Test(units, a_bare_number_is_seconds)
{
	cr_assert_eq(duration("10"), 10 * SEC);
	cr_assert_eq(duration("0"), 0);
	cr_assert_eq(duration("1.5"), 1500 * MSEC);
}

Test(units, zero_with_a_unit_is_zero)
{
	cr_assert_eq(duration("0s"), 0);
	cr_assert_eq(duration("0ms"), 0);
}

Test(units, an_empty_or_blank_duration_is_invalid)
{
	cr_assert_eq(duration_error(""), -EINVAL);
	cr_assert_eq(duration_error("   "), -EINVAL);
}

Test(units, an_unknown_unit_is_invalid)
{
	cr_assert_eq(duration_error("10x"), -EINVAL);
	cr_assert_eq(duration_error("10sx"), -EINVAL);
	cr_assert_eq(duration_error("10 seconds"), -EINVAL);
	cr_assert_eq(duration_error("5M"), -EINVAL);
}

Test(units, a_unit_without_a_number_is_invalid)
{
	cr_assert_eq(duration_error("s"), -EINVAL);
	cr_assert_eq(duration_error("ms"), -EINVAL);
	cr_assert_eq(duration_error("10s ms"), -EINVAL);
}

Test(units, a_negative_duration_is_invalid)
{
	cr_assert_eq(duration_error("-1s"), -EINVAL);
	cr_assert_eq(duration_error("-5"), -EINVAL);
}

Test(units, a_bare_number_after_a_unit_is_invalid)
{
	cr_assert_eq(duration_error("1m30"), -EINVAL);
	cr_assert_eq(duration_error("10ms5"), -EINVAL);
}

Test(units, words_that_strtod_accepts_are_not_durations)
{
	cr_assert_eq(duration_error("inf"), -EINVAL);
	cr_assert_eq(duration_error("nan"), -EINVAL);
	cr_assert_eq(duration_error("infs"), -EINVAL);
}

Test(units, a_duration_too_long_for_64_bits_is_out_of_range)
{
	cr_assert_eq(duration_error("99999999999999999999h"), -ERANGE);
	cr_assert_eq(duration_error("999999999999999d"), -ERANGE);
}

Test(units, sizes_without_a_suffix_are_bytes)
{
	cr_assert_eq(size("512"), 512);
	cr_assert_eq(size("0"), 0);
}

Test(units, size_suffixes_are_powers_of_1024)
{
	cr_assert_eq(size("256K"), 256ULL << 10);
	cr_assert_eq(size("10M"), 10ULL << 20);
	cr_assert_eq(size("1G"), 1ULL << 30);
	cr_assert_eq(size("3B"), 3);
}

Test(units, size_suffixes_may_end_in_b_or_ib)
{
	cr_assert_eq(size("1KB"), 1024);
	cr_assert_eq(size("1KiB"), 1024);
	cr_assert_eq(size("2MiB"), 2ULL << 20);
	cr_assert_eq(size("4GB"), 4ULL << 30);
}

Test(units, fractional_sizes_scale_before_rounding)
{
	cr_assert_eq(size("1.5K"), 1536);
	cr_assert_eq(size("0.5M"), 512ULL << 10);
}

Test(units, blanks_around_a_size_are_allowed)
{
	cr_assert_eq(size(" 10M "), 10ULL << 20);
	cr_assert_eq(size("10 M"), 10ULL << 20);
}

Test(units, a_bad_size_is_invalid)
{
	cr_assert_eq(size_error(""), -EINVAL);
	cr_assert_eq(size_error("K"), -EINVAL);
	cr_assert_eq(size_error("10T"), -EINVAL);
	cr_assert_eq(size_error("10Kx"), -EINVAL);
	cr_assert_eq(size_error("-1K"), -EINVAL);
	cr_assert_eq(size_error("10 K M"), -EINVAL);
}

Test(units, a_size_too_large_is_out_of_range)
{
	cr_assert_eq(size_error("99999999999G"), -ERANGE);
}

Test(units, a_percentage_is_a_fraction)
{
	double v = -1;

	cr_assert_eq(units_parse_percent("10%", &v), 0);
	cr_assert_float_eq(v, 0.10, 1e-12);
	cr_assert_eq(units_parse_percent("100%", &v), 0);
	cr_assert_float_eq(v, 1.0, 1e-12);
	cr_assert_eq(units_parse_percent("0%", &v), 0);
	cr_assert_float_eq(v, 0.0, 1e-12);
	cr_assert_eq(units_parse_percent("12.5%", &v), 0);
	cr_assert_float_eq(v, 0.125, 1e-12);
}

Test(units, a_percentage_may_be_written_as_a_fraction)
{
	double v = -1;

	cr_assert_eq(units_parse_percent("0.1", &v), 0);
	cr_assert_float_eq(v, 0.1, 1e-12);
	cr_assert_eq(units_parse_percent("1", &v), 0);
	cr_assert_float_eq(v, 1.0, 1e-12);
}

Test(units, a_percentage_above_one_hundred_is_out_of_range)
{
	cr_assert_eq(percent_error("101%"), -ERANGE);
	cr_assert_eq(percent_error("1.5"), -ERANGE);
}

Test(units, a_bad_percentage_is_invalid)
{
	cr_assert_eq(percent_error(""), -EINVAL);
	cr_assert_eq(percent_error("%"), -EINVAL);
	cr_assert_eq(percent_error("-5%"), -EINVAL);
	cr_assert_eq(percent_error("10%%"), -EINVAL);
	cr_assert_eq(percent_error("ten%"), -EINVAL);
}

Test(units, zero_formats_as_zero_seconds)
{
	char buf[32];

	cr_assert_str_eq(units_format_duration(0, buf, sizeof(buf)), "0s");
}

Test(units, a_duration_formats_in_its_largest_exact_unit)
{
	char buf[32];

	cr_assert_str_eq(units_format_duration(100 * MSEC, buf, sizeof(buf)), "100ms");
	cr_assert_str_eq(units_format_duration(30 * SEC, buf, sizeof(buf)), "30s");
	cr_assert_str_eq(units_format_duration(1500 * MSEC, buf, sizeof(buf)), "1500ms");
	cr_assert_str_eq(units_format_duration(2 * 60 * SEC, buf, sizeof(buf)), "2m");
	cr_assert_str_eq(units_format_duration(90 * SEC, buf, sizeof(buf)), "90s");
	cr_assert_str_eq(units_format_duration(3600 * SEC, buf, sizeof(buf)), "1h");
	cr_assert_str_eq(units_format_duration(7, buf, sizeof(buf)), "7us");
}

Test(units, format_duration_returns_its_buffer)
{
	char buf[32];

	cr_assert_eq(units_format_duration(SEC, buf, sizeof(buf)), buf);
}

Test(units, format_duration_never_writes_past_a_small_buffer)
{
	char buf[8];

	memset(buf, 'x', sizeof(buf));
	units_format_duration(1500 * MSEC, buf, 4);
	cr_assert_str_eq(buf, "150");
	cr_assert_eq(buf[4], 'x');
}

Test(units, a_formatted_duration_parses_back_to_the_same_value)
{
	static const uint64_t values[] = {
		1,
		999,
		MSEC,
		1500 * MSEC,
		SEC,
		61 * SEC,
		60 * SEC,
		3600 * SEC,
		86400 * SEC,
		3600 * SEC + 1,
	};
	char buf[32];

	for (size_t i = 0; i < ELEMENTSOF(values); i++)
		cr_assert_eq(duration(units_format_duration(values[i], buf, sizeof(buf))),
			     values[i],
			     "\"%s\" did not parse back",
			     buf);
}

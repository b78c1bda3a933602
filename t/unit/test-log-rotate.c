/* test-log-rotate.c: log file generations, when to rotate, and line prefixes. */
#include <string.h>

#include <criterion/criterion.h>

#include "log-format.h"
#include "log-rotate.h"
#include "macro.h"

Test(log_rotate, generation_zero_is_the_file_itself_and_others_get_a_number)
{
	char buf[64];

	cr_assert_eq(log_rotate_name("/var/log/vigil/web.log", 0, buf, sizeof(buf)), 22);
	cr_assert_str_eq(buf, "/var/log/vigil/web.log");
	log_rotate_name("/var/log/vigil/web.log", 1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "/var/log/vigil/web.log.1");
	log_rotate_name("web.log", 12, buf, sizeof(buf));
	cr_assert_str_eq(buf, "web.log.12");
	cr_assert_eq(log_rotate_name("web.log", 1, buf, 9), -ENAMETOOLONG);
}

Test(log_rotate, renames_go_oldest_first_and_end_with_the_current_file)
{
	struct log_rotate_step st;
	unsigned from[8], to[8], n = 0;

	while (log_rotate_step(3, n, &st)) {
		cr_assert(!st.unlink);
		from[n] = st.from;
		to[n] = st.to;
		n++;
	}
	cr_assert_eq(n, 3);
	cr_assert_eq(from[0], 2);
	cr_assert_eq(to[0], 3);
	cr_assert_eq(from[1], 1);
	cr_assert_eq(to[1], 2);
	cr_assert_eq(from[2], 0);
	cr_assert_eq(to[2], 1);
}

Test(log_rotate, keeping_zero_files_removes_the_current_one)
{
	struct log_rotate_step st;

	cr_assert(log_rotate_step(0, 0, &st));
	cr_assert(st.unlink);
	cr_assert_eq(st.from, 0);
	cr_assert(!log_rotate_step(0, 1, &st));
}

Test(log_rotate, rotation_is_due_only_past_the_limit_and_never_for_an_empty_file)
{
	cr_assert(!log_rotate_due(0, 5000, 4096), "an empty file takes any line");
	cr_assert(!log_rotate_due(4000, 96, 4096), "exactly the limit fits");
	cr_assert(log_rotate_due(4000, 97, 4096));
	cr_assert(log_rotate_due(5000, 1, 4096), "already past (a long line)");
	cr_assert(!log_rotate_due(1ULL << 40, 1, 0), "0: no rotation");
}

Test(log_format, the_prefix_is_an_rfc3339_utc_timestamp_with_ms_and_the_stream)
{
	char buf[LOG_PREFIX_MAX + 1];
	size_t n;

	/* 2024-05-01T12:34:56.789Z */
	n = log_format_prefix(1714566896789123ULL, LOG_STREAM_OUT, false, buf);
	buf[n] = '\0';
	cr_assert_str_eq(buf, "2024-05-01T12:34:56.789Z out ");
	n = log_format_prefix(1714566896007000ULL, LOG_STREAM_ERR, true, buf);
	buf[n] = '\0';
	cr_assert_str_eq(buf, "2024-05-01T12:34:56.007Z err+ ");
	cr_assert_eq(n, LOG_PREFIX_MAX);
	n = log_format_prefix(1714566897000000ULL, LOG_STREAM_OUT, false, buf);
	buf[n] = '\0';
	cr_assert_str_eq(buf, "2024-05-01T12:34:57.000Z out ", "the cached date moves on");
}

/* test-log-tail.c: the in-memory tail ring and reading it back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "log-tail.h"
#include "macro.h"

static void put(struct log_tail *t, enum log_stream s, const char *text)
{
	cr_assert_eq(log_tail_append(t, 1000, s, false, text, strlen(text)), 0);
}

/* Reads the next line into @buf (NUL-terminated); returns peek's result. */
static int get(struct log_tail *t, struct log_tail_cursor *c, char *buf, size_t size,
	       struct log_tail_entry *e)
{
	int r = log_tail_peek(t, c, e);

	if (r == 0) {
		size_t n = log_tail_copy(t, e, 0, buf, size - 1);
		buf[n] = '\0';
		log_tail_advance(t, c, e);
	}
	return r;
}

Test(log_tail, nothing_is_allocated_until_the_first_line)
{
	struct log_tail t;

	log_tail_init(&t, 256 * 1024);
	cr_assert_null(t.buf);
	put(&t, LOG_STREAM_OUT, "hello");
	cr_assert_not_null(t.buf);
	cr_assert_eq(t.cap, LOG_TAIL_INITIAL);
	log_tail_clear(&t);
}

Test(log_tail, lines_come_back_with_stream_time_and_text)
{
	struct log_tail t;
	struct log_tail_cursor c;
	struct log_tail_entry e;
	char buf[64];

	log_tail_init(&t, 4096);
	put(&t, LOG_STREAM_OUT, "first");
	cr_assert_eq(log_tail_append(&t, 2000, LOG_STREAM_ERR, true, "second", 6), 0);
	log_tail_seek_last(&t, 10, &c);
	cr_assert_eq(get(&t, &c, buf, sizeof(buf), &e), 0);
	cr_assert_str_eq(buf, "first");
	cr_assert_eq(e.stream, LOG_STREAM_OUT);
	cr_assert_eq(e.time, 1000);
	cr_assert_eq(e.seq, 0);
	cr_assert_eq(get(&t, &c, buf, sizeof(buf), &e), 0);
	cr_assert_str_eq(buf, "second");
	cr_assert_eq(e.stream, LOG_STREAM_ERR);
	cr_assert(e.continued);
	cr_assert_eq(get(&t, &c, buf, sizeof(buf), &e), -EAGAIN);
	log_tail_clear(&t);
}

Test(log_tail, the_oldest_lines_go_when_full_and_memory_stays_at_the_cap)
{
	struct log_tail t;
	struct log_tail_cursor c;
	struct log_tail_entry e;
	char buf[64], want[64];

	log_tail_init(&t, 1000);
	for (int i = 0; i < 500; i++) {
		snprintf(buf, sizeof(buf), "line %03d", i);
		put(&t, LOG_STREAM_OUT, buf);
		cr_assert_leq(t.cap, 1000);
		cr_assert_leq(t.used, t.cap);
	}
	/* 24 bytes each: 41 fit in 1000. */
	cr_assert_eq(t.next_seq - t.first_seq, 41);
	log_tail_seek_last(&t, 1000, &c);
	for (int i = 459; i < 500; i++) {
		cr_assert_eq(get(&t, &c, buf, sizeof(buf), &e), 0);
		snprintf(want, sizeof(want), "line %03d", i);
		cr_assert_str_eq(buf, want);
	}
	log_tail_clear(&t);
}

Test(log_tail, seek_last_gives_the_last_n_lines)
{
	struct log_tail t;
	struct log_tail_cursor c;
	struct log_tail_entry e;
	char buf[64];

	log_tail_init(&t, 64 * 1024);
	for (int i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf), "%d", i);
		put(&t, LOG_STREAM_OUT, buf);
	}
	log_tail_seek_last(&t, 5, &c);
	for (int i = 95; i < 100; i++) {
		cr_assert_eq(get(&t, &c, buf, sizeof(buf), &e), 0);
		cr_assert_eq(atoi(buf), i);
	}
	cr_assert_eq(get(&t, &c, buf, sizeof(buf), &e), -EAGAIN);
	log_tail_seek_last(&t, 0, &c);
	cr_assert_eq(log_tail_peek(&t, &c, &e), -EAGAIN, "0 lines: only new ones");
	log_tail_clear(&t);
}

Test(log_tail, a_follower_sees_new_lines_and_survives_growth)
{
	struct log_tail t;
	struct log_tail_cursor c;
	struct log_tail_entry e;
	char buf[128], want[128];

	log_tail_init(&t, 1 << 20);
	log_tail_seek_last(&t, 0, &c);
	for (int i = 0; i < 5000; i++) {
		snprintf(want, sizeof(want), "line number %d with some padding to grow", i);
		put(&t, LOG_STREAM_OUT, want);
		cr_assert_eq(get(&t, &c, buf, sizeof(buf), &e), 0);
		cr_assert_str_eq(buf, want);
	}
	cr_assert_gt(t.cap, LOG_TAIL_INITIAL);
	log_tail_clear(&t);
}

Test(log_tail, a_slow_reader_is_told_how_many_lines_it_missed)
{
	struct log_tail t;
	struct log_tail_cursor c;
	struct log_tail_entry e;
	char buf[64];

	log_tail_init(&t, 200);
	put(&t, LOG_STREAM_OUT, "0");
	log_tail_seek_last(&t, 1, &c);
	for (int i = 1; i < 50; i++) {
		snprintf(buf, sizeof(buf), "%d", i);
		put(&t, LOG_STREAM_OUT, buf);
	}
	int missed = log_tail_peek(&t, &c, &e);
	cr_assert_gt(missed, 0);
	cr_assert_eq(get(&t, &c, buf, sizeof(buf), &e), 0);
	cr_assert_eq(atoi(buf), missed, "resumes at the oldest line kept");
	log_tail_clear(&t);
}

Test(log_tail, a_line_larger_than_the_tail_is_truncated)
{
	struct log_tail t;
	struct log_tail_cursor c;
	struct log_tail_entry e;
	char big[300];

	memset(big, 'z', sizeof(big));
	log_tail_init(&t, 100);
	cr_assert_eq(log_tail_append(&t, 1, LOG_STREAM_ERR, false, big, sizeof(big)), 0);
	log_tail_seek_last(&t, 1, &c);
	cr_assert_eq(log_tail_peek(&t, &c, &e), 0);
	cr_assert(e.truncated);
	cr_assert_eq(e.len, 100 - LOG_TAIL_HEADER);
	log_tail_clear(&t);
}

Test(log_tail, a_zero_cap_keeps_nothing)
{
	struct log_tail t;
	struct log_tail_cursor c;
	struct log_tail_entry e;

	log_tail_init(&t, 0);
	put(&t, LOG_STREAM_OUT, "x");
	cr_assert_null(t.buf);
	log_tail_seek_last(&t, 10, &c);
	cr_assert_eq(log_tail_peek(&t, &c, &e), -EAGAIN);
}

Test(log_tail, shrinking_drops_the_oldest_and_keeps_the_rest_readable)
{
	struct log_tail t;
	struct log_tail_cursor c;
	struct log_tail_entry e;
	char buf[64];

	log_tail_init(&t, 64 * 1024);
	for (int i = 0; i < 1000; i++) {
		snprintf(buf, sizeof(buf), "%d", i);
		put(&t, LOG_STREAM_OUT, buf);
	}
	cr_assert_eq(log_tail_set_max(&t, 200), 0);
	cr_assert_leq(t.cap, 200);
	log_tail_seek_last(&t, 10000, &c);
	cr_assert_eq(get(&t, &c, buf, sizeof(buf), &e), 0);
	cr_assert_gt(atoi(buf), 900);
	log_tail_clear(&t);
}

Test(log_tail, wrapped_lines_are_copied_in_pieces_at_any_offset)
{
	struct log_tail t;
	struct log_tail_cursor c;
	struct log_tail_entry e;
	char text[40], got[40];

	log_tail_init(&t, 100);
	/* 16 + 30 = 46 per line: the third wraps around the end of the 100-byte ring. */
	for (int i = 0; i < 3; i++) {
		memset(text, 'a' + i, 30);
		cr_assert_eq(log_tail_append(&t, 1, LOG_STREAM_OUT, false, text, 30), 0);
	}
	log_tail_seek_last(&t, 1, &c);
	cr_assert_eq(log_tail_peek(&t, &c, &e), 0);
	cr_assert_eq(log_tail_copy(&t, &e, 0, got, 7), 7);
	cr_assert_eq(log_tail_copy(&t, &e, 7, got + 7, 40), 23);
	for (int i = 0; i < 30; i++)
		cr_assert_eq(got[i], 'c');
	log_tail_clear(&t);
}

Test(log_tail, a_skipped_line_is_counted_and_pushes_out_every_line_before_it)
{
	struct log_tail t;
	struct log_tail_cursor c, start;
	struct log_tail_entry e;
	char buf[64];

	log_tail_init(&t, 200);
	put(&t, LOG_STREAM_OUT, "0");
	put(&t, LOG_STREAM_OUT, "1");
	log_tail_seek_last(&t, 2, &start);
	log_tail_skip(&t, 1);
	log_tail_skip(&t, 1);
	put(&t, LOG_STREAM_ERR, "4");
	{
		/* Two at once count as two in a row; none changes nothing. */
		struct log_tail u;
		unsigned gen;

		log_tail_init(&u, 200);
		put(&u, LOG_STREAM_OUT, "0");
		put(&u, LOG_STREAM_OUT, "1");
		log_tail_skip(&u, 2);
		put(&u, LOG_STREAM_ERR, "4");
		cr_assert_eq(u.first_seq, t.first_seq);
		cr_assert_eq(u.next_seq, t.next_seq);
		gen = u.gen;
		log_tail_skip(&u, 0);
		cr_assert_eq(u.gen, gen);
		cr_assert_eq(u.next_seq, t.next_seq);
		log_tail_clear(&u);
	}
	cr_assert_eq(t.first_seq, 4);
	cr_assert_eq(t.next_seq, 5);

	/* A reader placed before the skip is told what it missed, then goes on. */
	cr_assert_eq(log_tail_peek(&t, &start, &e), 4);
	cr_assert_eq(get(&t, &start, buf, sizeof(buf), &e), 0);
	cr_assert_str_eq(buf, "4");
	cr_assert_eq(e.seq, 4);
	cr_assert_eq(get(&t, &start, buf, sizeof(buf), &e), -EAGAIN);

	log_tail_seek_last(&t, 10, &c);
	cr_assert_eq(get(&t, &c, buf, sizeof(buf), &e), 0);
	cr_assert_str_eq(buf, "4");
	log_tail_clear(&t);
}

Test(log_tail, skipping_without_a_tail_counts_nothing)
{
	struct log_tail t;

	log_tail_init(&t, 0);
	log_tail_skip(&t, 3);
	cr_assert_eq(t.next_seq, 0);
	cr_assert_null(t.buf);
}

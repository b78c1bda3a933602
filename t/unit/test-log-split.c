/* test-log-split.c: cutting a byte stream into lines. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "log-split.h"
#include "macro.h"

/* What the splitter handed out, as "line|" or "+line|" for a continuation. */
struct sink {
	char out[1 << 20];
	size_t len;
	int lines;
	int refuse_after; /* take this many lines, then refuse; -1: take all */
	size_t longest;
};

static bool take(const char *line, size_t len, bool continued, void *userdata)
{
	struct sink *k = userdata;

	if (k->refuse_after >= 0 && k->lines >= k->refuse_after)
		return false;
	k->lines++;
	k->longest = MAX(k->longest, len);
	if (k->len + len + 2 < sizeof(k->out)) {
		if (continued)
			k->out[k->len++] = '+';
		memcpy(k->out + k->len, line, len);
		k->len += len;
		k->out[k->len++] = '|';
		k->out[k->len] = '\0';
	}
	return true;
}

static struct sink *sink_new(void)
{
	struct sink *k = calloc(1, sizeof(*k));

	k->refuse_after = -1;
	return k;
}

Test(log_split, next_finds_a_line_and_its_newline)
{
	size_t len = 99;

	cr_assert_eq(log_split_next("ab\ncd", 5, 10, &len), 3);
	cr_assert_eq(len, 2);
	cr_assert_eq(log_split_next("\n", 1, 10, &len), 1);
	cr_assert_eq(len, 0);
}

Test(log_split, next_waits_for_the_rest_of_a_partial_line)
{
	size_t len = 99;

	cr_assert_eq(log_split_next("abc", 3, 10, &len), 0);
	cr_assert_eq(
		log_split_next("abcdefghij", 10, 10, &len), 0, "the 11th byte may be a newline");
}

Test(log_split, next_cuts_a_piece_when_no_newline_comes_within_max)
{
	size_t len = 0;

	cr_assert_eq(log_split_next("abcdefghijk", 11, 10, &len), 10);
	cr_assert_eq(len, 10);
	cr_assert_eq(log_split_next("abcdefghij\n", 11, 10, &len), 11, "exactly max is a line");
	cr_assert_eq(len, 10);
}

Test(log_split, lines_split_across_chunks_are_joined)
{
	struct log_splitter s = {0};
	struct sink *k = sink_new();

	cr_assert_eq(log_splitter_feed(&s, "one\ntw", 6, take, k), 0);
	cr_assert_eq(log_splitter_feed(&s, "o\nth", 4, take, k), 0);
	cr_assert_eq(log_splitter_feed(&s, "r", 1, take, k), 0);
	cr_assert_eq(log_splitter_feed(&s, "ee\nfour\n", 8, take, k), 0);
	cr_assert_str_eq(k->out, "one|two|three|four|");
	cr_assert_eq(s.len, 0);
	log_splitter_clear(&s);
	free(k);
}

Test(log_split, empty_lines_are_lines)
{
	struct log_splitter s = {0};
	struct sink *k = sink_new();

	cr_assert_eq(log_splitter_feed(&s, "\n\na\n\n", 5, take, k), 0);
	cr_assert_str_eq(k->out, "||a||");
	log_splitter_clear(&s);
	free(k);
}

Test(log_split, finish_hands_out_a_last_line_without_newline)
{
	struct log_splitter s = {0};
	struct sink *k = sink_new();

	cr_assert_eq(log_splitter_feed(&s, "a\nlast words", 12, take, k), 0);
	cr_assert_str_eq(k->out, "a|");
	cr_assert(log_splitter_finish(&s, take, k));
	cr_assert_str_eq(k->out, "a|last words|");
	cr_assert(log_splitter_finish(&s, take, k), "nothing left: finishing again is harmless");
	cr_assert_eq(k->lines, 2);
	log_splitter_clear(&s);
	free(k);
}

Test(log_split, a_line_over_64k_is_cut_and_the_rest_marked_continued)
{
	size_t n = 2 * LOG_LINE_MAX + 100;
	char *big = malloc(n + 3);
	struct log_splitter s = {0};
	struct sink *k = sink_new();

	memset(big, 'x', n);
	memcpy(big + n, "\nok", 3);
	/* Fed in odd-sized chunks, so the cuts fall inside held partial lines too. */
	for (size_t off = 0; off < n + 3; off += 5000)
		cr_assert_eq(log_splitter_feed(&s, big + off, MIN(5000, n + 3 - off), take, k), 0);
	cr_assert(log_splitter_finish(&s, take, k));
	cr_assert_eq(k->lines, 4);
	cr_assert_eq(k->longest, LOG_LINE_MAX);
	/* Two whole pieces, a continued rest of 100, then an ordinary line. */
	cr_assert_eq(k->out[LOG_LINE_MAX], '|');
	cr_assert_eq(k->out[LOG_LINE_MAX + 1], '+');
	cr_assert_eq(k->out[2 * LOG_LINE_MAX + 2], '|');
	cr_assert_eq(k->out[2 * LOG_LINE_MAX + 3], '+');
	cr_assert_str_eq(k->out + 2 * LOG_LINE_MAX + 4 + 100, "|ok|");
	log_splitter_clear(&s);
	free(big);
	free(k);
}

Test(log_split, a_line_of_exactly_64k_is_one_line)
{
	char *big = malloc(LOG_LINE_MAX + 1);
	struct log_splitter s = {0};
	struct sink *k = sink_new();

	memset(big, 'y', LOG_LINE_MAX);
	big[LOG_LINE_MAX] = '\n';
	cr_assert_eq(log_splitter_feed(&s, big, 100, take, k), 0);
	cr_assert_eq(log_splitter_feed(&s, big + 100, LOG_LINE_MAX + 1 - 100, take, k), 0);
	cr_assert_eq(k->lines, 1);
	cr_assert_eq(k->longest, LOG_LINE_MAX);
	cr_assert_eq(k->out[0], 'y', "not marked continued");
	log_splitter_clear(&s);
	free(big);
	free(k);
}

Test(log_split, a_refused_line_and_everything_after_it_are_kept_in_order)
{
	struct log_splitter s = {0};
	struct sink *k = sink_new();

	k->refuse_after = 1;
	cr_assert_eq(log_splitter_feed(&s, "a\nb\nc\npart", 10, take, k), 0);
	cr_assert(s.stopped);
	cr_assert_str_eq(k->out, "a|");
	k->refuse_after = 2;
	cr_assert(!log_splitter_resume(&s, take, k), "refused again after b");
	cr_assert_str_eq(k->out, "a|b|");
	k->refuse_after = -1;
	cr_assert(log_splitter_resume(&s, take, k));
	cr_assert_eq(log_splitter_feed(&s, "ial\nz\n", 6, take, k), 0);
	cr_assert_str_eq(k->out, "a|b|c|partial|z|");
	log_splitter_clear(&s);
	free(k);
}

Test(log_split, a_refusal_while_joining_a_held_line_keeps_it)
{
	struct log_splitter s = {0};
	struct sink *k = sink_new();

	cr_assert_eq(log_splitter_feed(&s, "he", 2, take, k), 0);
	k->refuse_after = 0;
	cr_assert_eq(log_splitter_feed(&s, "llo\nworld\n", 10, take, k), 0);
	cr_assert(s.stopped);
	k->refuse_after = -1;
	cr_assert(log_splitter_resume(&s, take, k));
	cr_assert_str_eq(k->out, "hello|world|");
	log_splitter_clear(&s);
	free(k);
}

Test(log_split, finish_after_a_refusal_gives_every_byte_once)
{
	struct log_splitter s = {0};
	struct sink *k = sink_new();

	k->refuse_after = 0;
	cr_assert_eq(log_splitter_feed(&s, "x\ntail", 6, take, k), 0);
	cr_assert(!log_splitter_finish(&s, take, k));
	k->refuse_after = 1;
	cr_assert(!log_splitter_finish(&s, take, k), "x taken, tail refused");
	k->refuse_after = -1;
	cr_assert(log_splitter_finish(&s, take, k));
	cr_assert_str_eq(k->out, "x|tail|");
	log_splitter_clear(&s);
	free(k);
}

Test(log_split, many_numbered_lines_in_random_chunks_arrive_in_order)
{
	struct log_splitter s = {0};
	struct sink *k = sink_new();
	char *text = malloc(200000 * 8), *p = text;
	size_t n, off = 0;
	unsigned seed = 7;

	for (int i = 0; i < 20000; i++)
		p += sprintf(p, "%d\n", i);
	n = (size_t)(p - text);
	while (off < n) {
		size_t chunk = MIN((size_t)(rand_r(&seed) % 300), n - off);
		cr_assert_eq(log_splitter_feed(&s, text + off, chunk, take, k), 0);
		off += chunk;
	}
	cr_assert_eq(k->lines, 20000);
	p = k->out;
	for (int i = 0; i < 20000; i++) {
		char *bar = strchr(p, '|');
		cr_assert_not_null(bar);
		cr_assert_eq(atoi(p), i);
		p = bar + 1;
	}
	log_splitter_clear(&s);
	free(text);
	free(k);
}

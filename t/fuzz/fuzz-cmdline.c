/* fuzz-cmdline.c: cmdline_split() on any text, the `command` and `exec` of vigil.conf.
 * Checks that the words fit in the text and that quoting them again, in any of three
 * ways, splits back into the same words. */
#include <errno.h>
#include <stdbool.h>

#include "cmdline.h"
#include "fuzz.h"
#include "macro.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Appends @word in single quotes, a quote inside as '\'' (the shell's way). */
static size_t quote_single(char *out, const char *word)
{
	size_t o = 0;

	out[o++] = '\'';
	for (const char *p = word; *p; p++)
		if (*p == '\'') {
			memcpy(out + o, "'\\''", 4);
			o += 4;
		} else
			out[o++] = *p;
	out[o++] = '\'';
	return o;
}

/* Appends @word in double quotes, with \" \\ \$ \` for the four characters that need a
 * backslash there. */
static size_t quote_double(char *out, const char *word)
{
	size_t o = 0;

	out[o++] = '"';
	for (const char *p = word; *p; p++) {
		if (strchr("\"\\$`", *p))
			out[o++] = '\\';
		out[o++] = *p;
	}
	out[o++] = '"';
	return o;
}

/* Appends @word with a backslash before every character, and "" for an empty word. */
static size_t quote_backslash(char *out, const char *word)
{
	size_t o = 0;

	if (!*word) {
		memcpy(out, "\"\"", 2);
		return 2;
	}
	for (const char *p = word; *p; p++) {
		out[o++] = '\\';
		out[o++] = *p;
	}
	return o;
}

static void check_requote(char **words, size_t n, size_t (*quote)(char *, const char *),
			  const char *how)
{
	size_t len = 0, o = 0;
	char *joined, **again = NULL;
	const char *cwhy = NULL;
	int r;

	for (size_t i = 0; i < n; i++)
		len += 4 * strlen(words[i]) + 3;
	joined = malloc(len + 1);
	if (!joined)
		abort();
	for (size_t i = 0; i < n; i++) {
		o += quote(joined + o, words[i]);
		joined[o++] = i % 2 ? '\t' : ' ';
	}
	joined[o] = '\0';
	r = cmdline_split(joined, &again, &cwhy);
	FUZZ_CHECK(r == 0, "%s-quoted words do not split again: %d (%s)", how, r, cwhy);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(again[i], "%s-quoted: %zu words, then fewer", how, n);
		FUZZ_CHECK(STREQ(again[i], words[i]), "%s-quoted word %zu changed", how, i);
	}
	FUZZ_CHECK(!again[n], "%s-quoted: %zu words, then more", how, n);
	strv_free(again);
	free(joined);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), **words = NULL;
	const char *why = NULL;
	size_t n = 0, total = 0, len = strlen(s);
	bool blank = true;
	int r;

	for (const char *p = s; *p; p++)
		blank &= is_blank(*p);
	r = cmdline_split(s, &words, &why);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENODATA || r == -E2BIG, "returned %d", r);
	FUZZ_CHECK((r == -ENODATA) == blank, "blank input %d, returned %d", blank, r);
	if (r < 0) {
		FUZZ_CHECK(why && *why, "error %d without a reason", r);
		FUZZ_CHECK(!words, "error %d wrote the result", r);
		free(s);
		return 0;
	}
	for (; words[n]; n++)
		total += strlen(words[n]);
	FUZZ_CHECK(n >= 1 && n <= CMDLINE_WORDS_MAX, "%zu words", n);
	/* Quotes, backslashes and blanks only ever go: the words never hold more. */
	FUZZ_CHECK(total <= len, "%zu bytes of words from %zu of text", total, len);
	check_requote(words, n, quote_single, "single");
	check_requote(words, n, quote_backslash, "backslash");
	check_requote(words, n, quote_double, "double");
	strv_free(words);
	free(s);
	return 0;
}

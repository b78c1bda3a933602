/* test-cmdline.c: splitting a command line like a shell, without any expansion. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cmdline.h"
#include "macro.h"

static size_t count_words(char **argv)
{
	size_t n = 0;

	while (argv[n])
		n++;
	return n;
}

Test(cmdline, blanks_separate_words)
{
	CLEANUP(strv_freep) char **argv = NULL;
	const char *why = NULL;

	cr_assert_eq(cmdline_split("/usr/bin/python3 -m http.server 8080", &argv, &why), 0);
	cr_assert_eq(count_words(argv), 4);
	cr_assert_str_eq(argv[0], "/usr/bin/python3");
	cr_assert_str_eq(argv[1], "-m");
	cr_assert_str_eq(argv[2], "http.server");
	cr_assert_str_eq(argv[3], "8080");
	cr_assert_null(argv[4]);
	cr_assert_null(why);
}

Test(cmdline, runs_of_spaces_tabs_and_newlines_count_as_one_separator)
{
	CLEANUP(strv_freep) char **argv = NULL;
	const char *why = NULL;

	cr_assert_eq(cmdline_split("  a \t\tb\n\r c  ", &argv, &why), 0);
	cr_assert_eq(count_words(argv), 3);
	cr_assert_str_eq(argv[0], "a");
	cr_assert_str_eq(argv[1], "b");
	cr_assert_str_eq(argv[2], "c");
}

Test(cmdline, single_quotes_keep_everything_literally)
{
	CLEANUP(strv_freep) char **argv = NULL;
	const char *why = NULL;

	cr_assert_eq(cmdline_split("echo 'a  b \"c\" \\n $HOME `x`'", &argv, &why), 0);
	cr_assert_eq(count_words(argv), 2);
	cr_assert_str_eq(argv[1], "a  b \"c\" \\n $HOME `x`");
}

Test(cmdline, double_quotes_keep_blanks_inside_one_word)
{
	CLEANUP(strv_freep) char **argv = NULL;
	const char *why = NULL;

	cr_assert_eq(cmdline_split("sh -c \"echo hello   world\"", &argv, &why), 0);
	cr_assert_eq(count_words(argv), 3);
	cr_assert_str_eq(argv[2], "echo hello   world");
}

Test(cmdline, double_quotes_honour_only_the_shell_escapes)
{
	CLEANUP(strv_freep) char **argv = NULL;
	const char *why = NULL;

	cr_assert_eq(cmdline_split("x \"a\\\"b\\\\c\\$d\\`e\\nf\"", &argv, &why), 0);
	cr_assert_eq(count_words(argv), 2);
	/* \" \\ \$ \` lose their backslash; \n keeps it, as in sh. */
	cr_assert_str_eq(argv[1], "a\"b\\c$d`e\\nf");
}

Test(cmdline, nothing_is_expanded)
{
	CLEANUP(strv_freep) char **argv = NULL;
	const char *why = NULL;

	cr_assert_eq(cmdline_split("echo $HOME ~ *.c \"$PATH\" $(id) `id`", &argv, &why), 0);
	cr_assert_eq(count_words(argv), 7);
	cr_assert_str_eq(argv[1], "$HOME");
	cr_assert_str_eq(argv[2], "~");
	cr_assert_str_eq(argv[3], "*.c");
	cr_assert_str_eq(argv[4], "$PATH");
	cr_assert_str_eq(argv[5], "$(id)");
	cr_assert_str_eq(argv[6], "`id`");
}

Test(cmdline, a_backslash_outside_quotes_takes_the_next_character_literally)
{
	CLEANUP(strv_freep) char **argv = NULL;
	const char *why = NULL;

	cr_assert_eq(cmdline_split("touch a\\ b \\'q\\' \\\\ \\\"", &argv, &why), 0);
	cr_assert_eq(count_words(argv), 5);
	cr_assert_str_eq(argv[1], "a b");
	cr_assert_str_eq(argv[2], "'q'");
	cr_assert_str_eq(argv[3], "\\");
	cr_assert_str_eq(argv[4], "\"");
}

Test(cmdline, quoted_and_unquoted_parts_join_into_one_word)
{
	CLEANUP(strv_freep) char **argv = NULL;
	const char *why = NULL;

	cr_assert_eq(cmdline_split("--opt=\"a b\"'c d'e", &argv, &why), 0);
	cr_assert_eq(count_words(argv), 1);
	cr_assert_str_eq(argv[0], "--opt=a bc de");
}

Test(cmdline, empty_quotes_give_an_empty_word)
{
	CLEANUP(strv_freep) char **argv = NULL;
	const char *why = NULL;

	cr_assert_eq(cmdline_split("prog '' \"\" end", &argv, &why), 0);
	cr_assert_eq(count_words(argv), 4);
	cr_assert_str_eq(argv[0], "prog");
	cr_assert_str_eq(argv[1], "");
	cr_assert_str_eq(argv[2], "");
	cr_assert_str_eq(argv[3], "end");
}

Test(cmdline, empty_quotes_alone_are_a_command_of_one_empty_word)
{
	CLEANUP(strv_freep) char **argv = NULL;
	const char *why = NULL;

	cr_assert_eq(cmdline_split("''", &argv, &why), 0);
	cr_assert_eq(count_words(argv), 1);
	cr_assert_str_eq(argv[0], "");
}

Test(cmdline, an_unterminated_single_quote_is_an_error)
{
	char **argv = NULL;
	const char *why = NULL;

	cr_assert_eq(cmdline_split("echo 'abc", &argv, &why), -EINVAL);
	cr_assert_null(argv);
	cr_assert_not_null(why);
	cr_assert_str_eq(why, "unterminated single quote");
}

Test(cmdline, an_unterminated_double_quote_is_an_error)
{
	char **argv = NULL;
	const char *why = NULL;

	cr_assert_eq(cmdline_split("echo \"abc 'd'", &argv, &why), -EINVAL);
	cr_assert_null(argv);
	cr_assert_str_eq(why, "unterminated double quote");
}

Test(cmdline, an_escaped_closing_double_quote_leaves_the_quote_open)
{
	char **argv = NULL;
	const char *why = NULL;

	cr_assert_eq(cmdline_split("echo \"abc\\\"", &argv, &why), -EINVAL);
	cr_assert_null(argv);
	cr_assert_str_eq(why, "unterminated double quote");
}

Test(cmdline, a_trailing_backslash_is_an_error)
{
	char **argv = NULL;
	const char *why = NULL;

	cr_assert_eq(cmdline_split("echo abc\\", &argv, &why), -EINVAL);
	cr_assert_null(argv);
	cr_assert_str_eq(why, "trailing backslash");
}

Test(cmdline, an_empty_command_is_no_data)
{
	char **argv = NULL;
	const char *why = NULL;

	cr_assert_eq(cmdline_split("", &argv, &why), -ENODATA);
	cr_assert_null(argv);
	cr_assert_str_eq(why, "empty command");
}

Test(cmdline, a_blank_command_is_no_data)
{
	char **argv = NULL;
	const char *why = NULL;

	cr_assert_eq(cmdline_split(" \t\n ", &argv, &why), -ENODATA);
	cr_assert_null(argv);
	cr_assert_str_eq(why, "empty command");
}

/* Builds "w w w ... w" with @n words. */
static char *repeat_words(size_t n)
{
	char *s = malloc(2 * n + 1);

	cr_assert_not_null(s);
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = 'w';
		s[2 * i + 1] = ' ';
	}
	s[2 * n] = '\0';
	return s;
}

Test(cmdline, a_command_may_have_as_many_words_as_the_cap)
{
	CLEANUP_FREE char *s = repeat_words(CMDLINE_WORDS_MAX);
	CLEANUP(strv_freep) char **argv = NULL;
	const char *why = NULL;

	cr_assert_eq(cmdline_split(s, &argv, &why), 0);
	cr_assert_eq(count_words(argv), CMDLINE_WORDS_MAX);
	cr_assert_str_eq(argv[CMDLINE_WORDS_MAX - 1], "w");
}

Test(cmdline, one_word_past_the_cap_is_too_big)
{
	CLEANUP_FREE char *s = repeat_words(CMDLINE_WORDS_MAX + 1);
	char **argv = NULL;
	const char *why = NULL;

	cr_assert_eq(cmdline_split(s, &argv, &why), -E2BIG);
	cr_assert_null(argv);
	cr_assert_str_eq(why, "too many words");
}

Test(cmdline, a_long_single_word_survives_intact)
{
	char s[5000];
	CLEANUP(strv_freep) char **argv = NULL;
	const char *why = NULL;

	memset(s, 'x', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	cr_assert_eq(cmdline_split(s, &argv, &why), 0);
	cr_assert_eq(count_words(argv), 1);
	cr_assert_eq(strlen(argv[0]), sizeof(s) - 1);
}

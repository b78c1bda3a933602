/* test-env.c: env-file parsing and KEY=VALUE overrides. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "env.h"
#include "macro.h"

static size_t count_vars(char **env)
{
	size_t n = 0;

	while (env[n])
		n++;
	return n;
}

/* Parses @text, which must be valid, into *ret. */
static void parse_ok(const char *text, char ***ret)
{
	unsigned line = 0;
	int r = env_file_parse(text, strlen(text), ret, &line);

	cr_assert_eq(r, 0, "env_file_parse() returned %d at line %u", r, line);
	cr_assert_not_null(*ret);
}

/* Parses @text, which must be invalid, and returns the line reported. */
static unsigned parse_bad_line(const char *text)
{
	char **env = NULL;
	unsigned line = 0;

	cr_assert_eq(env_file_parse(text, strlen(text), &env, &line), -EINVAL);
	cr_assert_null(env);
	return line;
}

Test(env, an_assignment_needs_a_valid_key_and_an_equals_sign)
{
	cr_assert(env_assignment_is_valid("FOO=bar"));
	cr_assert(env_assignment_is_valid("_x1="));
	cr_assert(env_assignment_is_valid("a=b=c"));
	cr_assert_not(env_assignment_is_valid("FOO"));
	cr_assert_not(env_assignment_is_valid("=bar"));
	cr_assert_not(env_assignment_is_valid("1FOO=bar"));
	cr_assert_not(env_assignment_is_valid("FOO-BAR=x"));
	cr_assert_not(env_assignment_is_valid("FOO BAR=x"));
	cr_assert_not(env_assignment_is_valid(""));
}

Test(env, key_value_lines_become_variables_in_file_order)
{
	CLEANUP(strv_freep) char **env = NULL;

	parse_ok("A=1\nB=two\nC=\n", &env);
	cr_assert_eq(count_vars(env), 3);
	cr_assert_str_eq(env[0], "A=1");
	cr_assert_str_eq(env[1], "B=two");
	cr_assert_str_eq(env[2], "C=");
}

Test(env, comments_and_blank_lines_are_skipped)
{
	CLEANUP(strv_freep) char **env = NULL;

	parse_ok("# a comment\n\n   \n\t# indented comment\nA=1\n\n#B=2\n", &env);
	cr_assert_eq(count_vars(env), 1);
	cr_assert_str_eq(env[0], "A=1");
}

Test(env, an_empty_file_gives_an_empty_environment)
{
	CLEANUP(strv_freep) char **env = NULL;

	parse_ok("", &env);
	cr_assert_eq(count_vars(env), 0);
}

Test(env, a_last_line_without_a_newline_counts)
{
	CLEANUP(strv_freep) char **env = NULL;

	parse_ok("A=1\nB=2", &env);
	cr_assert_eq(count_vars(env), 2);
	cr_assert_str_eq(env[1], "B=2");
}

Test(env, only_len_bytes_of_the_text_are_read)
{
	CLEANUP(strv_freep) char **env = NULL;
	unsigned line = 0;

	cr_assert_eq(env_file_parse("A=1\nB=2\n", 4, &env, &line), 0);
	cr_assert_eq(count_vars(env), 1);
	cr_assert_str_eq(env[0], "A=1");
}

Test(env, an_export_prefix_is_ignored)
{
	CLEANUP(strv_freep) char **env = NULL;

	parse_ok("export A=1\nexport   B=2\n", &env);
	cr_assert_eq(count_vars(env), 2);
	cr_assert_str_eq(env[0], "A=1");
	cr_assert_str_eq(env[1], "B=2");
}

Test(env, a_variable_may_be_named_like_export)
{
	CLEANUP(strv_freep) char **env = NULL;

	parse_ok("export=1\nexported=2\n", &env);
	cr_assert_eq(count_vars(env), 2);
	cr_assert_str_eq(env[0], "export=1");
	cr_assert_str_eq(env[1], "exported=2");
}

Test(env, blanks_around_a_line_and_carriage_returns_are_trimmed)
{
	CLEANUP(strv_freep) char **env = NULL;

	parse_ok("  A=1  \r\n\tB=2\t\r\n", &env);
	cr_assert_eq(count_vars(env), 2);
	cr_assert_str_eq(env[0], "A=1");
	cr_assert_str_eq(env[1], "B=2");
}

Test(env, double_quotes_around_a_value_are_removed)
{
	CLEANUP(strv_freep) char **env = NULL;

	parse_ok("A=\"hello world\"\nB=\"\"\n", &env);
	cr_assert_eq(count_vars(env), 2);
	cr_assert_str_eq(env[0], "A=hello world");
	cr_assert_str_eq(env[1], "B=");
}

Test(env, single_quotes_around_a_value_are_removed_and_keep_backslashes)
{
	CLEANUP(strv_freep) char **env = NULL;

	parse_ok("A='it is \\n \"here\"'\n", &env);
	cr_assert_eq(count_vars(env), 1);
	cr_assert_str_eq(env[0], "A=it is \\n \"here\"");
}

Test(env, double_quoted_values_honour_escapes)
{
	CLEANUP(strv_freep) char **env = NULL;

	parse_ok("A=\"say \\\"hi\\\" \\\\ \\$x\\nnext\"\n", &env);
	cr_assert_eq(count_vars(env), 1);
	cr_assert_str_eq(env[0], "A=say \"hi\" \\ $x\nnext");
}

Test(env, a_comment_may_follow_a_quoted_value)
{
	CLEANUP(strv_freep) char **env = NULL;

	parse_ok("A=\"x y\"  # why\nB='z' #\n", &env);
	cr_assert_eq(count_vars(env), 2);
	cr_assert_str_eq(env[0], "A=x y");
	cr_assert_str_eq(env[1], "B=z");
}

Test(env, an_unquoted_value_is_kept_as_written)
{
	CLEANUP(strv_freep) char **env = NULL;

	parse_ok("URL=http://h/?a=b&c=d\n", &env);
	cr_assert_eq(count_vars(env), 1);
	cr_assert_str_eq(env[0], "URL=http://h/?a=b&c=d");
}

Test(env, a_later_line_replaces_an_earlier_one_in_place)
{
	CLEANUP(strv_freep) char **env = NULL;

	parse_ok("A=1\nB=2\nA=3\n", &env);
	cr_assert_eq(count_vars(env), 2);
	cr_assert_str_eq(env[0], "A=3");
	cr_assert_str_eq(env[1], "B=2");
}

Test(env, a_line_without_an_equals_sign_is_reported_with_its_number)
{
	cr_assert_eq(parse_bad_line("A=1\nJUSTAWORD\nB=2\n"), 2);
}

Test(env, a_bad_key_is_reported_with_its_number)
{
	cr_assert_eq(parse_bad_line("A=1\n1BAD=x\n"), 2);
	cr_assert_eq(parse_bad_line("=x\n"), 1);
	cr_assert_eq(parse_bad_line("A=1\nFOO-BAR=x\n"), 2);
	cr_assert_eq(parse_bad_line("A B=1\n"), 1);
}

Test(env, blank_and_comment_lines_count_toward_the_reported_line)
{
	cr_assert_eq(parse_bad_line("# head\n\nA=1\n   \n# more\nbad line\n"), 6);
}

Test(env, crlf_lines_count_once_each)
{
	cr_assert_eq(parse_bad_line("A=1\r\n\r\nB=2\r\noops\r\n"), 4);
}

Test(env, an_unterminated_quote_is_reported_with_its_number)
{
	cr_assert_eq(parse_bad_line("A=1\nB=\"open\n"), 2);
	cr_assert_eq(parse_bad_line("A='open\nB=2\n"), 1);
}

Test(env, text_after_a_closing_quote_is_an_error)
{
	cr_assert_eq(parse_bad_line("A=1\nB=2\nC=\"x\"y\n"), 3);
	cr_assert_eq(parse_bad_line("C='x' y\n"), 1);
}

/* Found by t/fuzz/fuzz-env (corpus/env/regress-nul-hides-the-lines-after-it): the
 * lines after a NUL were dropped without a word. */
Test(env, a_nul_byte_is_an_error_at_its_line)
{
	static const char found[] = "# comme\0\0\0\0\0\0\0$  # indented\n\tB=2  \r\n";
	char **env = NULL;
	unsigned line = 0;

	cr_assert_eq(env_file_parse(found, sizeof(found) - 1, &env, &line), -EINVAL);
	cr_assert_eq(line, 1);
	cr_assert_null(env);
	cr_assert_eq(env_file_parse("A=1\nB=2\0\nC=3\n", 12, &env, &line), -EINVAL);
	cr_assert_eq(line, 2);
}

Test(env, env_put_appends_a_new_variable)
{
	CLEANUP(strv_freep) char **env = NULL;
	size_t n = 0;

	cr_assert_eq(env_put(&env, &n, "A=1"), 0);
	cr_assert_eq(env_put(&env, &n, "B=2"), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(env[0], "A=1");
	cr_assert_str_eq(env[1], "B=2");
	cr_assert_null(env[2]);
}

Test(env, env_put_replaces_a_variable_of_the_same_name)
{
	CLEANUP(strv_freep) char **env = NULL;
	size_t n = 0;

	cr_assert_eq(env_put(&env, &n, "A=1"), 0);
	cr_assert_eq(env_put(&env, &n, "AB=2"), 0);
	cr_assert_eq(env_put(&env, &n, "A=3"), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(env[0], "A=3");
	cr_assert_str_eq(env[1], "AB=2");
	cr_assert_null(env[2]);
}

Test(env, env_put_does_not_confuse_a_prefix_with_the_name)
{
	CLEANUP(strv_freep) char **env = NULL;
	size_t n = 0;

	cr_assert_eq(env_put(&env, &n, "ABC=1"), 0);
	cr_assert_eq(env_put(&env, &n, "AB=2"), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(env[0], "ABC=1");
	cr_assert_str_eq(env[1], "AB=2");
}

Test(env, env_put_copies_its_argument)
{
	CLEANUP(strv_freep) char **env = NULL;
	size_t n = 0;
	char buf[] = "A=1";

	cr_assert_eq(env_put(&env, &n, buf), 0);
	buf[2] = '9';
	cr_assert_str_eq(env[0], "A=1");
}

Test(env, env_put_refuses_a_variable_past_the_cap)
{
	CLEANUP(strv_freep) char **env = NULL;
	size_t n = 0;
	char buf[32];

	for (unsigned i = 0; i < ENV_VARS_MAX; i++) {
		snprintf(buf, sizeof(buf), "V%u=x", i);
		cr_assert_eq(env_put(&env, &n, buf), 0);
	}
	cr_assert_eq(env_put(&env, &n, "ONE_MORE=x"), -E2BIG);
	cr_assert_eq(n, ENV_VARS_MAX);
	cr_assert_null(env[ENV_VARS_MAX]);
	/* A full environment still lets a variable be replaced. */
	cr_assert_eq(env_put(&env, &n, "V0=y"), 0);
	cr_assert_str_eq(env[0], "V0=y");
}

Test(env, a_file_with_too_many_variables_is_too_big)
{
	const size_t count = ENV_VARS_MAX + 1;
	CLEANUP_FREE char *text = malloc(count * 16 + 1);
	char **env = NULL;
	unsigned line = 0;
	size_t len = 0;

	cr_assert_not_null(text);
	for (size_t i = 0; i < count; i++)
		len += (size_t)sprintf(text + len, "V%zu=x\n", i);
	cr_assert_eq(env_file_parse(text, len, &env, &line), -E2BIG);
	cr_assert_null(env);
}

Test(env, env_unset_removes_a_variable_and_keeps_the_order)
{
	CLEANUP(strv_freep) char **env = NULL;
	size_t n = 0;

	env_put(&env, &n, "A=1");
	env_put(&env, &n, "B=2");
	env_put(&env, &n, "C=3");
	env_unset(env, &n, "B");
	cr_assert_eq(n, 2);
	cr_assert_str_eq(env[0], "A=1");
	cr_assert_str_eq(env[1], "C=3");
	cr_assert_null(env[2]);
}

Test(env, env_unset_of_the_last_variable_moves_the_terminator)
{
	CLEANUP(strv_freep) char **env = NULL;
	size_t n = 0;

	env_put(&env, &n, "A=1");
	env_put(&env, &n, "B=2");
	env_unset(env, &n, "B");
	cr_assert_eq(n, 1);
	cr_assert_str_eq(env[0], "A=1");
	cr_assert_null(env[1]);
}

Test(env, env_remove_hands_back_a_borrowed_assignment_without_freeing_it)
{
	char a[] = "A=1", b[] = "B=2";
	CLEANUP_FREE char **env = NULL;
	size_t n = 0;

	cr_assert_eq(env_put_ref(&env, &n, a), 0);
	cr_assert_eq(env_put_ref(&env, &n, b), 0);
	cr_assert_eq(env_remove(env, &n, "A"), a);
	cr_assert_null(env_remove(env, &n, "A"));
	cr_assert_eq(n, 1);
	cr_assert_eq(env[0], b);
	cr_assert_null(env[1]);
}

Test(env, env_unset_of_an_absent_name_changes_nothing)
{
	CLEANUP(strv_freep) char **env = NULL;
	size_t n = 0;

	env_put(&env, &n, "AB=1");
	env_unset(env, &n, "A");
	env_unset(env, &n, "ABC");
	cr_assert_eq(n, 1);
	cr_assert_str_eq(env[0], "AB=1");
	cr_assert_null(env[1]);
}

Test(env, a_variable_can_be_put_again_after_unset)
{
	CLEANUP(strv_freep) char **env = NULL;
	size_t n = 0;

	env_put(&env, &n, "A=1");
	env_unset(env, &n, "A");
	cr_assert_eq(n, 0);
	cr_assert_null(env[0]);
	cr_assert_eq(env_put(&env, &n, "A=2"), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(env[0], "A=2");
}

Test(env, get_finds_a_whole_name_only)
{
	char a[] = "PATHX=no", b[] = "PATH=/bin:/usr/bin", c[] = "EMPTY=";
	char *env[] = {a, b, c, NULL};

	cr_assert_str_eq(env_get(env, "PATH"), "/bin:/usr/bin");
	cr_assert_str_eq(env_get(env, "EMPTY"), "");
	cr_assert_null(env_get(env, "PAT"));
	cr_assert_null(env_get(NULL, "PATH"));
}

Test(env, a_utf8_byte_order_mark_at_the_start_is_passed_over)
{
	CLEANUP(strv_freep) char **env = NULL;

	parse_ok("\xEF\xBB\xBF"
		 "A=1\nB=2\n",
		 &env);
	cr_assert_eq(count_vars(env), 2);
	cr_assert_str_eq(env[0], "A=1");
	/* Anywhere else it is no name. */
	cr_assert_eq(parse_bad_line("A=1\n\xEF\xBB\xBF"
				    "B=2\n"),
		     2);
}

/* test-printable.c: text from outside made printable: UTF-8 kept, control characters
 * and invalid bytes masked, cuts between characters. */
#include <string.h>

#include <criterion/criterion.h>

#include "printable.h"

static const char *copy(const char *src, size_t len, size_t size, char control)
{
	static char buf[256];

	cr_assert_leq(size, sizeof(buf));
	cr_assert_eq(printable_copy(buf, size, src, len, control), strlen(buf));
	return buf;
}

Test(printable, terminal_escapes_become_the_control_character_and_utf8_stays)
{
	const char *in = "\x1b[2J\x1b]0;pwned\x07"
			 "caf\xc3\xa9 \xe2\x9c\x93\x7f";

	cr_assert_str_eq(copy(in, strlen(in), 256, '?'), "?[2J?]0;pwned?caf\xc3\xa9 \xe2\x9c\x93?");
	cr_assert_str_eq(copy("a\tb\nc", 5, 256, ' '), "a b c");
}

Test(printable, c1_controls_are_masked_as_a_whole_character)
{
	/* U+009B is CSI, which a terminal acts on as it does on ESC [; U+00A0 is text. */
	cr_assert_str_eq(copy("\xc2\x9b"
			      "31m\xc2\x85x\xc2\xa0",
			      10,
			      256,
			      '?'),
			 "?31m?x\xc2\xa0");
}

Test(printable, bytes_that_are_not_utf8_become_question_marks)
{
	cr_assert_str_eq(copy("ok\xff\xc3", 4, 256, ' '), "ok??");
	/* An overlong encoding and a surrogate. */
	cr_assert_str_eq(copy("\xc0\xaf\xed\xa0\x80", 5, 256, ' '), "?????");
}

Test(printable, a_nul_inside_the_length_is_a_control_character)
{
	cr_assert_str_eq(copy("a\0b", 3, 256, '?'), "a?b");
}

Test(printable, a_full_buffer_cuts_between_characters)
{
	/* Room for 5 bytes and the NUL: "ab" and one 3-byte character, not half of the next. */
	cr_assert_str_eq(copy("ab\xe2\x9c\x93\xe2\x9c\x93", 8, 6, '?'), "ab\xe2\x9c\x93");
	cr_assert_str_eq(copy("abc", 3, 1, '?'), "");
}

Test(printable, fix_utf8_replaces_only_the_bytes_that_are_not_utf8)
{
	char s[] = "caf\xc3\xa9\xff \xe2\x82\xac\xe2\x82 \t\x1b[1m";

	cr_assert_eq(printable_fix_utf8(s), 3);
	/* A euro sign cut after two bytes is two stray bytes; controls stay. */
	cr_assert_str_eq(s, "caf\xc3\xa9? \xe2\x82\xac?? \t\x1b[1m");
}

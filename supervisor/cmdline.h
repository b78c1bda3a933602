/* cmdline.h: splitting a command line like a shell, without any expansion. */
#pragma once

/* The most words one command may have. */
#define CMDLINE_WORDS_MAX 4096

/* Splits @s into words: blanks separate, '...' is literal, "..." honours \" \\ \$ \`
 * and a backslash outside quotes takes the next character literally. Nothing is
 * expanded. On success *ret is a new NULL-terminated array (free with strv_free()).
 * Returns 0; -EINVAL with *ret_why set for an unterminated quote or trailing
 * backslash; -ENODATA for an empty command; -E2BIG past CMDLINE_WORDS_MAX. */
int cmdline_split(const char *s, char ***ret, const char **ret_why);

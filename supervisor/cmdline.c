/* cmdline.c: splitting a command line like a shell, without any expansion. */
#include "cmdline.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int cmdline_split(const char *s, char ***ret, const char **ret_why)
{
	/* No word is longer than the input: build each in one scratch buffer. */
	size_t len = strlen(s);
	CLEANUP_FREE char *word = malloc(len + 1);
	CLEANUP(strv_freep) char **argv = NULL;
	size_t n = 0, cap = 0;
	const char *p = s;

	if (!word)
		return -ENOMEM;
	for (;;) {
		size_t w = 0;
		bool in_word = false;

		while (is_blank(*p))
			p++;
		if (!*p)
			break;
		while (*p && !is_blank(*p)) {
			in_word = true;
			if (*p == '\'') {
				const char *end = strchr(p + 1, '\'');
				if (!end) {
					*ret_why = "unterminated single quote";
					return -EINVAL;
				}
				memcpy(word + w, p + 1, (size_t)(end - p - 1));
				w += (size_t)(end - p - 1);
				p = end + 1;
			} else if (*p == '"') {
				p++;
				while (*p && *p != '"') {
					if (*p == '\\' && p[1] && strchr("\"\\$`\n", p[1]))
						p++;
					word[w++] = *p++;
				}
				if (*p != '"') {
					*ret_why = "unterminated double quote";
					return -EINVAL;
				}
				p++;
			} else if (*p == '\\') {
				if (!p[1]) {
					*ret_why = "trailing backslash";
					return -EINVAL;
				}
				word[w++] = p[1];
				p += 2;
			} else
				word[w++] = *p++;
		}
		if (!in_word)
			continue;
		if (n >= CMDLINE_WORDS_MAX) {
			*ret_why = "too many words";
			return -E2BIG;
		}
		if (n + 2 > cap) {
			size_t ncap = cap ? cap * 2 : 8;
			char **nv;

			nv = realloc(argv, ncap * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			argv = nv;
			cap = ncap;
		}
		argv[n] = strndup(word, w);
		if (!argv[n])
			return -ENOMEM;
		argv[++n] = NULL;
	}
	if (n == 0) {
		*ret_why = "empty command";
		return -ENODATA;
	}
	*ret = TAKE_PTR(argv);
	return 0;
}

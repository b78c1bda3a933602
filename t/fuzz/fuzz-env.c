/* fuzz-env.c: env_file_parse() on any text, an env-file as a service reads it at each
 * start. Checks that what it returns is a valid environment, that an error names a
 * line of the text, and that writing the variables out again, double-quoted with every
 * escape or single-quoted where a value allows, reads back the same. */
#include <errno.h>
#include <stdbool.h>

#include "env.h"
#include "fuzz.h"
#include "macro.h"

/* Writes @env as KEY="VALUE" lines with \" \\ \$ \` and \n, or with @single as KEY='VALUE'
 * for values without a quote or a newline. */
static char *env_write(char **env, bool single, size_t *ret_len)
{
	size_t len = 1, o = 0;
	char *text;

	for (size_t i = 0; env[i]; i++)
		len += 2 * strlen(env[i]) + 4;
	text = malloc(len);
	if (!text)
		abort();
	for (size_t i = 0; env[i]; i++) {
		const char *eq = strchr(env[i], '=');

		memcpy(text + o, env[i], (size_t)(eq - env[i]) + 1);
		o += (size_t)(eq - env[i]) + 1;
		if (single && !strpbrk(eq + 1, "'\n")) {
			text[o++] = '\'';
			memcpy(text + o, eq + 1, strlen(eq + 1));
			o += strlen(eq + 1);
			text[o++] = '\'';
			text[o++] = '\n';
			continue;
		}
		text[o++] = '"';
		for (const char *p = eq + 1; *p; p++) {
			if (strchr("\"\\$`\n", *p))
				text[o++] = '\\';
			text[o++] = *p == '\n' ? 'n' : *p;
		}
		text[o++] = '"';
		text[o++] = '\n';
	}
	text[o] = '\0';
	*ret_len = o;
	return text;
}

static void check_round_trip(char **env, size_t n, bool single)
{
	const char *how = single ? "single-quoted" : "double-quoted";
	char **again = NULL, *written;
	unsigned line = 0;
	size_t len;
	int r;

	written = env_write(env, single, &len);
	r = env_file_parse(written, len, &again, &line);
	FUZZ_CHECK(r == 0, "%s, it does not read again: %d at line %u", how, r, line);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(again[i], "%s: %zu variables, then fewer", how, n);
		FUZZ_CHECK(STREQ(again[i], env[i]),
			   "%s: variable %zu changed on the way back",
			   how,
			   i);
	}
	FUZZ_CHECK(!again[n], "%s: %zu variables, then more", how, n);
	strv_free(again);
	free(written);
}

static size_t key_len(const char *a)
{
	return strcspn(a, "=");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	char **env = NULL;
	unsigned line = 0, lines = 1;
	size_t n = 0;
	int r;

	for (size_t i = 0; i < size; i++)
		lines += text[i] == '\n';
	r = env_file_parse(text, size, &env, &line);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -E2BIG, "returned %d", r);
	if (r < 0) {
		FUZZ_CHECK(!env, "error %d wrote the result", r);
		if (r == -EINVAL)
			FUZZ_CHECK(line >= 1 && line <= lines, "bad line %u of %u", line, lines);
		return 0;
	}
	/* Every byte was read: a NUL must not hide the lines after it. */
	FUZZ_CHECK(!memchr(text, '\0', size), "text with a NUL accepted");
	for (; env[n]; n++) {
		FUZZ_CHECK(env_assignment_is_valid(env[n]), "variable %zu is not KEY=VALUE", n);
		for (size_t k = 0; k < n; k++)
			FUZZ_CHECK(key_len(env[k]) != key_len(env[n]) ||
					   memcmp(env[k], env[n], key_len(env[n])) != 0,
				   "variables %zu and %zu have the same name",
				   k,
				   n);
	}
	FUZZ_CHECK(n <= ENV_VARS_MAX, "%zu variables", n);

	check_round_trip(env, n, false);
	check_round_trip(env, n, true);
	strv_free(env);
	return 0;
}

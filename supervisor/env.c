/* env.c: environment blocks: env-file parsing and KEY=VALUE overrides. */
#include "env.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "macro.h"

static size_t key_length(const char *s)
{
	size_t i = 0;

	if (!isalpha((unsigned char)s[0]) && s[0] != '_')
		return 0;
	while (isalnum((unsigned char)s[i]) || s[i] == '_')
		i++;
	return i;
}

bool env_assignment_is_valid(const char *assignment)
{
	size_t k = key_length(assignment);
	return k > 0 && assignment[k] == '=';
}

/* The index of @name's assignment among the first @n of @env (stopping at a NULL),
 * or -1. */
static ssize_t env_find(char *const *env, size_t n, const char *name, size_t name_len)
{
	for (size_t i = 0; i < n && env[i]; i++)
		if (env_has_key(env[i], name, name_len))
			return (ssize_t)i;
	return -1;
}

/* Puts @assignment at its key's place, or appends it; *@replaced gets what it
 * replaced (or NULL). */
static int put(char ***env, size_t *n, char *assignment, char **replaced)
{
	size_t k = strcspn(assignment, "=");
	ssize_t i = env_find(*env, *n, assignment, k);
	char **nv;

	*replaced = NULL;
	if (i >= 0) {
		*replaced = (*env)[i];
		(*env)[i] = assignment;
		return 0;
	}
	if (*n >= ENV_VARS_MAX)
		return -E2BIG;
	nv = realloc(*env, (*n + 2) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = assignment;
	nv[*n] = NULL;
	*env = nv;
	return 0;
}

int env_put(char ***env, size_t *n, const char *assignment)
{
	char *copy = strdup(assignment), *old;
	int r;

	if (!copy)
		return -ENOMEM;
	r = put(env, n, copy, &old);
	if (r < 0)
		free(copy);
	free(old);
	return r;
}

int env_put_ref(char ***env, size_t *n, char *assignment)
{
	char *old;

	return put(env, n, assignment, &old);
}

char *env_remove(char **env, size_t *n, const char *name)
{
	ssize_t i = env_find(env, *n, name, strlen(name));
	char *assignment;

	if (i < 0)
		return NULL;
	assignment = env[i];
	memmove(env + i, env + i + 1, (*n - (size_t)i) * sizeof(*env)); /* moves the NULL too */
	(*n)--;
	return assignment;
}

void env_unset(char **env, size_t *n, const char *name)
{
	free(env_remove(env, n, name));
}

/* Unquotes a value in place: "..." (with \" \\ \$ \` \n escapes) or '...'. Returns
 * false for an unterminated quote or text after the closing quote. */
static bool unquote(char *v)
{
	char q = v[0], *w = v;
	const char *r = v + 1;

	if (q != '"' && q != '\'')
		return true;
	while (*r && *r != q) {
		if (q == '"' && *r == '\\' && r[1]) {
			r++;
			*w++ = *r == 'n' ? '\n' : *r;
			r++;
		} else
			*w++ = *r++;
	}
	if (*r != q)
		return false;
	r++;
	while (*r == ' ' || *r == '\t')
		r++;
	if (*r && *r != '#')
		return false;
	*w = '\0';
	return true;
}

int env_file_parse(const char *text, size_t len, char ***ret, unsigned *ret_line)
{
	const char *nul = memchr(text, '\0', len);
	CLEANUP_FREE char *buf = NULL;
	CLEANUP(strv_freep) char **env = NULL;
	size_t n = 0;
	unsigned line = 0;
	char *save = NULL;
	int r;

	/* A NUL would end the copy below and, silently, the file: the variables after
	 * it would be missing from the service's environment. */
	if (nul) {
		*ret_line = 1;
		for (const char *p = text; p < nul; p++)
			*ret_line += *p == '\n';
		return -EINVAL;
	}
	/* A UTF-8 byte order mark, as some editors write, is not part of the first
	 * name. */
	if (len >= 3 && memcmp(text, UTF8_BOM, 3) == 0) {
		text += 3;
		len -= 3;
	}
	buf = strndup(text, len);
	if (!buf)
		return -ENOMEM;
	env = calloc(1, sizeof(*env));
	if (!env)
		return -ENOMEM;
	/* strtok_r would skip empty lines and lose the count: walk the lines by hand. */
	for (char *l = buf; l; l = save) {
		char *end, *eq;
		size_t k;

		line++;
		save = strchr(l, '\n');
		if (save)
			*save++ = '\0';
		while (*l == ' ' || *l == '\t')
			l++;
		end = l + strlen(l);
		while (end > l && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = '\0';
		if (!*l || *l == '#')
			continue;
		if (strncmp(l, "export ", 7) == 0)
			for (l += 7; *l == ' '; l++)
				;
		k = key_length(l);
		eq = l + k;
		if (k == 0 || *eq != '=' || !unquote(eq + 1)) {
			*ret_line = line;
			return -EINVAL;
		}
		r = env_put(&env, &n, l);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(env);
	return 0;
}

const char *env_get(char *const *env, const char *name)
{
	size_t len = strlen(name);
	ssize_t i = env ? env_find(env, SIZE_MAX, name, len) : -1;

	return i >= 0 ? env[i] + len + 1 : NULL;
}

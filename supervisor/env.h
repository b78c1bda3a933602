/* env.h: environment blocks: env-file parsing and KEY=VALUE overrides. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* The most variables one environment may hold. */
#define ENV_VARS_MAX 4096

/* Whether @assignment (KEY=VALUE) is for the variable @name of @len bytes. The first
 * byte is compared inline: most variables differ there, and a build of a service's
 * environment makes a few hundred of these comparisons. */
static inline bool env_has_key(const char *assignment, const char *name, size_t len)
{
	return assignment[0] == name[0] && strncmp(assignment, name, len) == 0 &&
	       assignment[len] == '=';
}

/* Returns true when @assignment is KEY=VALUE with a valid KEY ([A-Za-z_][A-Za-z0-9_]*). */
bool env_assignment_is_valid(const char *assignment);

/* Parses env-file text: KEY=VALUE lines, blank lines, '#' comments, an optional
 * "export " prefix and optional single or double quotes around the value; a UTF-8
 * byte order mark at the start is passed over. On success
 * *ret is a new NULL-terminated array. Returns 0, or -EINVAL with *ret_line set to the
 * 1-based line that is wrong (a NUL byte makes its line wrong), or -E2BIG past
 * ENV_VARS_MAX. */
int env_file_parse(const char *text, size_t len, char ***ret, unsigned *ret_line);

/* Sets or replaces, in the NULL-terminated array *@env (size *@n), the variable named
 * by @assignment (copied). Returns 0, -ENOMEM or -E2BIG. */
int env_put(char ***env, size_t *n, const char *assignment);

/* Like env_put(), but stores @assignment itself rather than a copy: the caller keeps
 * it alive for as long as the array, and frees only the array. Returns 0, -ENOMEM or
 * -E2BIG. */
int env_put_ref(char ***env, size_t *n, char *assignment);

/* Removes the variable @name from *@env (size *@n) and frees its assignment. */
void env_unset(char **env, size_t *n, const char *name);

/* Like env_unset(), but returns the assignment removed (or NULL) rather than freeing
 * it: for arrays that only borrow their strings (env_put_ref()). */
char *env_remove(char **env, size_t *n, const char *name);
/* The value of @name in the NULL-terminated @env, or NULL. */
const char *env_get(char *const *env, const char *name);

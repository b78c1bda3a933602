/* macro.h: cleanup helpers, time units and small helpers shared by every module. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

// clang-format off
#define CLEANUP(fn)   __attribute__((cleanup(fn)))
#define CLEANUP_FREE  CLEANUP(freep)
#define CLEANUP_CLOSE CLEANUP(closep)
#define TAKE_PTR(p)   ({ __typeof__(p) p_ = (p); (p) = NULL; p_; })
#define TAKE_FD(fd)   ({ int fd_ = (fd); (fd) = -1; fd_; })
/* DEFINE_CLEANUP(struct service, service_free) defines service_freep(). */
#define DEFINE_CLEANUP(type, fn) static inline void fn##p(type **pp) { fn(*pp); }

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)     ((a) < (b) ? (a) : (b))
#define MAX(a, b)     ((a) > (b) ? (a) : (b))
#define STREQ(a, b)   (strcmp((a), (b)) == 0)
/* What some editors write at the start of a UTF-8 file. */
#define UTF8_BOM "\xEF\xBB\xBF"

#define USEC_PER_MSEC 1000ULL
#define USEC_PER_SEC  1000000ULL
#define MSEC          USEC_PER_MSEC
#define SEC           USEC_PER_SEC
#define USEC_INFINITY UINT64_MAX
#define NSEC_PER_USEC 1000ULL
// clang-format on

/* 1 when built with AddressSanitizer (gcc says so one way, clang another). */
#if defined(__SANITIZE_ADDRESS__)
#define VIGIL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VIGIL_ASAN 1
#endif
#endif
#ifndef VIGIL_ASAN
#define VIGIL_ASAN 0
#endif

/* Clock @id now, in µs. In the loop's callbacks sd_event_now() is cheaper. */
static inline uint64_t clock_now(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / NSEC_PER_USEC;
}

/* Frees @p and returns NULL, for `x = mfree(x);`. */
static inline void *mfree(void *p)
{
	free(p);
	return NULL;
}

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

/* Frees a NULL-terminated array of strings and the array. Accepts NULL, returns NULL. */
static inline char **strv_free(char **v)
{
	if (v)
		for (char **i = v; *i; i++)
			free(*i);
	free(v);
	return NULL;
}

static inline void strv_freep(char ***v)
{
	strv_free(*v);
}

/* Equal strings, or both NULL. */
static inline bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Whether the NULL-terminated array @v (which may be NULL) holds @s. */
static inline bool strv_contains(char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}

/* Equal NULL-terminated arrays of strings (NULL equals only NULL). */
static inline bool strv_eq(char *const *a, char *const *b)
{
	if (!a || !b)
		return a == b;
	for (; *a && *b; a++, b++)
		if (strcmp(*a, *b) != 0)
			return false;
	return !*a && !*b;
}

static inline size_t strv_length(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* Appends a copy of @s to the NULL-terminated array *@v (which may be NULL).
 * Returns 0 or -ENOMEM. */
static inline int strv_push(char ***v, const char *s)
{
	size_t n = strv_length(*v);
	char **nv = (char **)realloc(*v, (n + 2) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[n + 1] = NULL;
	nv[n] = strdup(s);
	return nv[n] ? 0 : -ENOMEM;
}

/* dlib.h: loading a library with dlopen() into a table of function pointers (the
 * libraries vigild maps only when a feature is first used: libmicrohttpd, libcurl). */
#pragma once

#include <stddef.h>

struct dlib_symbol {
	const char *name;
	size_t offset; /* of its pointer in the caller's table */
};

/* One entry: the function @f stored in member @m of the table type @type. */
// clang-format off
#define DLIB_SYMBOL(type, f, m) {#f, offsetof(type, m)}
// clang-format on

/* Opens @soname and stores each of @symbols in @table. Returns the handle, or NULL
 * with @why saying what is missing and which Debian @package provides it (@table is
 * then partly written: the caller fills a scratch copy). */
void *dlib_load(const char *soname, const char *package, const struct dlib_symbol *symbols,
		size_t n, void *table, char *why, size_t size);

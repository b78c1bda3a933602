/* fileio.h: reading a whole small file (configuration, env-files). */
#pragma once

#include <stddef.h>

/* Reads the file at @path to its end into a NUL-terminated buffer (*ret, free it)
 * with its length in *ret_len. Returns 0, -EFBIG when it holds more than @max bytes,
 * -EISDIR for a directory, or open()'s or read()'s -errno. */
int fileio_read(const char *path, size_t max, char **ret, size_t *ret_len);

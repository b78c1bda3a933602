/* fileio.h: reading a whole small file (configuration, env-files). */
#pragma once

#include <stddef.h>

/* Reads the file at @path into a NUL-terminated buffer sized to it (*ret, free it)
 * with its length in *ret_len. Returns 0, -EFBIG when it is larger than @max bytes,
 * -EISDIR for a directory, or open()'s or read()'s -errno. */
int read_file(const char *path, size_t max, char **ret, size_t *ret_len);

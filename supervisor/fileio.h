/* fileio.h: reading a whole small file (configuration, env-files). */
#pragma once

#include <stddef.h>

/* How long a pipe or FIFO may keep the reader waiting for each piece. */
#define FILEIO_WAIT_MS 2000

/* Reads the file at @path to its end into a NUL-terminated buffer (*ret, free it)
 * with its length in *ret_len. Returns 0, -EFBIG when it holds more than @max bytes,
 * -EISDIR for a directory, -ENODATA for a pipe or FIFO that kept it waiting
 * FILEIO_WAIT_MS (nobody writes to it), or open()'s or read()'s -errno. */
int fileio_read(const char *path, size_t max, char **ret, size_t *ret_len);
/* The same, waiting at most @wait_ms for each piece of a pipe or FIFO (0: only what
 * is there already), as for an env-file read in vigild's loop at every start. */
int fileio_read_wait(const char *path, size_t max, int wait_ms, char **ret, size_t *ret_len);

/* log-format.h: how a captured line is written out: the RFC 3339 timestamp, the
 * stream, the continuation mark. Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_stream { LOG_STREAM_OUT, LOG_STREAM_ERR, LOG_STREAM_COUNT };

/* "2024-05-01T12:00:00.123Z": UTC, milliseconds. */
#define LOG_TIMESTAMP_LEN 24
/* The longest prefix: timestamp, space, "out+" or "err+", space. */
#define LOG_PREFIX_MAX (LOG_TIMESTAMP_LEN + 6)

/* "out" or "err". */
const char *log_stream_to_string(enum log_stream s);

/* Writes the timestamp of @usec (CLOCK_REALTIME µs) to @buf, without a NUL. Returns
 * LOG_TIMESTAMP_LEN. Consecutive calls within one second reuse the date. */
size_t log_format_timestamp(uint64_t usec, char *buf);

/* Writes the prefix of a log-file line, "2024-05-01T12:00:00.123Z out ", to @buf
 * (at least LOG_PREFIX_MAX bytes), without a NUL. A line that continues the previous
 * one (cut at LOG_LINE_MAX) is marked "out+" / "err+". Returns its length. */
size_t log_format_prefix(uint64_t usec, enum log_stream s, bool continued, char *buf);

/* log.h: vigild's own diagnostics, written to stderr with a level filter. */
#pragma once

#include <stdarg.h>
#include <syslog.h>

/* The one variable that crosses modules: the highest LOG_* priority printed. */
extern int log_max_level;

/* Looks at where stderr goes: when it is the journal (JOURNAL_STREAM names it), lines
 * carry a "<N>" priority prefix for journald instead of "vigild: ". */
void log_setup(void);

/* Parses "debug|info|warn|error" into a LOG_* priority. Returns it, or -EINVAL. */
int log_level_from_string(const char *s);

/* Prints one line at @level when it passes the filter. @err (a negative errno, or 0)
 * appends ": strerror". Returns @err, so callers can `return log_error_errno(r, ...)`. */
int log_internal(int level, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// clang-format off
#define log_full_errno(level, err, ...) \
	({ int l_ = (level); l_ <= log_max_level ? log_internal(l_, (err), __VA_ARGS__) : (err); })
#define log_debug(...)   (void)log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)    (void)log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)  (void)log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) (void)log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)   (void)log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(err, ...)   log_full_errno(LOG_DEBUG, (err), __VA_ARGS__)
#define log_warning_errno(err, ...) log_full_errno(LOG_WARNING, (err), __VA_ARGS__)
#define log_error_errno(err, ...)   log_full_errno(LOG_ERR, (err), __VA_ARGS__)
// clang-format on

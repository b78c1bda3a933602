/* log-file.h: a service's log-dir/NAME.log: timestamped lines, rotation at
 * log-max-size keeping log-keep old files, reopening on SIGUSR1, and a full disk
 * that costs neither the service nor the other sinks anything. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

struct log_file;

/* What waits in memory for the file: lines ready to be written, and while writing
 * fails (a full disk), the lines kept until it works again. */
#define LOG_FILE_BUFFER_MAX (512U * 1024U)
/* How often writing is tried again after it failed. */
#define LOG_FILE_RETRY (1U * 1000U * 1000U)

/* A log file for service @name, with no directory yet (writes nothing). Allocates
 * a small struct; the file is opened and the buffer allocated by the first line. */
int log_file_new(sd_event *event, const char *name, struct log_file **ret);
/* Writes what is buffered (this may block on a slow disk), closes the file.
 * Accepts NULL, returns NULL. */
struct log_file *log_file_free(struct log_file *f);

/* Moves the file to directory @dir (NULL: no file): the current one is closed and
 * the next line opens DIR/NAME.log. Returns 0 or -ENOMEM. */
int log_file_set_dir(struct log_file *f, const char *dir);
/* @max_size: rotate before a line would take the file past it (0: never).
 * @keep: old files kept (NAME.log.1 is the newest). */
void log_file_set_limits(struct log_file *f, uint64_t max_size, unsigned keep);
bool log_file_enabled(const struct log_file *f);

/* Buffers one line: @prefix (timestamp and stream; LOG_PREFIX_MAX bytes must be
 * readable there, of which @prefix_len are used), @text, a newline; rotates first
 * when it would not fit under log-max-size. Never refuses: while the file cannot
 * be written, up to LOG_FILE_BUFFER_MAX bytes wait in memory and the lines beyond
 * are counted as lost; the file then gets a line saying how many. */
void log_file_append(struct log_file *f, const char *prefix, size_t prefix_len, const char *text,
		     size_t len);
/* As log_file_append() for each of @count lines that share @prefix, in one pass:
 * @text holds them back to back, line i of @lens[i] bytes and its newline, @size
 * bytes in all. */
void log_file_append_lines(struct log_file *f, const char *prefix, size_t prefix_len,
			   const char *text, size_t size, const uint32_t *lens, size_t count);
/* Writes the buffer to the file now (once per chunk read, so files stay current). */
void log_file_flush(struct log_file *f);
/* Closes the file; the next line opens DIR/NAME.log again (logrotate moved it). */
void log_file_reopen(struct log_file *f);

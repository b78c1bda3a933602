/* log-forward.h: where forwarded lines go: vigild's stdout, written without
 * changing the file description it shares with other processes, or journald. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "log-out.h"

/* The buffer in front of vigild's stdout, and in front of each journald stream. */
#define LOG_FORWARD_STDOUT_MAX  (256U * 1024U)
#define LOG_FORWARD_JOURNAL_MAX (128U * 1024U)

/* How to write to a file of type @mode (st_mode) without blocking the loop.
 * @reopened: we hold a description of our own (opened through /proc/self/fd/1), on
 * which O_NONBLOCK disturbs nobody. Pure. */
enum log_out_kind log_forward_kind(mode_t mode, bool reopened);

/* Opens a writer on vigild's stdout. The description stdout shares with the
 * terminal or the caller's pipe is never given O_NONBLOCK: a pipe, FIFO or
 * terminal is opened again through /proc/self/fd/1, which makes a description of
 * our own; a socket is written with MSG_DONTWAIT; a regular file never blocks for
 * long. Returns 0 or a negative errno. */
int log_forward_open_stdout(sd_event *event, struct log_out **ret);

/* True when stdout is the journal stream systemd set up for vigild (JOURNAL_STREAM
 * names its device and inode). */
bool log_forward_stdout_is_journal(void);

/* Opens a journald stream for service @name: lines at @priority (LOG_INFO for
 * stdout, LOG_WARNING for stderr), `<N>` prefixes honoured as under systemd.
 * Returns 0, or a negative errno (-ENOENT: no journald). */
int log_forward_open_journal(sd_event *event, const char *name, int priority, struct log_out **ret);

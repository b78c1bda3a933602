/* logs.h: what services write (SPEC §6). Each run of a service gets a pipe for
 * stdout and one for stderr; vigild reads them, cuts lines, and hands each line to
 * the service's in-memory tail, its log file and, with log-forward, vigild's stdout
 * (or journald). When a forwarding sink is full vigild stops reading that service's
 * pipes, so the service blocks in write(2): no line is dropped and the loop never
 * waits. The control API reads the tail through a log_reader.
 *
 * Memory: a service that never wrote costs its struct service_logs (well under
 * 4 KiB) and, while it runs, two sd-event io sources; its tail, read buffers and
 * log file are allocated by its first line. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

struct logs;         /* vigild-wide: log-dir, forwarding, the read buffer */
struct service_logs; /* one service: its pipes, tail and log file */
struct log_reader;   /* one client reading a service's tail */

/* Runs whose pipes may be open at once per service: the current one, and earlier
 * ones whose leftover processes still hold their pipes (read until EOF). Opening one
 * more closes the oldest. */
#define LOGS_RUNS_MAX 4
/* Readers (`vigilctl logs`, API clients) per service. */
#define LOGS_READERS_MAX 64
/* How long logs_drain() waits for a slow stdout at exit. */
#define LOGS_DRAIN_TIMEOUT (3U * 1000U * 1000U)

/* Creates the hub on @event: no directory, no forwarding. Returns 0 or -ENOMEM. */
int logs_new(sd_event *event, struct logs **ret);
/* Free every service_logs first. Accepts NULL, returns NULL. */
struct logs *logs_free(struct logs *h);

/* Applies the global options, at start and on reload: @dir is log-dir (NULL: no
 * files); @forward says whether lines go to vigild's stdout (log-forward, `auto`
 * already resolved by the caller). Under systemd (JOURNAL_STREAM names stdout)
 * forwarded lines go to journald, one stream per service and output with the
 * service's name as identifier, falling back to stdout when journald is absent.
 * stdout is opened at the first forwarded line, so that a run that prints nothing
 * never opens it. Returns 0 or -ENOMEM. */
int logs_configure(struct logs *h, const char *dir, bool forward);
/* SIGUSR1: every log file is closed and opened again by its next line. */
void logs_reopen(struct logs *h);
/* After the loop has ended: reads what the pipes still hold and writes every line
 * out, waiting at most LOGS_DRAIN_TIMEOUT for a slow stdout. */
void logs_drain(struct logs *h);

/* The log state of service @name (a valid service name, used for NAME.log).
 * Returns 0 or -ENOMEM. */
int service_logs_new(struct logs *h, const char *name, struct service_logs **ret);
/* Reads what its pipes hold now, closes them, writes its file out; readers see the
 * end. Accepts NULL, returns NULL. */
struct service_logs *service_logs_free(struct service_logs *l);
/* The service is gone (removed by a reload): its readers see the end now, and what
 * its pipes still hold, and lines waiting for a slow sink, still go out (SPEC §6: no
 * line is lost); then it is freed. Accepts NULL. */
void service_logs_release(struct service_logs *l);
/* log-max-size (0: no rotation), log-keep and log-buffer (bytes of tail; 0: none). */
void service_logs_set_limits(struct service_logs *l, uint64_t max_size, unsigned keep,
			     uint64_t buffer);

/* Creates the two pipes of a new run. *ret_out and *ret_err are the write ends for
 * the child's stdout and stderr (O_CLOEXEC, blocking); the caller closes them once
 * the child is spawned. The read ends are watched until EOF, which comes when the
 * run and everything it left behind have closed them. Returns 0 or a negative
 * errno. */
int service_logs_open_run(struct service_logs *l, int *ret_out, int *ret_err);
/* True when a new run's pipes would cost an earlier run's unread output: the pipes
 * of LOGS_RUNS_MAX runs are open and one run's have no writer left, only lines a
 * slow sink has not taken yet. A restart waits then (service.c), as a writer waits
 * in write(2), rather than close that pipe. */
bool service_logs_backlogged(struct service_logs *l);
/* Adds @text as a line of vigild's own to the tail and the log file (stream "err"),
 * as when a run could not be started: whoever reads the service's logs sees why.
 * Not forwarded: vigild's own log already says it there. */
void service_logs_note(struct service_logs *l, const char *text);
/* The pipes still open (for tests). */
unsigned service_logs_open_pipes(const struct service_logs *l);

/* ---- reading the tail, for the control API ----
 *
 * GET /v1/services/NAME/logs?lines=N&follow=1 maps onto a reader:
 *
 *	r = service_logs_reader_new(service_get_logs(s), N, follow, on_wake, conn, &r);
 *	MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, content_reader, r,
 *					  (MHD_ContentReaderFreeCallback)log_reader_free);
 *
 *	content_reader(r, pos, buf, max):
 *		n = log_reader_read(r, buf, max);
 *		n > 0        -> return n
 *		n == 0       -> return MHD_CONTENT_READER_END_OF_STREAM
 *		n == -EAGAIN -> MHD_suspend_connection(conn); return 0
 *	on_wake(r, conn): MHD_resume_connection(conn); MHD_run(daemon)
 *
 * The text is the log file's: "2024-05-01T12:00:00.123Z out line\n" (UTC,
 * milliseconds; "err" for stderr; "out+"/"err+" for the rest of a line cut at
 * 64 KiB). A reader that falls so far behind that the tail dropped lines it had not
 * read gets "vigild: N lines skipped: the reader was too slow\n" in their place;
 * it never holds the service back. The log file keeps every line. */

/* Called once after log_reader_read() returned -EAGAIN, when there is more to read
 * (a new line, or the end because the service was removed). Called from its own
 * event source: it may call log_reader_read() or log_reader_free() on any reader. */
typedef void log_reader_wake_fn(struct log_reader *r, void *userdata);

/* A reader starting at the last @lines lines of the tail (0: only new ones). With
 * @follow it then waits for new lines forever; without, it ends at the line that
 * was last when it was created. Returns 0, -EMFILE beyond LOGS_READERS_MAX, or
 * -ENOMEM. */
int service_logs_reader_new(struct service_logs *l, size_t lines, bool follow,
			    log_reader_wake_fn *wake, void *userdata, struct log_reader **ret);
/* Copies the next text into @buf (whole lines as far as they fit, a long line across
 * calls). Returns the bytes copied (> 0), 0 at the end (not following, or the
 * service was removed), or -EAGAIN: following and nothing new; @wake is called when
 * there is. */
ssize_t log_reader_read(struct log_reader *r, char *buf, size_t size);
/* Accepts NULL, returns NULL; may be called after the service is gone. */
struct log_reader *log_reader_free(struct log_reader *r);

/* notify.h: the sd_notify protocol from a service's processes to vigild (SPEC §5):
 * one datagram socket per service, the messages it accepts, and the watchdog. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

struct notify;

/* The longest STATUS= text kept; longer ones are cut. */
#define NOTIFY_STATUS_MAX 512

/* What one datagram says. Unknown assignments are ignored, as systemd does. */
struct notify_message {
	bool ready;                         /* READY=1 */
	bool stopping;                      /* STOPPING=1 */
	bool watchdog;                      /* WATCHDOG=1 */
	bool watchdog_trigger;              /* WATCHDOG=trigger */
	bool has_status;                    /* STATUS=... */
	char status[NOTIFY_STATUS_MAX + 1]; /* printable UTF-8, control characters as spaces */
	pid_t pid;                          /* the sender, as the kernel saw it */
	uid_t uid;
};

/* Parses the newline-separated KEY=VALUE lines of one datagram into @ret (pid and uid
 * untouched). Plain: no I/O. */
void notify_parse(const char *buf, size_t len, struct notify_message *ret);

/* Chooses where this vigild's notify sockets live: the abstract socket names
 * "@vigil/PID-RANDOM"; a service's socket is PREFIX/NAME. An abstract socket has no
 * file: binding one creates no inode (on an ext4 /run that cost about half a
 * millisecond a service), nothing stays behind when vigild dies, and the random part
 * keeps anyone from binding a service's name first (senders are checked anyway).
 * Writes the prefix to *ret. Returns 0 or -ENOMEM. */
int notify_prefix_new(char **ret);

/* Called for each accepted datagram. */
typedef void notify_message_fn(struct notify *n, const struct notify_message *m, void *userdata);
/* Called when the watchdog was not fed in time. */
typedef void notify_watchdog_fn(struct notify *n, void *userdata);

/* Binds a datagram socket at @path, a file (mode 0666) or with a leading '@' an
 * abstract name, and watches it with a high priority, so that a child never blocks on
 * a full queue; a service of any user may send, the sender being checked per
 * datagram. Returns 0 or a negative errno. */
int notify_new(sd_event *event, const char *path, notify_message_fn *on_message,
	       notify_watchdog_fn *on_watchdog, void *userdata, struct notify **ret);
/* Closes and unlinks the socket. Accepts NULL, returns NULL. */
struct notify *notify_free(struct notify *n);

/* Who may send, besides root and vigild's own user: processes of @uid, and processes
 * in the session of @pid (the service's main process, which leads its session). */
void notify_set_sender(struct notify *n, uid_t uid, pid_t pid);
/* Drops the datagrams waiting in the queue (sent during an earlier run). */
void notify_flush(struct notify *n);

/* Expects WATCHDOG=1 at least every @usec from now on (0: stop expecting). Returns 0
 * or a negative errno (the timer could not be created). */
int notify_watchdog_start(struct notify *n, uint64_t usec);
void notify_watchdog_stop(struct notify *n);

/* Counters, for logs and tests: datagrams accepted, and dropped (bad sender, too long). */
uint64_t notify_get_accepted(const struct notify *n);
uint64_t notify_get_dropped(const struct notify *n);

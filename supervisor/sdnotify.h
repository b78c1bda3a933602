/* sdnotify.h: vigild's own messages to an outer systemd (SPEC §2): READY=1 once
 * every autostart service was started, STATUS=, WATCHDOG=1 and STOPPING=1. (The
 * sd_notify server for vigild's children is another module.) */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct manager;
struct sdnotify;

/* Watches @m from its event loop when NOTIFY_SOCKET is set; otherwise does nothing
 * and sets *ret to NULL. Returns 0, or a negative errno. */
int sdnotify_new(struct manager *m, struct sdnotify **ret);
/* Accepts NULL, returns NULL. */
struct sdnotify *sdnotify_free(struct sdnotify *n);

/* True when no autostart service of @m is still on its way up: each one is running
 * (ready), has ended, backs off, was stopped, or waits for a requirement that is not
 * coming up by itself (backing off, failed, ended or stopped). A service still
 * `starting` counts once it is ready or gives up at its start-timeout. */
bool sdnotify_autostart_settled(const struct manager *m);

/* Writes a one-line summary of @m's services to @buf: "3 services: 2 running,
 * 1 backoff", or "shutting down: ..." */
void sdnotify_status(const struct manager *m, char *buf, size_t size);

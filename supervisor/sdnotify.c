/* sdnotify.c: vigild's own sd_notify messages to an outer systemd, derived after
 * every loop iteration from the manager's state.
 *
 * They are sent without blocking. sd_notify() blocks while the receiver's queue is
 * full, and a NOTIFY_SOCKET nobody reads (inherited, stale, a busy receiver) would
 * then freeze vigild's loop: no reaping, no restarts, no answers. So a message goes
 * out as one non-blocking datagram to the same address; one that does not fit is
 * sent again later, WATCHDOG=1 excepted (the next one is due soon). Addresses other
 * than a path or an abstract name (`@...`) are left to sd_notify(). */
#include "sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "service.h"

/* A message that did not fit in the receiver's queue is tried again this much later. */
#define SDNOTIFY_RETRY_USEC (100 * 1000)

struct sdnotify {
	struct manager *manager;
	sd_event_source *post;     /* after each iteration: READY, STATUS, STOPPING */
	sd_event_source *first;    /* the first look, and the retry of a message */
	sd_event_source *watchdog; /* WATCHDOG=1 at half the period systemd asked for */
	uint64_t watchdog_period;
	bool ready_sent, stopping_sent;
	uint64_t changes; /* manager_get_changes() when last looked; UINT64_MAX: never */
	char status[256];
	int fd; /* a non-blocking datagram socket; -1: sd_notify() sends */
	struct sockaddr_un addr;
	socklen_t addr_len;
};

/* Takes NOTIFY_SOCKET's address when it is a path or an abstract name. */
static bool parse_address(struct sdnotify *sn, const char *e)
{
	size_t len = strlen(e);

	if ((e[0] != '/' && e[0] != '@') || len < 2 || len >= sizeof(sn->addr.sun_path))
		return false;
	sn->addr.sun_family = AF_UNIX;
	memcpy(sn->addr.sun_path, e, len);
	if (e[0] == '@')
		sn->addr.sun_path[0] = '\0';
	sn->addr_len =
		(socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (e[0] == '/' ? 1 : 0));
	return true;
}

/* Sends @msg; returns 0, or a negative errno (-EAGAIN: the receiver's queue is full). */
static int send_message(const struct sdnotify *sn, const char *msg)
{
	if (sn->fd < 0)
		return sd_notify(0, msg) < 0 ? -EIO : 0;
	if (sendto(sn->fd,
		   msg,
		   strlen(msg),
		   MSG_DONTWAIT | MSG_NOSIGNAL,
		   (const struct sockaddr *)&sn->addr,
		   sn->addr_len) < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return 0;
}

static bool waiting_is_stuck(const struct manager *m, const struct service *s, unsigned depth)
{
	const struct service_config *c = service_get_config(s);

	/* The configuration has no cycles; the depth cap only guards this recursion. */
	if (depth > CONFIG_SERVICES_MAX)
		return true;
	for (size_t i = 0; i < c->n_requires; i++) {
		const struct service *r = manager_find(m, c->requires[i]);

		if (!r)
			continue;
		switch (service_get_state(r)) {
		case SERVICE_BACKOFF:
		case SERVICE_FAILED:
		case SERVICE_STOPPED:
		case SERVICE_STOPPING:
			return true;
		case SERVICE_EXITED:
			if (!service_is_ready(r))
				return true;
			break;
		case SERVICE_WAITING:
			if (waiting_is_stuck(m, r, depth + 1))
				return true;
			break;
		default:
			break;
		}
	}
	return false;
}

bool sdnotify_autostart_settled(const struct manager *m)
{
	struct service *const *list;
	size_t n = manager_get_services(m, &list);

	for (size_t i = 0; i < n; i++) {
		const struct service *s = list[i];

		if (!service_get_config(s)->autostart)
			continue;
		switch (service_get_state(s)) {
		case SERVICE_STARTING:
			return false;
		case SERVICE_WAITING:
			if (!waiting_is_stuck(m, s, 0))
				return false;
			break;
		default:
			break;
		}
	}
	return true;
}

void sdnotify_status(const struct manager *m, char *buf, size_t size)
{
	struct service *const *list;
	size_t n = manager_get_services(m, &list), len;
	unsigned count[SERVICE_STATE_COUNT] = {0};
	const char *sep = ": ";

	for (size_t i = 0; i < n; i++)
		count[service_get_state(list[i])]++;
	len = (size_t)snprintf(buf,
			       size,
			       "%s%zu service%s",
			       manager_is_shutting_down(m) ? "Shutting down, " : "",
			       n,
			       n == 1 ? "" : "s");
	for (int st = 0; st < SERVICE_STATE_COUNT && len < size; st++) {
		if (!count[st])
			continue;
		len += (size_t)snprintf(buf + len,
					size - len,
					"%s%u %s",
					sep,
					count[st],
					service_state_to_string((enum service_state)st));
		sep = ", ";
	}
}

static void update(struct sdnotify *sn)
{
	char status[sizeof(sn->status)], msg[sizeof(sn->status) + 64];
	uint64_t changes = manager_get_changes(sn->manager), now = 0;
	bool shutting_down = manager_is_shutting_down(sn->manager), ready = false;
	int r;

	/* Runs after every loop iteration: nothing to look at unless a service moved. */
	if (changes == sn->changes)
		return;
	sdnotify_status(sn->manager, status, sizeof(status));
	msg[0] = '\0';
	/* A start-up cut short by a shutdown, begun or only decided (an on-failed =
	 * shutdown service that could not start), never was ready: READY=1 would tell
	 * systemd the start had completed. */
	if (!sn->ready_sent && !manager_shutdown_decided(sn->manager) &&
	    sdnotify_autostart_settled(sn->manager)) {
		ready = true;
		strcat(msg, "READY=1\n");
	}
	if (!sn->stopping_sent && shutting_down)
		strcat(msg, "STOPPING=1\n");
	if (!STREQ(status, sn->status))
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "STATUS=%s\n", status);
	if (msg[0]) {
		r = send_message(sn, msg);
		if (r == -EAGAIN) {
			/* Nothing counts as said: the whole state goes out again later. */
			(void)sd_event_now(manager_get_event(sn->manager), CLOCK_MONOTONIC, &now);
			(void)sd_event_source_set_time(sn->first, now + SDNOTIFY_RETRY_USEC);
			(void)sd_event_source_set_enabled(sn->first, SD_EVENT_ONESHOT);
			return;
		}
		if (r < 0)
			log_debug_errno(r, "Failed to notify systemd, ignoring");
	}
	sn->changes = changes;
	sn->ready_sent |= ready;
	sn->stopping_sent |= shutting_down;
	snprintf(sn->status, sizeof(sn->status), "%s", status);
}

static int on_post(sd_event_source *src, void *userdata)
{
	(void)src;
	update(userdata);
	return 0;
}

static int on_first(sd_event_source *src, uint64_t usec, void *userdata)
{
	(void)src;
	(void)usec;
	update(userdata);
	return 0;
}

static int on_watchdog(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct sdnotify *sn = userdata;

	(void)send_message(sn, "WATCHDOG=1");
	(void)sd_event_source_set_time(src, usec + sn->watchdog_period);
	(void)sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	return 0;
}

int sdnotify_new(struct manager *m, struct sdnotify **ret)
{
	sd_event *ev = manager_get_event(m);
	const char *e = getenv("NOTIFY_SOCKET");
	struct sdnotify *sn;
	uint64_t usec = 0, now = 0;
	int r;

	*ret = NULL;
	if (!e)
		return 0;
	sn = calloc(1, sizeof(*sn));
	if (!sn)
		return -ENOMEM;
	sn->manager = m;
	sn->changes = UINT64_MAX;
	sn->fd = -1;
	if (parse_address(sn, e)) {
		sn->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (sn->fd < 0) {
			r = -errno;
			free(sn);
			return r;
		}
	}
	r = sd_event_add_post(ev, &sn->post, on_post, sn);
	/* Ahead of the manager's own sources: a defer source that stays pending (the
	 * manager's "settle") would otherwise win every time, and a quick shutdown end
	 * the loop before STOPPING=1 went out. */
	if (r >= 0)
		r = sd_event_source_set_priority(sn->post, SD_EVENT_PRIORITY_IMPORTANT);
	/* The first look comes even if nothing happens; the source stays for retries. */
	if (r >= 0)
		r = sd_event_add_time(ev, &sn->first, CLOCK_MONOTONIC, 0, 1, on_first, sn);
	/* sd_watchdog_enabled() also checks WATCHDOG_PID against our pid. */
	if (r >= 0 && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		sn->watchdog_period = usec / 2;
		(void)sd_event_now(ev, CLOCK_MONOTONIC, &now);
		r = sd_event_add_time(
			ev, &sn->watchdog, CLOCK_MONOTONIC, now, 1000, on_watchdog, sn);
		if (r >= 0)
			(void)sd_event_source_set_description(sn->watchdog, "watchdog");
		log_debug("Sending WATCHDOG=1 every %llu ms", (unsigned long long)(usec / 2000));
	}
	if (r < 0) {
		sdnotify_free(sn);
		return r;
	}
	*ret = sn;
	return 0;
}

struct sdnotify *sdnotify_free(struct sdnotify *sn)
{
	if (!sn)
		return NULL;
	/* Whatever the loop had no iteration left to say (STOPPING=1 at the latest). */
	update(sn);
	sd_event_source_disable_unref(sn->post);
	sd_event_source_disable_unref(sn->first);
	sd_event_source_disable_unref(sn->watchdog);
	if (sn->fd >= 0)
		close(sn->fd);
	free(sn);
	return NULL;
}

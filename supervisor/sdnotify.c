/* sdnotify.c: vigild's own sd_notify messages to an outer systemd, derived after
 * every loop iteration from the manager's state. */
#include "sdnotify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "service.h"

struct sdnotify {
	struct manager *manager;
	sd_event_source *post;     /* after each iteration: READY, STATUS, STOPPING */
	sd_event_source *first;    /* the first look, even if nothing happens */
	sd_event_source *watchdog; /* WATCHDOG=1 at half the period systemd asked for */
	uint64_t watchdog_period;
	bool ready_sent, stopping_sent;
	uint64_t changes; /* manager_get_changes() when last looked; UINT64_MAX: never */
	char status[256];
};

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
	uint64_t changes = manager_get_changes(sn->manager);
	int r;

	/* Runs after every loop iteration: nothing to look at unless a service moved. */
	if (changes == sn->changes)
		return;
	sn->changes = changes;
	sdnotify_status(sn->manager, status, sizeof(status));
	msg[0] = '\0';
	if (!sn->ready_sent && sdnotify_autostart_settled(sn->manager)) {
		sn->ready_sent = true;
		strcat(msg, "READY=1\n");
	}
	if (!sn->stopping_sent && manager_is_shutting_down(sn->manager)) {
		sn->stopping_sent = true;
		strcat(msg, "STOPPING=1\n");
	}
	if (!STREQ(status, sn->status)) {
		snprintf(sn->status, sizeof(sn->status), "%s", status);
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "STATUS=%s\n", status);
	}
	if (!msg[0])
		return;
	r = sd_notify(0, msg);
	if (r < 0)
		log_debug_errno(r, "Failed to notify systemd, ignoring");
}

static int on_post(sd_event_source *src, void *userdata)
{
	(void)src;
	update(userdata);
	return 0;
}

static int on_first(sd_event_source *src, void *userdata)
{
	(void)sd_event_source_set_enabled(src, SD_EVENT_OFF);
	update(userdata);
	return 0;
}

static int on_watchdog(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct sdnotify *sn = userdata;

	(void)sd_notify(0, "WATCHDOG=1");
	(void)sd_event_source_set_time(src, usec + sn->watchdog_period);
	(void)sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	return 0;
}

int sdnotify_new(struct manager *m, struct sdnotify **ret)
{
	sd_event *ev = manager_get_event(m);
	struct sdnotify *sn;
	uint64_t usec = 0, now = 0;
	int r;

	*ret = NULL;
	if (!getenv("NOTIFY_SOCKET"))
		return 0;
	sn = calloc(1, sizeof(*sn));
	if (!sn)
		return -ENOMEM;
	sn->manager = m;
	sn->changes = UINT64_MAX;
	r = sd_event_add_post(ev, &sn->post, on_post, sn);
	/* Ahead of the manager's own sources: a defer source that stays pending (the
	 * manager's "settle") would otherwise win every time, and a quick shutdown end
	 * the loop before STOPPING=1 went out. */
	if (r >= 0)
		r = sd_event_source_set_priority(sn->post, SD_EVENT_PRIORITY_IMPORTANT);
	if (r >= 0)
		r = sd_event_add_defer(ev, &sn->first, on_first, sn);
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
	free(sn);
	return NULL;
}

/* reaper.c: the one SIGCHLD source; waitpid(-1) in a loop (notes §2). */
#include "reaper.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "log.h"
#include "macro.h"

#define REAPER_BUCKETS 256

struct reaper {
	sd_event_source *sigchld;
	reaper_idle_fn *on_idle;
	void *userdata;
	struct reaper_watch *buckets[REAPER_BUCKETS];
};

static struct reaper_watch **bucket(struct reaper *r, pid_t pid)
{
	return &r->buckets[(unsigned)pid % REAPER_BUCKETS];
}

void reaper_add(struct reaper *r, struct reaper_watch *w, pid_t pid)
{
	struct reaper_watch **b = bucket(r, pid);

	w->pid = pid;
	w->next = *b;
	*b = w;
}

void reaper_remove(struct reaper *r, struct reaper_watch *w)
{
	for (struct reaper_watch **i = bucket(r, w->pid); *i; i = &(*i)->next)
		if (*i == w) {
			*i = w->next;
			w->next = NULL;
			return;
		}
}

static struct reaper_watch *take_watch(struct reaper *r, pid_t pid)
{
	for (struct reaper_watch **i = bucket(r, pid); *i; i = &(*i)->next)
		if ((*i)->pid == pid) {
			struct reaper_watch *w = *i;
			*i = w->next;
			w->next = NULL;
			return w;
		}
	return NULL;
}

bool reaper_reap(struct reaper *r)
{
	for (;;) {
		struct reaper_watch *w;
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid == 0)
			return true;
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			if (errno != ECHILD)
				log_warning_errno(-errno, "Failed to reap children, ignoring");
			if (r->on_idle)
				r->on_idle(r->userdata);
			return false;
		}
		w = take_watch(r, pid);
		if (w) {
			w->on_exit(w, status);
			continue;
		}
		log_debug("Reaped orphan %d (%s %d)",
			  (int)pid,
			  WIFEXITED(status) ? "exit code" : "signal",
			  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
}

static int on_sigchld(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	/* SIGCHLDs coalesce and ssi_pid names one child at best: always loop. */
	(void)s;
	(void)si;
	reaper_reap(userdata);
	return 0;
}

int reaper_new(sd_event *event, reaper_idle_fn *on_idle, void *userdata, struct reaper **ret)
{
	struct reaper *r = calloc(1, sizeof(*r));
	int k;

	if (!r)
		return -ENOMEM;
	r->on_idle = on_idle;
	r->userdata = userdata;
	k = sd_event_add_signal(event, &r->sigchld, SIGCHLD, on_sigchld, r);
	if (k < 0) {
		free(r);
		return k;
	}
	/* Children reap before services: an exit must be seen before a timer that
	 * would act on the dead process. */
	(void)sd_event_source_set_priority(r->sigchld, SD_EVENT_PRIORITY_IMPORTANT);
	(void)sd_event_source_set_description(r->sigchld, "sigchld");
	*ret = r;
	return 0;
}

struct reaper *reaper_free(struct reaper *r)
{
	if (!r)
		return NULL;
	sd_event_source_disable_unref(r->sigchld);
	free(r);
	return NULL;
}

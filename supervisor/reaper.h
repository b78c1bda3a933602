/* reaper.h: the one SIGCHLD source. It reaps every child, vigild's own or orphaned,
 * and hands each exit to whoever watches that pid. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

struct reaper;

/* A pid someone waits for. Embed it in the owner: the reaper allocates nothing. */
struct reaper_watch {
	pid_t pid;
	/* Called once with the waitpid() status after the pid was reaped; the watch is
	 * already removed and may be added again. */
	void (*on_exit)(struct reaper_watch *w, int status);
	struct reaper_watch *next; /* the reaper's */
};

/* Called after a round of reaping that left no child at all. */
typedef void reaper_idle_fn(void *userdata);

/* Adds the SIGCHLD source to @event; SIGCHLD must be blocked already. Call
 * reaper_reap() once after that: a child that exited before SIGCHLD was blocked
 * raised no signal that the source could see. */
int reaper_new(sd_event *event, reaper_idle_fn *on_idle, void *userdata, struct reaper **ret);
struct reaper *reaper_free(struct reaper *r);

void reaper_add(struct reaper *r, struct reaper_watch *w, pid_t pid);
void reaper_remove(struct reaper *r, struct reaper_watch *w);

/* Reaps every child that has exited. Returns true when children remain. */
bool reaper_reap(struct reaper *r);

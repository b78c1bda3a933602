/* service.h: one supervised program, from spawn to reap: the shell around the
 * pure state machine of lifecycle.h. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "lifecycle.h"
#include "probe.h"
#include "service-state.h"

struct service;
struct service_config;
struct reaper;
struct rlimit;
struct logs;
struct service_logs;

/* Called after every state transition, once its actions are done. The manager reacts
 * later (from its own event source), never by feeding a service from here. */
typedef void service_transition_fn(struct service *s, enum service_state from, const char *reason,
				   void *userdata);

/* What the manager lends every service; outlives them all. */
struct service_host {
	sd_event *event;
	struct reaper *reaper;
	char *const *base_env; /* vigild's environment without systemd's variables */
	int stdout_fd, stderr_fd;
	struct logs *logs; /* NULL: services write to stdout_fd and stderr_fd */
	service_transition_fn *on_transition;
	void *userdata;
	/* Notify sockets are PREFIX/NAME (notify.h); NULL: none, no NOTIFY_SOCKET. */
	const char *notify_prefix;
	/* Called when the ready flag changed without a transition (readiness probe,
	 * STOPPING=1): waiting dependents may go on. */
	void (*on_ready)(struct service *s, void *userdata);
	/* RLIMIT_NOFILE for children (vigild raised its own), or NULL. */
	const struct rlimit *child_nofile;
};

/* The last exit of the main process. */
struct service_exit {
	bool known;
	int code;      /* with signal == 0 */
	int signal;    /* killed by this signal */
	uint64_t time; /* CLOCK_REALTIME µs */
	bool success;  /* the code was in success-exit-codes when it exited */
};

/* Creates a stopped service that owns @cfg (taken even on failure). */
int service_new(const struct service_host *host, struct service_config *cfg, struct service **ret);
/* Forgets the service; it must have no process left. Accepts NULL, returns NULL. */
struct service *service_free(struct service *s);

/* Feeds @ev to the state machine and carries out what it asks (spawn, signal, timer).
 * @reason says why, for the log and the status ("stop requested"). */
void service_feed(struct service *s, enum lc_event ev, const char *reason);

/* Sends @sig to the process group, whatever kill-mode says (it rules only how the
 * service is stopped): the API's signal, `--` mode's forwarding, the SIGKILL at
 * shutdown-timeout. Returns 0, or -ESRCH when nothing runs. */
int service_signal(struct service *s, int sig);

/* Replaces the definition. A running service restarts with it when it is wanted;
 * otherwise the new one applies at its next start. Takes @cfg. Returns 0 or -ENOMEM. */
int service_reconfigure(struct service *s, struct service_config *cfg);

/* Sets the services this one requires (the array is copied). Returns 0 or -ENOMEM. */
int service_set_requires(struct service *s, struct service *const *req, size_t n);
/* Returns true when every required service is ready and none is being stopped. */
bool service_deps_ready(const struct service *s);
/* Marks that the manager feeds @ev (LC_EV_STOP or LC_EV_DEPS_LOST) once the
 * service's dependents are down; LC_EV_COUNT clears it. A service marked so does not
 * count as ready for its dependents. */
void service_set_pending_stop(struct service *s, enum lc_event ev);
enum lc_event service_get_pending_stop(const struct service *s);
/* A definition that changed while a stop was pending waits for the end of the run
 * (service_reconfigure()); once the stop is called off and the service is wanted,
 * the run restarts with it. */
void service_take_held_definition(struct service *s);
/* Overrides the stop signal of the next stops (0: the configured one again). */
void service_set_stop_signal(struct service *s, int sig);

const char *service_get_name(const struct service *s);
const struct service_config *service_get_config(const struct service *s);
enum service_state service_get_state(const struct service *s);
/* 0 when no process runs. */
pid_t service_get_pid(const struct service *s);
/* The ready flag of SPEC §11; a oneshot that exited with success stays ready. */
bool service_is_ready(const struct service *s);
bool service_is_wanted(const struct service *s);
/* Whether a process of the service lives: its main process, or what main left in its
 * process group (kill-mode = group), which the run waits for before it ends. */
bool service_has_processes(const struct service *s);
/* The definition the next run takes: one a reload gave while the current run went
 * on, or the current one. */
const struct service_config *service_get_pending_config(const struct service *s);
unsigned service_get_restarts(const struct service *s);
struct service_exit service_get_exit(const struct service *s);
/* CLOCK_REALTIME µs of the last transition, and of the current run's start (0: none). */
uint64_t service_get_since(const struct service *s);
uint64_t service_get_started_at(const struct service *s);
/* Why the service is in its state ("exited with code 1", "stop requested"). */
const char *service_get_reason(const struct service *s);
/* True when the last attempt to start a run failed before the program ran (missing
 * binary, unknown user, a directory it cannot enter): SPEC §4's "could not be
 * started", while backoff tries again. */
bool service_start_failed(const struct service *s);

/* The last STATUS= text the service sent during its current (or last) run, or NULL. */
const char *service_get_status_text(const struct service *s);
/* Describes the service's @role probe: last result, time, duration, message,
 * consecutive failures, counters. Returns 0, or -ENOENT when it has no such probe. */
int service_get_probe(const struct service *s, enum probe_role role, struct probe_info *ret);
/* The liveness probe's health (SPEC §11 `health`): PROBE_HEALTH_UNKNOWN without one or
 * before its thresholds decided, else passing (healthy) or failing (unhealthy). */
enum probe_health service_get_health(const struct service *s);
/* Its captured output (logs.h: the tail for `vigilctl logs`); NULL without capture. */
struct service_logs *service_get_logs(struct service *s);

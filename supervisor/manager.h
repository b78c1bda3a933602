/* manager.h: owns the event loop, the services and what connects them: signals,
 * reaping, dependencies, reload and shutdown. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <systemd/sd-event.h>

#include "service-state.h"

struct manager;
struct service;
struct vigil_config;
struct config_errors;

/* SPEC §2 exit codes. */
#define MANAGER_EXIT_OK             0
#define MANAGER_EXIT_STARTUP        1
#define MANAGER_EXIT_SERVICE_FAILED 3

struct manager_options {
	const char *config_path; /* NULL: none (`--` mode without -c) */
	char *const *main_argv;  /* the `--` COMMAND, or NULL */
	const char *socket_path; /* the control socket, passed to services as VIGIL_SOCKET */
};

/* Called for every transition of every service, after the service acted on it. */
typedef void manager_event_fn(struct service *s, enum service_state from, const char *reason,
			      void *userdata);

/* Builds the manager around @config (taken, also on failure): event loop, signal
 * sources, reaper and the services, none started yet. */
int manager_new(const struct manager_options *o, struct vigil_config *config, struct manager **ret);
struct manager *manager_free(struct manager *m);

/* Starts the autostart services and runs the loop until shutdown is complete.
 * Returns the exit code of SPEC §2. */
int manager_run(struct manager *m);

sd_event *manager_get_event(struct manager *m);
const struct vigil_config *manager_get_config(const struct manager *m);
/* The services in the configuration's order (a service waits for what it requires
 * when it starts: nothing is sorted); valid until the next reload. */
size_t manager_get_services(const struct manager *m, struct service *const **ret);
/* NULL when there is no such service. */
struct service *manager_find(const struct manager *m, const char *name);
bool manager_is_shutting_down(const struct manager *m);
/* True once a shutdown is certain, also before it has begun: main ended, or a service
 * with on-failed = shutdown failed (the shutdown begins when the loop settles). */
bool manager_shutdown_decided(const struct manager *m);

/* Requests, as from `vigilctl start|stop|restart`. Starting also starts what the
 * service requires; stopping first stops what requires it (those stay wanted and
 * wait). Return 0, or -EALREADY when there is nothing to do, or -ESHUTDOWN. */
int manager_start_service(struct manager *m, struct service *s);
int manager_stop_service(struct manager *m, struct service *s);
int manager_restart_service(struct manager *m, struct service *s);

struct reload_result {
	char **added, **removed, **changed; /* NULL-terminated service names */
	size_t unchanged;
};
void reload_result_clear(struct reload_result *r);

/* Loads the configuration again. When anything is wrong, changes nothing and
 * returns -EINVAL with the messages in @errors. Otherwise starts added services,
 * stops removed ones, restarts changed ones, keeps the rest untouched, and
 * returns 0 with the names in @ret. Once shutting down: -ESHUTDOWN, nothing read. */
int manager_reload(struct manager *m, struct config_errors *errors, struct reload_result *ret);

/* Stops everything and exits the loop with @exit_code (in `--` mode main's status
 * wins). A second call changes nothing. */
void manager_shutdown(struct manager *m, int exit_code);

/* A count that grows with every transition, ready flag change, applied reload and
 * the shutdown: whoever summarises the services looks again only when it moved. */
uint64_t manager_get_changes(const struct manager *m);

/* Registers the one listener for transitions (the control API's event stream). */
void manager_set_event_listener(struct manager *m, manager_event_fn *fn, void *userdata);

/* Called as every reload begins (SIGHUP or the API), whatever comes of it. */
typedef void manager_reload_fn(void *userdata);
/* Registers the one reload hook (the control API's socket check); NULL removes it. */
void manager_set_reload_hook(struct manager *m, manager_reload_fn *fn, void *userdata);

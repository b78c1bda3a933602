/* config.h: vigil.conf and its drop-ins, parsed into plain structs (SPEC §3). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lifecycle.h"

/* Caps on what a configuration may hold. */
#define CONFIG_SERVICES_MAX 10000
#define CONFIG_NAME_MAX     64

enum service_type { SERVICE_TYPE_SIMPLE, SERVICE_TYPE_ONESHOT };
enum ready_mode { READY_STARTED, READY_NOTIFY, READY_PROBE };
enum kill_mode { KILL_MODE_GROUP, KILL_MODE_PROCESS };
enum on_failed { ON_FAILED_IGNORE, ON_FAILED_SHUTDOWN };
enum log_forward { LOG_FORWARD_AUTO, LOG_FORWARD_YES, LOG_FORWARD_NO };

enum probe_type { PROBE_NONE, PROBE_EXEC, PROBE_TCP, PROBE_HTTP, PROBE_UNIX, PROBE_TYPE_COUNT };
enum probe_role { PROBE_STARTUP, PROBE_LIVENESS, PROBE_READINESS, PROBE_ROLE_COUNT };

struct probe_config {
	enum probe_type type;                    /* PROBE_NONE: no such block */
	char *target;                            /* the command, host:port, URL or socket path */
	char **argv;                             /* exec: the command split into words */
	uint64_t initial_delay, period, timeout; /* µs */
	unsigned success_threshold, failure_threshold;
	unsigned line; /* where the block opens */
};

struct service_config {
	char *name;
	char *file;    /* where it is defined */
	unsigned line; /* the line of `service NAME {` */
	char *command;
	char **argv;
	char *directory, *user, *group;
	int umask; /* -1: inherit vigild's */
	char **environment;
	char *env_file;
	bool env_file_optional; /* written with a leading '-' */
	bool autostart;
	bool main; /* the `--` COMMAND: keeps vigild's stdin and terminal */
	enum service_type type;
	char **requires;
	size_t n_requires;
	unsigned requires_line;
	int *success_codes;
	size_t n_success_codes;
	struct lifecycle_policy policy; /* restart, backoff, limits, timeouts */
	enum on_failed on_failed;
	enum ready_mode ready;
	uint64_t watchdog; /* µs, 0: none */
	int stop_signal;
	enum kill_mode kill_mode;
	uint64_t log_max_size, log_buffer; /* bytes */
	unsigned log_keep;
	struct probe_config probes[PROBE_ROLE_COUNT];
};

struct vigil_config {
	char *control_socket; /* NULL: the default path */
	char *control_group;
	bool control_group_set; /* written in a file: not the default "vigil" */
	char *include_dir;      /* resolved against the main file's directory */
	char *log_dir;
	char *http_listen;
	enum log_forward log_forward;
	uint64_t shutdown_timeout;
	struct service_config **services; /* owned; a service may TAKE_PTR its entry */
	size_t n_services;
};

/* Error messages "FILE:LINE: message", collected while loading. */
struct config_errors {
	char **lines; /* NULL-terminated */
	size_t n;
};

/* Loads @path (NULL: no file, only defaults) and the *.conf files of its include-dir,
 * plus, with @main_argv (`--` mode), the service main, before the dependencies are
 * judged: services may require it. Every error found goes to @errors; parse errors
 * may stop a file at its first. Returns 0 with *ret set, or -EINVAL when @errors
 * holds something, or -ENOMEM. */
int config_load(const char *path, char *const *main_argv, struct config_errors *errors,
		struct vigil_config **ret);

/* Adds the service `main` running @argv (SPEC §2, `--` mode): restart never,
 * autostart, stdin kept. Returns 0, -EEXIST if a service is already called main,
 * or -ENOMEM. */
int config_add_main(struct vigil_config *c, char *const *argv);
/* Adds to @errors where @c defines a service `main`, which -- COMMAND cannot take. */
void config_errors_main_taken(const struct vigil_config *c, struct config_errors *errors);

/* Frees everything, accepts NULL, returns NULL. */
struct vigil_config *config_free(struct vigil_config *c);
struct service_config *service_config_free(struct service_config *sc);
/* True when @a and @b define the same service (every option, not the file or line). */
bool service_config_equal(const struct service_config *a, const struct service_config *b);
/* Returns the index of the service named @name in @c, or -ENOENT. */
ssize_t config_find_service(const struct vigil_config *c, const char *name);

void config_errors_clear(struct config_errors *e);
/* Appends a formatted message. Returns 0 or -ENOMEM. */
int config_errors_add(struct config_errors *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

const char *probe_role_to_string(enum probe_role r);
const char *probe_type_to_string(enum probe_type t);

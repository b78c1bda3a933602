/* service.c: one supervised program: carries out what lifecycle.c decides (spawn,
 * signals, the timer) and turns exits into events. */
#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "config.h"
#include "env.h"
#include "log.h"
#include "logs.h"
#include "macro.h"
#include "reaper.h"
#include "signame.h"
#include "spawn.h"

/* The largest env-file read: a cap on what one spawn may cost. */
#define SERVICE_ENV_FILE_MAX (1U << 20)

struct service {
	const struct service_host *host;
	struct service_config *cfg;
	struct service_config *next_cfg; /* applies when the current run has ended */
	struct lifecycle lc;
	sd_event_source *timer;
	struct reaper_watch watch;
	pid_t pid;
	char **envp; /* base environment plus `environment`, built when configured */
	struct service **requires;
	size_t n_requires;
	enum lc_event pending_stop; /* LC_EV_COUNT: none */
	int stop_signal;	    /* 0: the configured one */
	struct service_exit exit;
	uint64_t since, started_at; /* CLOCK_REALTIME µs */
	char reason[256];
	struct service_logs *logs; /* NULL without capture */
};

static uint64_t now_monotonic(const struct service *s)
{
	uint64_t t = 0;

	(void)sd_event_now(s->host->event, CLOCK_MONOTONIC, &t);
	return t;
}

static uint64_t now_realtime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec / NSEC_PER_USEC;
}

/* Builds the base environment plus the service's `environment` into a new array. */
static int build_env(const struct service *s, const struct service_config *cfg,
		     const char *env_file_text, size_t env_file_len, char ***ret, char *why,
		     size_t why_size)
{
	CLEANUP(strv_freep) char **env = calloc(1, sizeof(char *));
	size_t n = 0;
	int r;

	if (!env)
		return -ENOMEM;
	for (char *const *e = s->host->base_env; e && *e; e++) {
		r = env_put(&env, &n, *e);
		if (r < 0)
			return r;
	}
	if (env_file_text) {
		CLEANUP(strv_freep) char **fenv = NULL;
		unsigned line = 0;

		r = env_file_parse(env_file_text, env_file_len, &fenv, &line);
		if (r == -EINVAL)
			snprintf(why, why_size, "bad line %u in env-file '%s'", line, cfg->env_file);
		if (r < 0)
			return r;
		for (char **e = fenv; *e; e++) {
			r = env_put(&env, &n, *e);
			if (r < 0)
				return r;
		}
	}
	for (char **e = cfg->environment; e && *e; e++) {
		r = env_put(&env, &n, *e);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(env);
	return 0;
}

static int read_env_file(const char *path, char **ret, size_t *ret_len)
{
	CLEANUP_CLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
	CLEANUP_FREE char *buf = malloc(SERVICE_ENV_FILE_MAX);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (!buf)
		return -ENOMEM;
	while ((n = read(fd, buf + len, SERVICE_ENV_FILE_MAX - len)) > 0)
		len += (size_t)n;
	if (n < 0)
		return -errno;
	if (len == SERVICE_ENV_FILE_MAX)
		return -EFBIG;
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static const char *env_get(char *const *env, const char *name)
{
	size_t len = strlen(name);

	for (; env && *env; env++)
		if (strncmp(*env, name, len) == 0 && (*env)[len] == '=')
			return *env + len + 1;
	return NULL;
}

/* Exit codes a shell would give a program it could not run: 127 not found, 126
 * found but not runnable. */
static void record_spawn_failure(struct service *s, int err)
{
	s->exit = (struct service_exit){
		.known = true,
		.code = err == -ENOENT ? 127 : 126,
		.time = now_realtime(),
	};
}

static void on_main_exit(struct reaper_watch *w, int status);

/* Forks and executes the program. On failure writes the reason to @why. */
static int spawn(struct service *s, char *why, size_t why_size)
{
	const struct service_config *cfg = s->cfg;
	CLEANUP(strv_freep) char **fenv = NULL;
	CLEANUP_FREE char *path = NULL;
	struct spawn_creds creds = {0};
	struct spawn_params p;
	const char *step = "spawn", *unknown = NULL;
	char *const *envp = s->envp;
	pid_t pid;
	int out_w = -1, err_w = -1;
	int r;

	if (cfg->env_file) {
		CLEANUP_FREE char *text = NULL;
		size_t len = 0;

		r = read_env_file(cfg->env_file, &text, &len);
		if (r == -ENOENT && cfg->env_file_optional)
			r = 0;
		else if (r < 0) {
			snprintf(why, why_size, "cannot read env-file '%s': %s", cfg->env_file,
				 strerror(-r));
			return r;
		}
		snprintf(why, why_size, "cannot build the environment: %s", strerror(ENOMEM));
		r = build_env(s, cfg, text, len, &fenv, why, why_size);
		if (r < 0)
			return r;
		envp = fenv;
	}
	r = spawn_find_program(cfg->argv[0], env_get(envp, "PATH"), &path);
	if (r < 0) {
		snprintf(why, why_size, "cannot execute '%s': %s", cfg->argv[0], strerror(-r));
		record_spawn_failure(s, r);
		return r;
	}
	r = spawn_resolve_creds(cfg->user, cfg->group, &creds, &unknown);
	if (r < 0) {
		if (r == -ESRCH)
			snprintf(why, why_size, "unknown %s '%s'",
				 unknown == cfg->user ? "user" : "group", unknown);
		else
			snprintf(why, why_size, "cannot resolve user/group: %s", strerror(-r));
		record_spawn_failure(s, -EPERM);
		return r;
	}
	/* A pipe each for stdout and stderr (SPEC §6); main in `--` mode on a terminal
	 * keeps it, so that interactive programs work as under tini. */
	if (s->logs && !(cfg->main && isatty(STDOUT_FILENO))) {
		r = service_logs_open_run(s->logs, &out_w, &err_w);
		if (r < 0) {
			spawn_creds_clear(&creds);
			snprintf(why, why_size, "cannot create output pipes: %s", strerror(-r));
			return r;
		}
	}
	p = (struct spawn_params){
		.path = path,
		.argv = cfg->argv,
		.envp = envp,
		.directory = cfg->directory,
		.creds = &creds,
		.umask = cfg->umask,
		.stdin_fd = cfg->main ? STDIN_FILENO : -1,
		.stdout_fd = out_w >= 0 ? out_w : s->host->stdout_fd,
		.stderr_fd = err_w >= 0 ? err_w : s->host->stderr_fd,
		.new_session = !cfg->main,
	};
	r = spawn_process(&p, &pid, &step);
	spawn_creds_clear(&creds);
	/* The child has its copies; ours would keep the pipes from ever reaching EOF. */
	if (out_w >= 0)
		close(out_w);
	if (err_w >= 0)
		close(err_w);
	if (r < 0) {
		if (STREQ(step, "execve"))
			snprintf(why, why_size, "cannot execute '%s': %s", path, strerror(-r));
		else
			snprintf(why, why_size, "%s failed: %s", step, strerror(-r));
		if (!STREQ(step, "fork") && !STREQ(step, "pipe"))
			record_spawn_failure(s, r);
		return r;
	}
	s->pid = pid;
	s->started_at = now_realtime();
	s->watch.on_exit = on_main_exit;
	reaper_add(s->host->reaper, &s->watch, pid);
	log_debug("%s: started '%s' as %d", cfg->name, path, (int)pid);
	return 0;
}

static void send_signal(struct service *s, int sig)
{
	pid_t target;

	if (s->pid <= 0)
		return;
	/* The pid is still ours (unreaped), so neither it nor its group can be reused. */
	target = s->cfg->kill_mode == KILL_MODE_GROUP ? -s->pid : s->pid;
	if (kill(target, sig) < 0 && errno != ESRCH)
		log_warning_errno(-errno, "%s: Failed to send SIG%s to %d, ignoring", s->cfg->name,
				  signame_to_string(sig) ?: "?", (int)target);
	/* A stopped process would not act on the stop signal until continued. */
	if (sig != SIGKILL && sig != SIGCONT)
		(void)kill(target, SIGCONT);
}

int service_signal(struct service *s, int sig)
{
	if (s->pid <= 0)
		return -ESRCH;
	if (kill(s->cfg->kill_mode == KILL_MODE_GROUP ? -s->pid : s->pid, sig) < 0)
		return -errno;
	return 0;
}

static void sync_timer(struct service *s)
{
	if (s->lc.deadline == USEC_INFINITY) {
		(void)sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
		return;
	}
	(void)sd_event_source_set_time(s->timer, s->lc.deadline);
	(void)sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

static void set_reason(struct service *s, const char *reason)
{
	if (reason != s->reason)
		snprintf(s->reason, sizeof(s->reason), "%s", reason ? reason : "");
}

/* Applies a definition that waited for the previous run to end. */
static void apply_next_config(struct service *s)
{
	struct service_config *next = TAKE_PTR(s->next_cfg);
	char **env = NULL;
	char why[8];

	if (!next)
		return;
	if (build_env(s, next, NULL, 0, &env, why, sizeof(why)) < 0) {
		log_error("%s: Failed to apply the new definition: out of memory", s->cfg->name);
		service_config_free(next);
		return;
	}
	strv_free(s->envp);
	s->envp = env;
	service_config_free(s->cfg);
	s->cfg = next;
	s->lc.policy = &s->cfg->policy;
	if (s->logs)
		service_logs_set_limits(s->logs, next->log_max_size, next->log_keep, next->log_buffer);
}

void service_feed(struct service *s, enum lc_event ev, const char *reason)
{
	char why[256];

	for (;;) {
		enum service_state from = s->lc.state;
		uint64_t now = now_monotonic(s);
		unsigned actions;

		/* A new definition waits until no process of the old one runs. */
		if (s->next_cfg && s->pid == 0)
			apply_next_config(s);
		s->lc.deps_ready = service_deps_ready(s);
		actions = lifecycle_step(&s->lc, ev, now);
		if (s->lc.note)
			reason = s->lc.note;
		if (actions & LC_SIGNAL_STOP)
			send_signal(s, s->stop_signal ? s->stop_signal : s->cfg->stop_signal);
		if (actions & LC_SIGNAL_KILL)
			send_signal(s, SIGKILL);
		if (actions & LC_ARM_TIMER)
			sync_timer(s);
		if (s->lc.state != from) {
			s->since = now_realtime();
			set_reason(s, reason);
			log_full_errno(s->lc.state == SERVICE_FAILED ? LOG_WARNING : LOG_INFO, 0,
				       "%s: %s -> %s (%s)", s->cfg->name,
				       service_state_to_string(from),
				       service_state_to_string(s->lc.state), s->reason);
		}
		if (!(actions & LC_SPAWN)) {
			if (s->lc.state != from && s->host->on_transition)
				s->host->on_transition(s, from, s->reason, s->host->userdata);
			return;
		}
		if (spawn(s, why, sizeof(why)) < 0) {
			log_error("%s: %s", s->cfg->name, why);
			ev = LC_EV_SPAWN_FAILED;
			reason = why;
		} else {
			ev = LC_EV_SPAWNED;
			reason = "started";
		}
		if (s->lc.state != from && s->host->on_transition)
			s->host->on_transition(s, from, s->reason, s->host->userdata);
	}
}

static bool in_success_codes(const struct service_config *cfg, int code)
{
	for (size_t i = 0; i < cfg->n_success_codes; i++)
		if (cfg->success_codes[i] == code)
			return true;
	return false;
}

static void on_main_exit(struct reaper_watch *w, int status)
{
	struct service *s = (struct service *)((char *)w - offsetof(struct service, watch));
	char reason[64];
	bool success;

	s->pid = 0;
	s->exit = (struct service_exit){.known = true, .time = now_realtime()};
	if (WIFEXITED(status)) {
		s->exit.code = WEXITSTATUS(status);
		success = in_success_codes(s->cfg, s->exit.code);
		snprintf(reason, sizeof(reason), "exited with code %d", s->exit.code);
	} else {
		const char *name = signame_to_string(WTERMSIG(status));

		s->exit.signal = WTERMSIG(status);
		success = false;
		if (name)
			snprintf(reason, sizeof(reason), "killed by SIG%s", name);
		else
			snprintf(reason, sizeof(reason), "killed by signal %d", s->exit.signal);
	}
	/* Whatever the main process left in its group goes with it (kill-mode = group);
	 * the group cannot be reused while any member lives. */
	if (s->cfg->kill_mode == KILL_MODE_GROUP && kill(-w->pid, 0) == 0) {
		(void)kill(-w->pid, s->cfg->stop_signal);
		(void)kill(-w->pid, SIGCONT);
	}
	service_feed(s, success ? LC_EV_EXIT_SUCCESS : LC_EV_EXIT_FAILURE, reason);
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct service *s = userdata;

	(void)src;
	(void)usec;
	service_feed(s, LC_EV_TIMEOUT, s->lc.state == SERVICE_BACKOFF ? "backoff over" : "timeout");
	return 0;
}

int service_new(const struct service_host *host, struct service_config *cfg, struct service **ret)
{
	struct service *s = calloc(1, sizeof(*s));
	char why[8];
	int r;

	if (!s) {
		service_config_free(cfg);
		return -ENOMEM;
	}
	s->host = host;
	s->cfg = cfg;
	s->pending_stop = LC_EV_COUNT;
	lifecycle_init(&s->lc, &cfg->policy, ((uint64_t)getpid() << 32) ^ now_realtime() ^ (uintptr_t)s);
	r = build_env(s, cfg, NULL, 0, &s->envp, why, sizeof(why));
	if (r >= 0 && host->logs) {
		r = service_logs_new(host->logs, cfg->name, &s->logs);
		if (r >= 0)
			service_logs_set_limits(s->logs, cfg->log_max_size, cfg->log_keep,
						cfg->log_buffer);
	}
	if (r >= 0)
		r = sd_event_add_time(host->event, &s->timer, CLOCK_MONOTONIC, USEC_INFINITY, 1,
				      on_timer, s);
	if (r < 0) {
		service_free(s);
		return r;
	}
	(void)sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
	(void)sd_event_source_set_description(s->timer, cfg->name);
	s->since = now_realtime();
	snprintf(s->reason, sizeof(s->reason), "defined");
	*ret = s;
	return 0;
}

struct service *service_free(struct service *s)
{
	if (!s)
		return NULL;
	if (s->pid > 0)
		reaper_remove(s->host->reaper, &s->watch);
	sd_event_source_disable_unref(s->timer);
	service_logs_free(s->logs);
	strv_free(s->envp);
	free(s->requires);
	service_config_free(s->cfg);
	service_config_free(s->next_cfg);
	free(s);
	return NULL;
}

int service_reconfigure(struct service *s, struct service_config *cfg)
{
	service_config_free(s->next_cfg);
	s->next_cfg = cfg;
	if (s->pid == 0) {
		apply_next_config(s);
		return 0;
	}
	service_feed(s, LC_EV_RESTART, "definition changed");
	return 0;
}

int service_set_requires(struct service *s, struct service *const *req, size_t n)
{
	struct service **copy = NULL;

	if (n > 0) {
		copy = malloc(n * sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, req, n * sizeof(*copy));
	}
	free(s->requires);
	s->requires = copy;
	s->n_requires = n;
	return 0;
}

bool service_deps_ready(const struct service *s)
{
	for (size_t i = 0; i < s->n_requires; i++)
		if (!service_is_ready(s->requires[i]) || s->requires[i]->pending_stop != LC_EV_COUNT)
			return false;
	return true;
}

void service_set_pending_stop(struct service *s, enum lc_event ev)
{
	s->pending_stop = ev;
}

enum lc_event service_get_pending_stop(const struct service *s)
{
	return s->pending_stop;
}

void service_set_stop_signal(struct service *s, int sig)
{
	s->stop_signal = sig;
}

const char *service_get_name(const struct service *s)
{
	return s->cfg->name;
}

const struct service_config *service_get_config(const struct service *s)
{
	return s->cfg;
}

enum service_state service_get_state(const struct service *s)
{
	return s->lc.state;
}

pid_t service_get_pid(const struct service *s)
{
	return s->pid;
}

bool service_is_ready(const struct service *s)
{
	return s->lc.ready &&
	       (s->lc.state == SERVICE_RUNNING || s->lc.state == SERVICE_EXITED);
}

bool service_is_wanted(const struct service *s)
{
	return s->lc.want_up;
}

unsigned service_get_restarts(const struct service *s)
{
	return s->lc.restarts;
}

struct service_exit service_get_exit(const struct service *s)
{
	return s->exit;
}

uint64_t service_get_since(const struct service *s)
{
	return s->since;
}

uint64_t service_get_started_at(const struct service *s)
{
	return s->pid > 0 ? s->started_at : 0;
}

const char *service_get_reason(const struct service *s)
{
	return s->reason;
}

struct service_logs *service_get_logs(struct service *s)
{
	return s->logs;
}

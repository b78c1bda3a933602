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
#include "fileio.h"
#include "log.h"
#include "logs.h"
#include "macro.h"
#include "notify.h"
#include "probe.h"
#include "reaper.h"
#include "signame.h"
#include "spawn.h"
#include "units.h"

/* The largest env-file read: a cap on what one spawn may cost. */
#define SERVICE_ENV_FILE_MAX (1U << 20)

/* While what a main process left in its group goes: how often to look. */
#define SERVICE_DRAIN_POLL (100 * USEC_PER_MSEC)
/* While a restart waits for its earlier runs' output to be read: how often to look. */
#define SERVICE_BACKLOG_POLL (100 * USEC_PER_MSEC)

/* NOTIFY_SOCKET=, WATCHDOG_USEC= and the terminating NULL. */
#define SERVICE_OWN_ENV_MAX 3

struct service {
	const struct service_host *host;
	struct service_config *cfg;
	struct service_config *next_cfg; /* applies when the current run has ended */
	struct lifecycle lc;
	sd_event_source *timer;
	struct reaper_watch watch;
	pid_t pid;
	/* Main exited and left processes in its group (kill-mode = group): the run
	 * ends, and its exit is fed, once the group is empty (SIGKILL at stop-timeout). */
	pid_t drain_pgid;        /* 0: no group to wait for */
	enum lc_event drain_ev;  /* the exit to feed then, */
	char *drain_reason;      /* with its reason */
	uint64_t drain_deadline; /* monotonic µs: SIGKILL then */
	bool drain_killed;
	sd_event_source *drain_timer; /* allocated by the first drain */
	bool held;                    /* a restart waits for a slow log sink */
	bool start_failed;            /* the last spawn failed (service_start_failed()) */
	char **envp;                  /* pointers into the base environment and `environment` */
	struct service **requires;
	size_t n_requires;
	enum lc_event pending_stop; /* LC_EV_COUNT: none */
	int stop_signal;            /* 0: the configured one */
	struct service_exit exit;
	uint64_t since, started_at; /* CLOCK_REALTIME µs */
	char reason[256];

	/* Health: probes, the notify socket and the watchdog (SPEC §3, §5). */
	struct probe_set *probes;     /* NULL: no probe configured, no timer */
	struct probe_host probe_host; /* what exec probes run with: the current run's */
	struct spawn_creds creds;     /* the current run's user and groups */
	char **run_env;               /* the current run's environment, with env-file (pointers) */
	char **run_file_env;          /* the strings its env-file gave */
	char *notify_path;            /* NOTIFY_SOCKET; NULL: none */
	struct notify *notify;        /* bound at the first spawn */
	pid_t probes_pid, watchdog_pid; /* the run they were started for; 0: none */
	char *status; /* the last STATUS= text; NULL before any, allocated by the first */
	char *own_env[SERVICE_OWN_ENV_MAX]; /* NOTIFY_SOCKET=, WATCHDOG_USEC=, NULL */
	struct service_logs *logs;          /* NULL without capture */
};

static uint64_t now_monotonic(const struct service *s)
{
	uint64_t t = 0;

	(void)sd_event_now(s->host->event, CLOCK_MONOTONIC, &t);
	return t;
}

/* Builds the service's environment as an array of pointers (free only the array):
 * the base environment, vigild's own variables, the user's (@user_env: USER, HOME,
 * ...), then the env-file variables in @file_env, then `environment` (each may
 * override the ones before, as with systemd). Nothing is copied, so a thousand
 * services share one set of strings. */
static int build_env(const struct service *s, const struct service_config *cfg,
		     char *const *own_env, char *const *user_env, char *const *file_env,
		     char ***ret)
{
	char *const *base = s->host->base_env;
	char *const *layers[] = {own_env, user_env, file_env, cfg->environment};
	CLEANUP_FREE char **env = NULL;
	size_t n = 0;
	int r;

	/* The base environment holds each name once (build_base_env()): it is copied
	 * as it is, and only the layers above it are looked up. */
	while (base && base[n])
		n++;
	env = malloc((n + 1) * sizeof(*env));
	if (!env)
		return -ENOMEM;
	if (n > 0)
		memcpy(env, base, n * sizeof(*env));
	env[n] = NULL;
	for (size_t l = 0; l < ELEMENTSOF(layers); l++)
		for (char *const *e = layers[l]; e && *e; e++) {
			/* A name alone removes that variable (spawn_creds.env). */
			if (!strchr(*e, '=')) {
				(void)env_remove(env, &n, *e);
				continue;
			}
			r = env_put_ref(&env, &n, *e);
			if (r < 0)
				return r;
		}
	*ret = TAKE_PTR(env);
	return 0;
}

static void free_own_env(char **own)
{
	for (size_t i = 0; i < SERVICE_OWN_ENV_MAX; i++)
		own[i] = mfree(own[i]);
}

/* Makes the variables vigild itself gives the child for @cfg in @own (all NULL
 * before; NULL-terminated after). Returns 0 or -ENOMEM (then @own is all NULL). */
static int make_own_env(const struct service *s, const struct service_config *cfg, char **own)
{
	size_t n = 0;

	if (s->notify_path && asprintf(&own[n++], "NOTIFY_SOCKET=%s", s->notify_path) < 0)
		goto fail;
	if (cfg->watchdog > 0 &&
	    asprintf(&own[n++], "WATCHDOG_USEC=%llu", (unsigned long long)cfg->watchdog) < 0)
		goto fail;
	return 0;
fail:
	own[n - 1] = NULL; /* asprintf() left it undefined */
	free_own_env(own);
	return -ENOMEM;
}

/* Exit codes a shell would give a program it could not run: 127 not found, 126
 * found but not runnable. */
static void record_spawn_failure(struct service *s, int err)
{
	s->exit = (struct service_exit){
		.known = true,
		.code = err == -ENOENT ? 127 : 126,
		.time = clock_now(CLOCK_REALTIME),
	};
}

static void on_main_exit(struct reaper_watch *w, int status);
static void on_notify(struct notify *n, const struct notify_message *m, void *userdata);
static void on_watchdog(struct notify *n, void *userdata);
static void on_probe_verdict(struct probe_set *set, enum probe_role role,
			     enum probe_verdict verdict, const char *message, void *userdata);

/* Binds the service's notify socket, once: it then stays for the service's lifetime,
 * so that a message sent just before an exit is still read. */
static int ensure_notify(struct service *s)
{
	if (s->notify)
		return 0;
	if (!s->notify_path)
		return -ENOENT;
	return notify_new(s->host->event, s->notify_path, on_notify, on_watchdog, s, &s->notify);
}

/* Why execve of @path failed with @r. ENOENT for a file that exists is about the
 * program it names to run it: a script's interpreter, or an ELF's dynamic loader. */
static void describe_exec_failure(const char *path, int r, char *why, size_t why_size)
{
	char head[256], interp[128];
	ssize_t n = -1;
	int fd = r == -ENOENT ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK) : -1;

	if (fd >= 0) {
		n = read(fd, head, sizeof(head));
		close(fd);
	}
	if (n >= 0 && spawn_script_interpreter(head, (size_t)n, interp, sizeof(interp)))
		snprintf(why,
			 why_size,
			 "cannot execute '%s': its interpreter '%s' was not found",
			 path,
			 interp);
	else if (n >= 0)
		snprintf(why,
			 why_size,
			 "cannot execute '%s': the program it needs to run it (its dynamic "
			 "loader) was not found",
			 path);
	else if (r == -ENOEXEC)
		/* A shell's execvp() would run it with /bin/sh; exec does not, nor does
		 * systemd. */
		snprintf(why,
			 why_size,
			 "cannot execute '%s': %s (not a program for this machine, nor a "
			 "script starting with '#!')",
			 path,
			 strerror(-r));
	else
		snprintf(why, why_size, "cannot execute '%s': %s", path, strerror(-r));
}

/* Forks and executes the program. On failure writes the reason to @why. */
static int spawn(struct service *s, char *why, size_t why_size)
{
	const struct service_config *cfg = s->cfg;
	CLEANUP(strv_freep) char **file_env = NULL;
	CLEANUP_FREE char **fenv = NULL;
	CLEANUP_FREE char *path = NULL;
	CLEANUP(spawn_creds_clear) struct spawn_creds creds = {0};
	struct spawn_params p;
	const char *step = "spawn", *unknown = NULL;
	char *const *envp = s->envp;
	pid_t pid;
	int out_w = -1, err_w = -1;
	int r;

	r = spawn_resolve_creds(cfg->user, cfg->group, &creds, &unknown);
	if (r < 0) {
		if (r == -ESRCH)
			snprintf(why,
				 why_size,
				 "unknown %s '%s'",
				 unknown == cfg->user ? "user" : "group",
				 unknown);
		else
			snprintf(why, why_size, "cannot resolve user/group: %s", strerror(-r));
		record_spawn_failure(s, -EPERM);
		return r;
	}
	if (cfg->env_file) {
		CLEANUP_FREE char *text = NULL;
		size_t len = 0;
		unsigned line = 0;

		/* In the loop, at every start: a FIFO gets no time to be written. */
		r = fileio_read_wait(cfg->env_file, SERVICE_ENV_FILE_MAX, 0, &text, &len);
		if (r == -ENOENT && cfg->env_file_optional)
			r = 0;
		else if (r < 0) {
			snprintf(why,
				 why_size,
				 "cannot read env-file '%s': %s",
				 cfg->env_file,
				 strerror(-r));
			return r;
		}
		r = text ? env_file_parse(text, len, &file_env, &line) : 0;
		if (r == -EINVAL) {
			snprintf(why,
				 why_size,
				 "%s:%u: bad env-file line (NAME=VALUE expected, any quote closed)",
				 cfg->env_file,
				 line);
			return r;
		}
		if (r < 0) {
			snprintf(why, why_size, "cannot build the environment: %s", strerror(-r));
			return r;
		}
	}
	/* The user's own variables (USER, HOME, ...) come under the env-file's and
	 * `environment`, over what vigild inherited. */
	if (creds.env || file_env) {
		r = build_env(s, cfg, s->own_env, creds.env, file_env, &fenv);
		if (r < 0) {
			snprintf(why, why_size, "cannot build the environment: %s", strerror(-r));
			return r;
		}
		envp = fenv;
	}
	r = spawn_find_program(cfg->argv[0], env_get(envp, "PATH"), &path);
	if (r < 0) {
		snprintf(why, why_size, "cannot execute '%s': %s", cfg->argv[0], strerror(-r));
		record_spawn_failure(s, r);
		return r;
	}
	r = ensure_notify(s);
	if (r < 0 && cfg->ready == READY_NOTIFY) {
		snprintf(why,
			 why_size,
			 "cannot create the notify socket '%s': %s",
			 s->notify_path ? s->notify_path : "(none)",
			 strerror(-r));
		return r;
	}
	if (r < 0)
		log_warning_errno(r, "%s: Failed to create the notify socket, ignoring", cfg->name);
	/* What an earlier run sent and nobody read must not count for this one. */
	notify_flush(s->notify);
	/* A pipe each for stdout and stderr (SPEC §6); main in `--` mode on a terminal
	 * keeps it, so that interactive programs work as under tini. */
	if (s->logs && !(cfg->main && isatty(STDOUT_FILENO))) {
		r = service_logs_open_run(s->logs, &out_w, &err_w);
		if (r < 0) {
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
		.nofile = s->host->child_nofile,
	};
	r = spawn_process(&p, &pid, &step);
	/* The child has its copies; ours would keep the pipes from ever reaching EOF. */
	if (out_w >= 0)
		close(out_w);
	if (err_w >= 0)
		close(err_w);
	if (r < 0) {
		if (STREQ(step, "execve"))
			describe_exec_failure(path, r, why, why_size);
		else if (STREQ(step, "chdir"))
			snprintf(why,
				 why_size,
				 "cannot enter directory '%s': %s",
				 cfg->directory,
				 strerror(-r));
		else
			snprintf(why, why_size, "%s failed: %s", step, strerror(-r));
		if (!STREQ(step, "fork") && !STREQ(step, "pipe"))
			record_spawn_failure(s, r);
		return r;
	}
	s->pid = pid;
	s->started_at = clock_now(CLOCK_REALTIME);
	s->watch.on_exit = on_main_exit;
	reaper_add(s->host->reaper, &s->watch, pid);
	log_debug("%s: started '%s' as %d", cfg->name, path, (int)pid);

	/* Exec probes run as this run does; notify messages come from its user or session. */
	spawn_creds_clear(&s->creds);
	s->creds = creds;
	creds = (struct spawn_creds){0}; /* the run's now (the user's variables too) */
	free(s->run_env);
	strv_free(s->run_file_env);
	s->run_env = TAKE_PTR(fenv);
	s->run_file_env = TAKE_PTR(file_env);
	s->probe_host.envp = s->run_env ? s->run_env : s->envp;
	s->probe_host.directory = cfg->directory;
	s->probe_host.creds = &s->creds;
	s->probe_host.umask = cfg->umask;
	notify_set_sender(s->notify, s->creds.set ? s->creds.uid : (uid_t)-1, pid);
	s->status = mfree(s->status);
	return 0;
}

/* Who a signal to the service reaches: its process group (@group) or its main process
 * alone, or what main left in its group until that has gone; 0: nobody. The pid is
 * still ours (unreaped), so neither it nor its group can be reused; a group being
 * drained cannot be reused while it has a member. */
static pid_t signal_target(const struct service *s, bool group)
{
	if (s->pid > 0)
		return group ? -s->pid : s->pid;
	return s->drain_pgid > 0 ? -s->drain_pgid : 0;
}

/* The stop path: kill-mode says whether the group or main alone gets the signal. */
static void send_signal(struct service *s, int sig)
{
	pid_t target = signal_target(s, s->cfg->kill_mode == KILL_MODE_GROUP);

	if (!target)
		return;
	if (kill(target, sig) < 0 && errno != ESRCH)
		log_warning_errno(-errno,
				  "%s: Failed to send SIG%s to %d, ignoring",
				  s->cfg->name,
				  signame_to_string(sig) ?: "?",
				  (int)target);
	/* A stopped process would not act on the stop signal until continued. */
	if (sig != SIGKILL && sig != SIGCONT)
		(void)kill(target, SIGCONT);
}

int service_signal(struct service *s, int sig)
{
	/* SPEC §7 and §2 say "its process group": kill-mode is about stopping. */
	pid_t target = signal_target(s, true);

	if (!target)
		return -ESRCH;
	if (kill(target, sig) < 0)
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
	char *own[SERVICE_OWN_ENV_MAX] = {NULL};
	char **env = NULL;
	struct probe_set *probes = NULL;

	if (!next)
		return;
	/* Built aside: the running environment points into the old strings. */
	if (make_own_env(s, next, own) < 0 || build_env(s, next, own, NULL, NULL, &env) < 0 ||
	    probe_set_new(&s->probe_host, next->probes, on_probe_verdict, s, &probes) < 0) {
		log_error("%s: Failed to apply the new definition: out of memory", s->cfg->name);
		free(env);
		free_own_env(own);
		service_config_free(next);
		return;
	}
	free(s->envp);
	s->envp = env;
	free_own_env(s->own_env);
	memcpy(s->own_env, own, sizeof(own));
	/* The probes point into the definition: they go with it. */
	probe_set_free(s->probes);
	s->probes = probes;
	s->probes_pid = 0;
	service_config_free(s->cfg);
	s->cfg = next;
	s->lc.policy = &s->cfg->policy;
	s->probe_host.service = s->cfg->name;
	s->run_env = mfree(s->run_env);
	s->run_file_env = strv_free(s->run_file_env);
	s->probe_host.envp = s->envp;
	if (s->logs)
		service_logs_set_limits(
			s->logs, next->log_max_size, next->log_keep, next->log_buffer);
	/* "A requirement is stopping" was said of the old definition's requirements:
	 * the new run waits for its own (service_deps_ready() heeds pending stops). */
	if (s->pending_stop == LC_EV_DEPS_LOST)
		s->pending_stop = LC_EV_COUNT;
}

/* Starts and stops what watches a run: the probes while the process is starting or
 * running, the watchdog once start-up is complete (running), as systemd does. */
static void sync_health(struct service *s)
{
	enum service_state st = s->lc.state;
	bool up = s->pid > 0 && (st == SERVICE_STARTING || st == SERVICE_RUNNING);
	bool watchdog = up && st == SERVICE_RUNNING && s->cfg->watchdog > 0;

	if (!up && s->probes_pid) {
		probe_set_stop(s->probes); /* a check in flight is cancelled */
		s->probes_pid = 0;
	} else if (up && s->probes_pid != s->pid) {
		probe_set_begin(s->probes);
		s->probes_pid = s->pid;
	}
	if (!watchdog && s->watchdog_pid) {
		notify_watchdog_stop(s->notify);
		s->watchdog_pid = 0;
	} else if (watchdog && s->watchdog_pid != s->pid) {
		int r = notify_watchdog_start(s->notify, s->cfg->watchdog);
		if (r < 0)
			log_warning_errno(
				r, "%s: Failed to arm the watchdog, ignoring", s->cfg->name);
		s->watchdog_pid = s->pid;
	}
}

void service_feed(struct service *s, enum lc_event ev, const char *reason)
{
	char why[256];

	for (;;) {
		enum service_state from = s->lc.state;
		bool was_ready = service_is_ready(s);
		uint64_t now = now_monotonic(s);
		unsigned actions;

		/* A new definition waits until no process of the old one runs. */
		if (s->next_cfg && !service_has_processes(s))
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
			s->since = clock_now(CLOCK_REALTIME);
			set_reason(s, reason);
			log_full_errno(s->lc.state == SERVICE_FAILED ? LOG_WARNING : LOG_INFO,
				       0,
				       "%s: %s -> %s (%s)",
				       s->cfg->name,
				       service_state_to_string(from),
				       service_state_to_string(s->lc.state),
				       s->reason);
		}
		if (!(actions & LC_SPAWN)) {
			sync_health(s);
			if (s->lc.state != from && s->host->on_transition)
				s->host->on_transition(s, from, s->reason, s->host->userdata);
			else if (service_is_ready(s) != was_ready && s->host->on_ready)
				s->host->on_ready(s, s->host->userdata);
			return;
		}
		if (spawn(s, why, sizeof(why)) < 0) {
			log_error("%s: %s", s->cfg->name, why);
			if (s->logs) {
				char line[sizeof(why) + 16];

				snprintf(line, sizeof(line), "vigild: %s", why);
				service_logs_note(s->logs, line);
			}
			ev = LC_EV_SPAWN_FAILED;
			reason = why;
			s->start_failed = true;
		} else {
			ev = LC_EV_SPAWNED;
			reason = "started";
			s->start_failed = false;
			s->held = false;
		}
		sync_health(s);
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

/* Feeds the exit of the run, its group being empty. */
static void end_drain(struct service *s)
{
	CLEANUP_FREE char *reason = TAKE_PTR(s->drain_reason);

	s->drain_pgid = 0;
	(void)sd_event_source_set_enabled(s->drain_timer, SD_EVENT_OFF);
	service_feed(s, s->drain_ev, reason ? reason : "exited");
}

/* The group's end is looked for every SERVICE_DRAIN_POLL: its last member may be
 * reaped by vigild (an orphan now) or by a parent that left the group, and only
 * the group itself tells. */
static void arm_drain_timer(struct service *s)
{
	uint64_t next = now_monotonic(s) + SERVICE_DRAIN_POLL;

	if (!s->drain_killed && s->drain_deadline < next)
		next = s->drain_deadline;
	(void)sd_event_source_set_time(s->drain_timer, next);
	(void)sd_event_source_set_enabled(s->drain_timer, SD_EVENT_ONESHOT);
}

static int on_drain_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct service *s = userdata;

	(void)src;
	if (kill(-s->drain_pgid, 0) < 0 && errno == ESRCH) {
		end_drain(s);
		return 0;
	}
	if (!s->drain_killed && usec >= s->drain_deadline) {
		log_warning("%s: what its main process left in its group is still there after "
			    "stop-timeout: sending SIGKILL",
			    s->cfg->name);
		(void)kill(-s->drain_pgid, SIGKILL);
		s->drain_killed = true;
	}
	arm_drain_timer(s);
	return 0;
}

/* Main has exited and its group still has members: they get the stop signal, and
 * the exit waits until they are gone. Returns false when that cannot be arranged
 * (no memory): the exit is then fed at once. */
static bool start_drain(struct service *s, pid_t pgid, enum lc_event ev, const char *reason)
{
	if (!s->drain_timer && sd_event_add_time(s->host->event,
						 &s->drain_timer,
						 CLOCK_MONOTONIC,
						 USEC_INFINITY,
						 1,
						 on_drain_timer,
						 s) < 0)
		return false;
	s->drain_reason = strdup(reason);
	if (!s->drain_reason)
		return false;
	s->drain_pgid = pgid;
	s->drain_ev = ev;
	s->drain_deadline = now_monotonic(s) + s->cfg->policy.stop_timeout;
	s->drain_killed = false;
	arm_drain_timer(s);
	log_info("%s: main process %s; stopping what it left in its process group",
		 s->cfg->name,
		 reason);
	/* Main is gone: not ready while the rest goes. */
	service_feed(s, LC_EV_NOT_READY, "main process exited");
	return true;
}

static void on_main_exit(struct reaper_watch *w, int status)
{
	struct service *s = (struct service *)((char *)w - offsetof(struct service, watch));
	char reason[64], full[sizeof(s->reason) + 80];
	const char *why = reason;
	enum lc_event ev;

	s->pid = 0;
	s->exit = (struct service_exit){.known = true, .time = clock_now(CLOCK_REALTIME)};
	if (WIFEXITED(status)) {
		s->exit.code = WEXITSTATUS(status);
		s->exit.success = in_success_codes(s->cfg, s->exit.code);
		snprintf(reason, sizeof(reason), "exited with code %d", s->exit.code);
	} else {
		const char *name = signame_to_string(WTERMSIG(status));

		s->exit.signal = WTERMSIG(status);
		if (name)
			snprintf(reason, sizeof(reason), "killed by SIG%s", name);
		else
			snprintf(reason, sizeof(reason), "killed by signal %d", s->exit.signal);
	}
	ev = s->exit.success ? LC_EV_EXIT_SUCCESS : LC_EV_EXIT_FAILURE;
	/* Stopped for failing its health: that stays the reason in status (the reason
	 * of the transition to stopping, unchanged since, as no transition came). */
	if (s->lc.state == SERVICE_STOPPING && s->lc.stop_is_failure && s->reason[0]) {
		snprintf(full, sizeof(full), "%s; then %s", s->reason, reason);
		ev = LC_EV_EXIT_FAILURE;
		why = full;
	}
	/* Whatever the main process left in its group goes with it (kill-mode = group),
	 * and the run has ended only when the last of them has: a dependency is not
	 * stopped, nor the service started again, beside them. The group cannot be
	 * reused while any member lives. */
	if (s->cfg->kill_mode == KILL_MODE_GROUP && kill(-w->pid, 0) == 0) {
		(void)kill(-w->pid, s->cfg->stop_signal);
		(void)kill(-w->pid, SIGCONT);
		if (start_drain(s, w->pid, ev, why))
			return;
	}
	service_feed(s, ev, why);
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct service *s = userdata;

	(void)usec;
	/* A crash loop whose output a slow sink (a stdout nobody reads) does not take:
	 * each run's lines wait in its pipes, and a new run would cost the oldest run's
	 * (SPEC §6: no line is lost). The restart waits, as a writer does. */
	if (s->lc.state == SERVICE_BACKOFF && s->logs && service_logs_backlogged(s->logs)) {
		if (!s->held)
			log_info("%s: restart held until the output of its earlier runs is read "
				 "(a log sink is slow)",
				 s->cfg->name);
		s->held = true;
		(void)sd_event_source_set_time(src, now_monotonic(s) + SERVICE_BACKLOG_POLL);
		(void)sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
		return 0;
	}
	s->held = false;
	service_feed(s, LC_EV_TIMEOUT, s->lc.state == SERVICE_BACKOFF ? "backoff over" : "timeout");
	return 0;
}

/* ---- health: probes, notify, watchdog ---- */

static bool is_up(const struct service *s)
{
	return s->pid > 0 && (s->lc.state == SERVICE_STARTING || s->lc.state == SERVICE_RUNNING);
}

static void on_probe_verdict(struct probe_set *set, enum probe_role role,
			     enum probe_verdict verdict, const char *message, void *userdata)
{
	struct service *s = userdata;
	const struct probe_config *pc = &s->cfg->probes[role];
	const char *name = s->cfg->name, *what = probe_role_to_string(role);
	struct probe_info info;
	char reason[320];

	/* Each failure up to the threshold is worth a line; a readiness probe that
	 * keeps failing after that is not. */
	if (probe_set_get_info(set, role, &info) >= 0 && info.last_result == PROBE_FAIL) {
		if (info.consecutive_failures <= pc->failure_threshold)
			log_info("%s: %s check failed (%u/%u): %s",
				 name,
				 what,
				 info.consecutive_failures,
				 pc->failure_threshold,
				 message);
		else
			log_debug("%s: %s check failed (%u): %s",
				  name,
				  what,
				  info.consecutive_failures,
				  message);
	}
	switch (verdict) {
	case PROBE_VERDICT_STARTED:
		log_info("%s: startup passed (%s)", name, message);
		break;
	case PROBE_VERDICT_READY:
		/* ready = probe waits for this; otherwise it only moves the flag. */
		if (s->lc.state == SERVICE_RUNNING) {
			log_info("%s: ready (readiness passed: %s)", name, message);
			service_feed(s, LC_EV_READY, "readiness passed");
		} else if (s->lc.state == SERVICE_STARTING && s->cfg->ready == READY_PROBE)
			service_feed(s, LC_EV_READY, "readiness passed");
		break;
	case PROBE_VERDICT_NOT_READY:
		snprintf(reason, sizeof(reason), "readiness failed: %s", message);
		if (s->lc.state == SERVICE_RUNNING && s->lc.ready) {
			log_info("%s: not ready (%s)", name, reason);
			service_feed(s, LC_EV_NOT_READY, reason);
		}
		break;
	case PROBE_VERDICT_UNHEALTHY:
		snprintf(reason,
			 sizeof(reason),
			 "%s: %s",
			 role == PROBE_STARTUP ? "startup timed out" : "liveness failed",
			 message);
		if (is_up(s))
			service_feed(s, LC_EV_UNHEALTHY, reason);
		break;
	default:
		break;
	}
}

static void on_notify(struct notify *n, const struct notify_message *m, void *userdata)
{
	struct service *s = userdata;
	const char *name = s->cfg->name;

	(void)n;
	if (m->has_status) {
		if (!s->status)
			s->status = malloc(NOTIFY_STATUS_MAX + 1);
		if (s->status) {
			memcpy(s->status, m->status, NOTIFY_STATUS_MAX + 1);
			log_debug("%s: status: %s", name, s->status);
		}
	}
	if (m->ready) {
		bool starting = s->lc.state == SERVICE_STARTING;
		/* Ready again after STOPPING=1, unless a readiness probe decides. */
		bool again = s->lc.state == SERVICE_RUNNING && !s->lc.ready &&
			     s->cfg->probes[PROBE_READINESS].type == PROBE_NONE;

		if (s->cfg->ready == READY_NOTIFY && is_up(s) && (starting || again)) {
			service_feed(s, LC_EV_READY, "READY=1");
			if (again)
				log_info("%s: ready (READY=1)", name);
			/* A readiness probe that is failing has the last word. */
			if (probe_set_get_health(s->probes, PROBE_READINESS) ==
			    PROBE_HEALTH_FAILING)
				service_feed(s, LC_EV_NOT_READY, "readiness failing");
		} else
			log_debug("%s: READY=1 from %d ignored (ready = %s, %s)",
				  name,
				  (int)m->pid,
				  s->cfg->ready == READY_NOTIFY ? "notify" : "not notify",
				  service_state_to_string(s->lc.state));
	}
	if (m->stopping && s->lc.state == SERVICE_RUNNING && s->lc.ready) {
		log_info("%s: not ready (STOPPING=1)", name);
		service_feed(s, LC_EV_NOT_READY, "STOPPING=1");
	}
	if (m->watchdog_trigger && is_up(s))
		service_feed(s, LC_EV_UNHEALTHY, "watchdog triggered (WATCHDOG=trigger)");
}

static void on_watchdog(struct notify *n, void *userdata)
{
	struct service *s = userdata;
	char t[32], reason[96];

	(void)n;
	if (!is_up(s))
		return;
	snprintf(reason,
		 sizeof(reason),
		 "watchdog timeout: no WATCHDOG=1 for %s",
		 units_format_duration(s->cfg->watchdog, t, sizeof(t)));
	service_feed(s, LC_EV_UNHEALTHY, reason);
}

int service_new(const struct service_host *host, struct service_config *cfg, struct service **ret)
{
	struct service *s = calloc(1, sizeof(*s));
	int r;

	if (!s) {
		service_config_free(cfg);
		return -ENOMEM;
	}
	s->host = host;
	s->cfg = cfg;
	s->pending_stop = LC_EV_COUNT;
	lifecycle_init(&s->lc,
		       &cfg->policy,
		       ((uint64_t)getpid() << 32) ^ clock_now(CLOCK_REALTIME) ^ (uintptr_t)s);
	s->probe_host = (struct probe_host){
		.event = host->event,
		.reaper = host->reaper,
		.service = cfg->name,
		.umask = -1,
		.nofile = host->child_nofile,
	};
	r = 0;
	if (host->notify_prefix &&
	    asprintf(&s->notify_path, "%s/%s", host->notify_prefix, cfg->name) < 0) {
		s->notify_path = NULL;
		r = -ENOMEM;
	}
	if (r >= 0)
		r = make_own_env(s, cfg, s->own_env);
	if (r >= 0)
		r = build_env(s, cfg, s->own_env, NULL, NULL, &s->envp);
	s->probe_host.envp = s->envp;
	if (r >= 0)
		r = probe_set_new(&s->probe_host, cfg->probes, on_probe_verdict, s, &s->probes);
	if (r >= 0 && host->logs) {
		r = service_logs_new(host->logs, cfg->name, &s->logs);
		if (r >= 0)
			service_logs_set_limits(
				s->logs, cfg->log_max_size, cfg->log_keep, cfg->log_buffer);
	}
	if (r >= 0)
		r = sd_event_add_time(
			host->event, &s->timer, CLOCK_MONOTONIC, USEC_INFINITY, 1, on_timer, s);
	if (r < 0) {
		service_free(s);
		return r;
	}
	(void)sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
	(void)sd_event_source_set_description(s->timer, cfg->name);
	s->since = clock_now(CLOCK_REALTIME);
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
	sd_event_source_disable_unref(s->drain_timer);
	free(s->drain_reason);
	service_logs_release(s->logs);
	probe_set_free(s->probes);
	notify_free(s->notify);
	free(s->notify_path);
	spawn_creds_clear(&s->creds);
	free(s->run_env);
	strv_free(s->run_file_env);
	free(s->status);
	free(s->envp); /* the strings belong to the host, the config and own_env */
	free_own_env(s->own_env);
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
	if (!service_has_processes(s)) {
		apply_next_config(s);
		return 0;
	}
	/* A run that is wanted restarts with the new definition. One on its way down
	 * (stopped on request, or waiting for its dependents to stop) is left to end:
	 * service_feed() applies the new definition once no process of it is left. */
	if (s->lc.want_up && s->pending_stop == LC_EV_COUNT)
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
		if (!service_is_ready(s->requires[i]) ||
			    s->requires[i] -> pending_stop != LC_EV_COUNT)
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

void service_take_held_definition(struct service *s)
{
	if (s->next_cfg && s->pending_stop == LC_EV_COUNT && s->lc.want_up &&
	    service_has_processes(s))
		service_feed(s, LC_EV_RESTART, "definition changed");
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
	return s->lc.ready && (s->lc.state == SERVICE_RUNNING || s->lc.state == SERVICE_EXITED);
}

const struct service_config *service_get_pending_config(const struct service *s)
{
	return s->next_cfg ? s->next_cfg : s->cfg;
}

bool service_has_processes(const struct service *s)
{
	return s->pid > 0 || s->drain_pgid > 0;
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

bool service_start_failed(const struct service *s)
{
	return s->start_failed;
}

const char *service_get_reason(const struct service *s)
{
	return s->reason;
}

const char *service_get_status_text(const struct service *s)
{
	return s->status;
}

int service_get_probe(const struct service *s, enum probe_role role, struct probe_info *ret)
{
	return probe_set_get_info(s->probes, role, ret);
}

enum probe_health service_get_health(const struct service *s)
{
	return probe_set_get_health(s->probes, PROBE_LIVENESS);
}

struct service_logs *service_get_logs(struct service *s)
{
	return s->logs;
}

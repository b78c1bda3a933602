/* manager.c: owns the sd_event loop, the services, signals, reaping, the
 * dependency rules between services, reload and shutdown. */
#include "manager.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "env.h"
#include "log.h"
#include "logs.h"
#include "macro.h"
#include "notify.h"
#include "reaper.h"
#include "service.h"
#include "signame.h"

extern char **environ;

/* While killing at shutdown-timeout, how often to look for new orphans. */
#define MANAGER_KILL_RESCAN (100 * MSEC)

struct manager {
	sd_event *event;
	struct reaper *reaper;
	struct vigil_config *config; /* globals; its services were moved into @services */
	char *config_path;
	char **main_argv;
	bool forward_signals; /* `--` without -c: tini's job */
	struct service_host host;
	char **base_env;  /* borrowed strings (build_base_env()) */
	char *socket_var; /* VIGIL_SOCKET=..., in base_env */

	struct service **services; /* the configuration's order */
	size_t n_services;
	struct service **removed; /* dropped by a reload, stopping; freed once down */
	size_t n_removed;
	struct service *main;

	sd_event_source *settle;    /* deferred: reacts to transitions */
	sd_event_source *forwarded; /* `--` mode: the signalfd of the signals main gets */
	sd_event_source *shutdown_timer;
	sd_event_source *kill_timer;
	bool shutting_down, killing, exiting;
	bool orphans_told; /* the shutdown sent SIGTERM to what the services left */
	bool main_ended, failed_shutdown;
	/* During a shutdown while main runs: which services need main (enum needs_main,
	 * by index in @services), worked out afresh at each settle. */
	unsigned char *needs_main;
	int exit_code;

	manager_event_fn *on_event;
	void *event_userdata;
	uint64_t changes; /* transitions, ready flags, reloads, the shutdown: a count */
	manager_reload_fn *on_reload;
	void *reload_userdata;

	char *notify_prefix;        /* the services' notify sockets (notify.h); NULL: none */
	struct rlimit child_nofile; /* RLIMIT_NOFILE as vigild got it, for children */
	bool nofile_raised;
	struct logs *logs;
};

/* Variables an outer systemd gave vigild that must not reach its children (notes §3). */
static const char *const private_vars[] = {
	"NOTIFY_SOCKET",
	"WATCHDOG_USEC",
	"WATCHDOG_PID",
	"LISTEN_FDS",
	"LISTEN_PID",
	"LISTEN_FDNAMES",
	"JOURNAL_STREAM",
};

/* vigild's environment without @private_vars, plus @socket_var (VIGIL_SOCKET=...,
 * or NULL) so that services can call vigilctl (an inherited VIGIL_SOCKET is
 * replaced). A name given twice keeps its last value, in its first place, so that
 * the result holds each name once and a service's environment can start as a copy
 * of it. The strings are not copied: they are environ's, which vigild never
 * changes, and @socket_var; free only the array. */
static int build_base_env(char *socket_var, char ***ret)
{
	CLEANUP_FREE char **env = calloc(1, sizeof(*env));
	size_t n = 0;
	int r;

	if (!env)
		return -ENOMEM;
	for (char **e = environ; *e; e++) {
		bool keep = true;

		for (size_t j = 0; j < ELEMENTSOF(private_vars) && keep; j++)
			keep = !env_has_key(*e, private_vars[j], strlen(private_vars[j]));
		if (keep && (r = env_put_ref(&env, &n, *e)) < 0)
			return r;
	}
	/* In an inherited VIGIL_SOCKET's place, if there is one. */
	if (socket_var && (r = env_put_ref(&env, &n, socket_var)) < 0)
		return r;
	*ret = TAKE_PTR(env);
	return 0;
}

static void mark_dirty(struct manager *m)
{
	(void)sd_event_source_set_enabled(m->settle, SD_EVENT_ONESHOT);
}

static void on_transition(struct service *s, enum service_state from, const char *reason,
			  void *userdata)
{
	struct manager *m = userdata;
	enum service_state to = service_get_state(s);

	m->changes++;
	/* Main ended: by itself, or stopped on request (`vigilctl stop main`). */
	if (s == m->main && (to == SERVICE_EXITED || to == SERVICE_FAILED || to == SERVICE_STOPPED))
		m->main_ended = true;
	if (to == SERVICE_FAILED && service_get_config(s)->on_failed == ON_FAILED_SHUTDOWN &&
	    !m->shutting_down) {
		log_error("%s: failed and has on-failed = shutdown: shutting down",
			  service_get_name(s));
		m->failed_shutdown = true;
	}
	if (m->on_event)
		m->on_event(s, from, reason, m->event_userdata);
	mark_dirty(m);
}

/* A ready flag changed without a transition: a waiting dependent may go on, and the
 * event stream says so (from = to, so `vigilctl wait` need not poll). */
static void on_ready(struct service *s, void *userdata)
{
	struct manager *m = userdata;

	m->changes++;
	if (m->on_event)
		m->on_event(s,
			    service_get_state(s),
			    service_is_ready(s) ? "ready" : "not ready",
			    m->event_userdata);
	mark_dirty(m);
}

/* Raises vigild's soft fd limit to the hard one (every service holds a notify socket,
 * probes hold connections) and remembers the original for children, as systemd does. */
static void raise_fd_limit(struct manager *m)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	m->child_nofile = rl;
	if (rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_debug("Failed to raise the fd limit, ignoring: %s", strerror(errno));
	else
		m->nofile_raised = true;
}

static void on_reaper_idle(void *userdata)
{
	struct manager *m = userdata;

	if (m->shutting_down)
		mark_dirty(m);
}

/* ---- dependencies ---- */

static bool requires(const struct service *d, const struct service *s)
{
	const struct service_config *c = service_get_config(d);

	for (size_t i = 0; i < c->n_requires; i++)
		if (STREQ(c->requires[i], service_get_name(s)))
			return true;
	return false;
}

/* The index of the service called @name in @services, or -1. */
static ssize_t find_index(const struct manager *m, const char *name)
{
	for (size_t i = 0; i < m->n_services; i++)
		if (STREQ(service_get_name(m->services[i]), name))
			return (ssize_t)i;
	return -1;
}

enum needs_main { NEEDS_MAIN_UNKNOWN, NEEDS_MAIN_VISITING, NEEDS_MAIN_YES, NEEDS_MAIN_NO };

static bool requires_main(struct manager *m, const struct service *s);

/* Whether the service at @i of @services requires main, remembered in @needs_main: each
 * service is looked at once, however many paths lead to it. A cycle (a reload's old
 * and new definitions, for a while) counts as not needing main. */
static bool needs_main_at(struct manager *m, size_t i)
{
	if (m->needs_main[i] != NEEDS_MAIN_UNKNOWN)
		return m->needs_main[i] == NEEDS_MAIN_YES;
	m->needs_main[i] = NEEDS_MAIN_VISITING;
	m->needs_main[i] = requires_main(m, m->services[i]) ? NEEDS_MAIN_YES : NEEDS_MAIN_NO;
	return m->needs_main[i] == NEEDS_MAIN_YES;
}

/* True when @s requires main, directly or through its requirements, as the
 * definitions that run now say. */
static bool requires_main(struct manager *m, const struct service *s)
{
	const struct service_config *c = service_get_config(s);

	for (size_t k = 0; k < c->n_requires; k++) {
		ssize_t j = find_index(m, c->requires[k]);

		if (j >= 0 && (m->services[j] == m->main || needs_main_at(m, (size_t)j)))
			return true;
	}
	return false;
}

/* The services that run now, then the removed ones still on their way down: @i
 * below n_services + n_removed. */
static struct service *any_service(const struct manager *m, size_t i)
{
	return i < m->n_services ? m->services[i] : m->removed[i - m->n_services];
}

/* True while a service that must go down before @s still has a process: its
 * dependents, and in `--` mode main, which goes first but for the services that
 * need it (a sidecar that requires main goes before it). */
static bool dependents_up(struct manager *m, const struct service *s)
{
	if (m->main && s != m->main && m->shutting_down && service_has_processes(m->main) &&
	    !(m->needs_main && requires_main(m, s)))
		return true;
	for (size_t i = 0; i < m->n_services + m->n_removed; i++) {
		struct service *d = any_service(m, i);

		if (d != s && service_has_processes(d) && requires(d, s))
			return true;
	}
	return false;
}

/* Marks @s to be stopped with @ev once its dependents are down, and its dependents,
 * recursively, with @dependents_ev: to lose it (DEPS_LOST) or to stop as well. A service to be
 * stopped is unwanted from now on (@reason says why): one without a process stops at
 * once, and a process that dies while the stop waits is not restarted. */
static void mark_pending_stop(struct manager *m, struct service *s, enum lc_event ev,
			      enum lc_event dependents_ev, const char *reason)
{
	if (service_get_pending_stop(s) == LC_EV_STOP)
		return;
	service_set_pending_stop(s, ev);
	if (ev == LC_EV_STOP)
		service_feed(s, LC_EV_UNWANTED, reason);
	for (size_t i = 0; i < m->n_services + m->n_removed; i++) {
		struct service *d = any_service(m, i);

		if (d != s && requires(d, s) && service_get_pending_stop(d) == LC_EV_COUNT)
			mark_pending_stop(m, d, dependents_ev, dependents_ev, reason);
	}
}

/* Links each service to what its next run requires: the definition a reload gave a
 * running service applies when its run ends, and its new run waits for what that
 * definition requires (service_deps_ready()). */
static int link_requires(struct manager *m)
{
	for (size_t i = 0; i < m->n_services; i++) {
		const struct service_config *c = service_get_pending_config(m->services[i]);
		CLEANUP_FREE struct service **req = calloc(c->n_requires + 1, sizeof(*req));
		size_t n = 0;
		int r;

		if (!req)
			return -ENOMEM;
		for (size_t k = 0; k < c->n_requires; k++) {
			struct service *t = manager_find(m, c->requires[k]);
			if (t)
				req[n++] = t;
		}
		r = service_set_requires(m->services[i], req, n);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- shutdown ---- */

/* vigild's pid as /proc numbers it: /proc may belong to an outer pid namespace (a
 * container that kept the host's), where getpid() names somebody else. */
static long pid_in_proc(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);

	if (n <= 0)
		return getpid();
	buf[n] = '\0';
	return atol(buf);
}

/* Sends @sig to every child of vigild that is not a service's (orphans that were
 * reparented here); as PID 1, to every process of the namespace. A child is found
 * in /proc and signalled through its /proc directory (pidfd_send_signal), never by
 * a number that may mean another process in vigild's namespace. Returns how many
 * were signalled (as PID 1: 1 for any). */
static unsigned signal_orphans(int sig)
{
	unsigned signalled = 0;
	long self;
	DIR *d;
	struct dirent *de;

	if (getpid() == 1)
		return kill(-1, sig) == 0;
	self = pid_in_proc();
	d = opendir("/proc");
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char buf[512], *p;
		int dfd, fd;
		ssize_t n;
		long ppid = 0;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		dfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			continue;
		fd = openat(dfd, "stat", O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		buf[n > 0 ? n : 0] = '\0';
		/* After the command name: " S PPID ..." */
		p = strrchr(buf, ')');
		if (!p || sscanf(p + 1, " %*c %ld", &ppid) != 1 || ppid != self) {
			close(dfd);
			continue;
		}
		/* Before Linux 5.1 by number, and only where /proc's numbers are vigild's:
		 * an unreaped child's pid cannot have been reused. */
		if (syscall(SYS_pidfd_send_signal, dfd, sig, NULL, 0) == 0)
			signalled++;
		else if (errno == ENOSYS && self == getpid() &&
			 kill((pid_t)atol(de->d_name), sig) == 0)
			signalled++;
		close(dfd);
	}
	closedir(d);
	return signalled;
}

static int on_kill_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	(void)userdata;
	(void)signal_orphans(SIGKILL);
	(void)sd_event_source_set_time(src, usec + MANAGER_KILL_RESCAN);
	(void)sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	return 0;
}

static int on_shutdown_timeout(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;

	(void)src;
	log_warning("Shutdown timeout reached: killing what is left");
	m->killing = true;
	for (size_t i = 0; i < m->n_services; i++)
		(void)service_signal(m->services[i], SIGKILL);
	on_kill_timer(m->kill_timer, usec, m);
	return 0;
}

void manager_shutdown(struct manager *m, int exit_code)
{
	uint64_t now = 0;

	if (m->shutting_down)
		return;
	m->changes++;
	log_info("Shutting down");
	m->shutting_down = true;
	m->exit_code = exit_code;
	(void)sd_event_now(m->event, CLOCK_MONOTONIC, &now);
	(void)sd_event_source_set_time(m->shutdown_timer, now + m->config->shutdown_timeout);
	(void)sd_event_source_set_enabled(m->shutdown_timer, SD_EVENT_ONESHOT);
	/* Each is stopped in dependency order, and unwanted from now on (the removed ones
	 * since their removal): nothing starts again, not even a service that exits while
	 * it waits for its dependents to stop. */
	for (size_t i = 0; i < m->n_services; i++)
		mark_pending_stop(m, m->services[i], LC_EV_STOP, LC_EV_STOP, "shutdown");
	mark_dirty(m);
}

bool manager_is_shutting_down(const struct manager *m)
{
	return m->shutting_down;
}

bool manager_shutdown_decided(const struct manager *m)
{
	return m->shutting_down || m->failed_shutdown || m->main_ended;
}

static int main_status(const struct manager *m)
{
	struct service_exit e = service_get_exit(m->main);

	if (!e.known)
		return MANAGER_EXIT_STARTUP;
	return e.signal ? 128 + e.signal : e.code;
}

/* ---- settling: the manager's reaction to transitions, once per loop iteration ---- */

/* Feeds the pending stops whose dependents are down. Returns true when a service of
 * @list still has a process. */
static bool feed_pending_stops(struct manager *m, struct service *const *list, size_t n,
			       bool removed)
{
	bool any_up = false;

	for (size_t i = 0; i < n; i++) {
		struct service *s = list[i];
		enum lc_event ev = service_get_pending_stop(s);

		if (ev != LC_EV_COUNT && !dependents_up(m, s)) {
			/* A service that lost a requirement waits for it again, and one
			 * restarted comes back; one stopped for good keeps its mark, so it
			 * does not count as ready. */
			if (ev == LC_EV_DEPS_LOST || ev == LC_EV_RESTART)
				service_set_pending_stop(s, LC_EV_COUNT);
			service_feed(s,
				     ev,
				     m->shutting_down      ? "shutdown"
				     : removed             ? "removed from the configuration"
				     : ev == LC_EV_STOP    ? "stop requested"
				     : ev == LC_EV_RESTART ? "restart requested"
							   : "a required service is stopping");
			if (ev == LC_EV_STOP && !service_has_processes(s))
				service_set_pending_stop(s, LC_EV_COUNT);
		}
		any_up |= service_has_processes(s);
	}
	return any_up;
}

static int on_settle(sd_event_source *src, void *userdata)
{
	struct manager *m = userdata;
	bool any_up;

	(void)src;
	if (m->main_ended && !m->shutting_down)
		manager_shutdown(m, MANAGER_EXIT_OK);
	if (m->failed_shutdown && !m->shutting_down)
		manager_shutdown(m, MANAGER_EXIT_SERVICE_FAILED);

	/* Worked out afresh: definitions change at reloads and at the end of runs. */
	m->needs_main = mfree(m->needs_main);
	if (m->main && m->shutting_down && service_has_processes(m->main))
		m->needs_main = calloc(m->n_services, 1);
	any_up = feed_pending_stops(m, m->services, m->n_services, false);
	any_up |= feed_pending_stops(m, m->removed, m->n_removed, true);
	for (size_t i = m->n_removed; i-- > 0;)
		if (!service_has_processes(m->removed[i])) {
			/* Its last word is `stopped`, also when its run ended, or it was
			 * waiting, while its dependents were still stopping. */
			if (service_get_state(m->removed[i]) != SERVICE_STOPPED)
				service_feed(m->removed[i],
					     LC_EV_STOP,
					     "removed from the configuration");
			log_info("%s: removed", service_get_name(m->removed[i]));
			service_free(m->removed[i]);
			m->removed[i] = m->removed[--m->n_removed];
		}
	if (!m->shutting_down)
		for (size_t i = 0; i < m->n_services; i++)
			if (service_get_state(m->services[i]) == SERVICE_WAITING)
				service_feed(
					m->services[i], LC_EV_DEPS_READY, "requirements ready");

	if (!m->shutting_down || any_up || m->exiting)
		return 0;
	if (reaper_reap(m->reaper)) {
		/* Every service is down, and what they left behind is still there: it
		 * gets the chance to end cleanly before SIGKILL at shutdown-timeout. */
		if (!m->orphans_told && signal_orphans(SIGTERM) > 0)
			log_warning("Processes the services left behind remain: SIGTERM sent, "
				    "SIGKILL at shutdown-timeout");
		m->orphans_told = true;
	} else {
		/* Every service is down and no descendant is left (SPEC §2). */
		int code = m->main && !m->failed_shutdown ? main_status(m) : m->exit_code;

		m->exiting = true;
		log_info("Shutdown complete");
		(void)sd_event_exit(m->event, code);
	}
	return 0;
}

/* ---- requests ---- */

/* Whether a start has something to do for @s: it is not wanted, or it is down and
 * only a start brings it back (failed, or exited without being ready). A backoff
 * ends by itself, but the service a request names (@named) starts at once all the
 * same, and a named oneshot that has done its job runs again. */
static bool start_needed(const struct service *s, bool named)
{
	if (!service_is_wanted(s))
		return true;
	switch (service_get_state(s)) {
	case SERVICE_FAILED:
		return true;
	case SERVICE_EXITED:
		return named || !service_is_ready(s);
	case SERVICE_BACKOFF:
		return named;
	default:
		return false;
	}
}

static bool start_at(struct manager *m, struct service *s, const char *reason, bool named,
		     bool boot, unsigned depth);

/* Starts what the next run of @s requires and needs a start; as autostart does it
 * (@boot), only what nobody started yet: an autostart requirement whose own start
 * failed stays failed. @depth bounds the walk, should the definitions form a cycle.
 * Returns whether anything changed. */
static bool start_requirements(struct manager *m, const struct service *s, bool boot,
			       unsigned depth)
{
	const struct service_config *c = service_get_pending_config(s);
	bool changed = false;

	if (depth > m->n_services)
		return false;
	for (size_t k = 0; k < c->n_requires; k++) {
		struct service *r = manager_find(m, c->requires[k]);
		enum lc_event pending;

		if (!r)
			continue;
		pending = service_get_pending_stop(r);
		/* A requirement on its way to a restart is coming back: left to it. */
		if (boot ? !service_is_wanted(r)
			 : start_needed(r, false) ||
				    (pending != LC_EV_COUNT && pending != LC_EV_RESTART))
			changed |= start_at(
				m, r, "required by a started service", false, boot, depth + 1);
	}
	return changed;
}

/* Whether a service @s requires is marked to stop, a removed one included. */
static bool requirement_stopping(struct manager *m, const struct service *s)
{
	for (size_t i = 0; i < m->n_services + m->n_removed; i++) {
		struct service *r = any_service(m, i);

		if (requires(s, r) && service_get_pending_stop(r) != LC_EV_COUNT)
			return true;
	}
	return false;
}

/* A stop of @s called off: its dependents marked to lose it and not stopped yet keep
 * running, and theirs, unless another of their requirements still goes down. Those
 * already stopping come back once it is up again. @depth bounds the walk as in
 * start_requirements(). */
static void call_off_lost(struct manager *m, const struct service *s, unsigned depth)
{
	if (depth > m->n_services)
		return;
	for (size_t i = 0; i < m->n_services; i++) {
		struct service *d = m->services[i];

		if (d == s || !requires(d, s) || service_get_pending_stop(d) != LC_EV_DEPS_LOST ||
		    requirement_stopping(m, d))
			continue;
		service_set_pending_stop(d, LC_EV_COUNT);
		service_take_held_definition(d);
		call_off_lost(m, d, depth + 1);
	}
}

/* Starts @s and, first, what it requires. Returns whether anything changed (a start,
 * or a pending stop called off). */
static bool start_at(struct manager *m, struct service *s, const char *reason, bool named,
		     bool boot, unsigned depth)
{
	enum lc_event pending = service_get_pending_stop(s);
	bool called_off = false, changed;

	/* A stop of its own is called off; a restart of its own goes on. */
	if (pending == LC_EV_STOP) {
		service_set_pending_stop(s, LC_EV_COUNT);
		called_off = true;
	}
	changed = start_requirements(m, s, boot, depth);
	/* Losing a requirement is called off once none is stopping any more; one that
	 * restarts still takes it down, and it comes back after. */
	if (pending == LC_EV_DEPS_LOST && !requirement_stopping(m, s)) {
		service_set_pending_stop(s, LC_EV_COUNT);
		called_off = true;
	}
	changed |= called_off;
	if (changed && !requirement_stopping(m, s))
		call_off_lost(m, s, 0);
	if (start_needed(s, named)) {
		service_feed(s, LC_EV_START, reason);
		changed = true;
	}
	if (called_off)
		service_take_held_definition(s);
	return changed;
}

static bool start_with_requirements(struct manager *m, struct service *s, const char *reason,
				    bool named)
{
	return start_at(m, s, reason, named, false, 0);
}

/* Autostart, at start-up or (@only: their names) for the services a reload added:
 * each starts, then what they require that nobody started; not they themselves
 * again, as one that could not start is failed by now. It stops as soon as a
 * shutdown is decided (main ended, or a service with on-failed = shutdown could not
 * start): the shutdown itself begins once the loop settles, and nothing may start
 * in between. */
static void autostart(struct manager *m, char *const *only, const char *reason)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < m->n_services; i++) {
			struct service *s = m->services[i];

			if (manager_shutdown_decided(m))
				return;
			if (!service_get_config(s)->autostart ||
			    (only && !strv_contains(only, service_get_name(s))))
				continue;
			if (pass == 0)
				service_feed(s, LC_EV_START, reason);
			else
				(void)start_requirements(m, s, true, 0);
		}
}

static bool is_up(const struct service *s)
{
	enum service_state st = service_get_state(s);

	return st == SERVICE_STARTING || st == SERVICE_RUNNING;
}

int manager_start_service(struct manager *m, struct service *s)
{
	bool settled = service_is_wanted(s) && service_get_pending_stop(s) == LC_EV_COUNT;

	if (m->shutting_down)
		return -ESHUTDOWN;
	/* Up and meant to stay so: nothing to do, whatever its requirements do. */
	if (settled && is_up(s))
		return -EALREADY;
	/* Waiting: only a requirement nobody starts is left to start. */
	if (!start_with_requirements(m, s, "start requested", true) &&
	    service_get_state(s) == SERVICE_WAITING)
		return -EALREADY;
	mark_dirty(m);
	return 0;
}

int manager_stop_service(struct manager *m, struct service *s)
{
	enum service_state st = service_get_state(s);

	if (m->shutting_down)
		return -ESHUTDOWN;
	if (st == SERVICE_STOPPED || (!service_is_wanted(s) && st == SERVICE_STOPPING))
		return -EALREADY;
	mark_pending_stop(m, s, LC_EV_STOP, LC_EV_DEPS_LOST, "stop requested");
	mark_dirty(m);
	return 0;
}

int manager_restart_service(struct manager *m, struct service *s)
{
	enum lc_event pending = service_get_pending_stop(s);
	bool up = is_up(s);

	if (m->shutting_down)
		return -ESHUTDOWN;
	/* Already going down to come back (a requirement of it restarts, or its own
	 * restart waits for its dependents): that is the restart. */
	if (up && (pending == LC_EV_DEPS_LOST || pending == LC_EV_RESTART))
		return 0;
	/* A service that was down is started, and that is the restart: a restart
	 * event on top would stop the run just begun. */
	(void)start_with_requirements(m, s, "restart requested", true);
	/* A stop, as `stop` does it: what requires the service goes down first and
	 * comes back once it is ready again. */
	if (up)
		mark_pending_stop(m, s, LC_EV_RESTART, LC_EV_DEPS_LOST, "restart requested");
	mark_dirty(m);
	return 0;
}

/* ---- signals ---- */

/* tini's job, in `--` mode without a configuration: pass every signal to main's
 * process group; TERM and INT also start the shutdown, which stops main with that
 * very signal. Once the shutdown has begun they are passed on like any other (a
 * second Ctrl-C, or INT after TERM for a quick stop, must reach main). */
static void forward_signal(struct manager *m, int sig)
{
	if ((sig == SIGTERM || sig == SIGINT) && !m->shutting_down) {
		if (m->main)
			service_set_stop_signal(m->main, sig);
		manager_shutdown(m, MANAGER_EXIT_OK);
	} else if (m->main)
		(void)service_signal(m->main, sig);
}

static int on_signal(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
	struct manager *m = userdata;

	(void)src;
	switch ((int)si->ssi_signo) {
	case SIGTERM:
	case SIGINT:
		manager_shutdown(m, MANAGER_EXIT_OK);
		break;
	case SIGHUP: {
		struct config_errors errors = {0};
		struct reload_result res = {0};
		int r;

		if (m->shutting_down) {
			log_warning("Ignoring SIGHUP: shutting down");
			break;
		}
		log_info("Reloading the configuration (SIGHUP)");
		r = manager_reload(m, &errors, &res);
		if (r < 0) {
			for (size_t i = 0; i < errors.n; i++)
				log_error("%s", errors.lines[i]);
			log_error("Reload failed: nothing changed");
		}
		config_errors_clear(&errors);
		reload_result_clear(&res);
		break;
	}
	case SIGUSR1:
		log_info("Reopening log files");
		logs_reopen(m->logs);
		break;
	default:
		break;
	}
	return 0;
}

static int on_forwarded(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct signalfd_siginfo si[16];
	ssize_t n;

	(void)src;
	(void)revents;
	while ((n = read(fd, si, sizeof(si))) > 0)
		for (size_t i = 0; i < (size_t)n / sizeof(si[0]); i++)
			forward_signal(userdata, (int)si[i].ssi_signo);
	return 0;
}

/* The signals vigild takes through its loop; they must be blocked (vigild.c). */
static int add_signal_sources(struct manager *m)
{
	static const int handled[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
	int r;

	if (m->forward_signals) {
		sigset_t ss;
		int fd;

		/* Every catchable signal but SIGCHLD (the reaper's), through one signalfd:
		 * sixty sd-event signal sources would cost some 150 system calls at every
		 * start and stop. The fault signals (SEGV, BUS, ILL, FPE, ABRT, TRAP, SYS)
		 * are blocked only here, where `kill -BUS` must reach main as tini's users
		 * expect of any signal: a fault of vigild's own still ends it with a core
		 * dump, as the kernel delivers a fault's signal through a block, with its
		 * default action. Under AddressSanitizer SEGV, BUS, ILL and FPE stay
		 * unblocked: its handler must see vigild's faults to report them. */
		sigemptyset(&ss);
		for (int sig = 1; sig <= SIGRTMAX; sig++) {
			/* 32 and 33 are the C library's own, below SIGRTMIN. */
			if ((sig >= 32 && sig < SIGRTMIN) || sig == SIGCHLD || sig == SIGKILL ||
			    sig == SIGSTOP)
				continue;
			if (VIGIL_ASAN &&
			    (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE))
				continue;
			sigaddset(&ss, sig);
		}
		(void)sigprocmask(SIG_BLOCK, &ss, NULL);
		fd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
		if (fd < 0)
			return log_error_errno(-errno, "Failed to watch the signals to forward");
		r = sd_event_add_io(m->event, &m->forwarded, fd, EPOLLIN, on_forwarded, m);
		if (r < 0) {
			close(fd);
			return log_error_errno(r, "Failed to watch the signals to forward");
		}
		(void)sd_event_source_set_io_fd_own(m->forwarded, true);
		(void)sd_event_source_set_priority(m->forwarded, SD_EVENT_PRIORITY_IMPORTANT);
		(void)sd_event_source_set_description(m->forwarded, "forwarded-signals");
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(handled); i++) {
		r = sd_event_add_signal(m->event, NULL, handled[i], on_signal, m);
		if (r < 0)
			return log_error_errno(
				r, "Failed to watch SIG%s", signame_to_string(handled[i]));
	}
	return 0;
}

/* ---- services ---- */

/* log-forward = auto forwards when vigild is a container's init: PID 1 or `--`. */
static bool forward_wanted(const struct manager *m, const struct vigil_config *c)
{
	return c->log_forward == LOG_FORWARD_YES ||
	       (c->log_forward == LOG_FORWARD_AUTO && (getpid() == 1 || m->main_argv));
}

static int add_service(struct manager *m, struct service_config *cfg)
{
	struct service **n = realloc(m->services, (m->n_services + 1) * sizeof(*n));
	struct service *s;
	int r;

	if (!n) {
		service_config_free(cfg);
		return -ENOMEM;
	}
	m->services = n;
	r = service_new(&m->host, cfg, &s);
	if (r < 0)
		return r;
	m->services[m->n_services++] = s;
	if (service_get_config(s)->main)
		m->main = s;
	return 0;
}

int manager_new(const struct manager_options *o, struct vigil_config *config, struct manager **ret)
{
	struct manager *m = calloc(1, sizeof(*m));
	int r;

	if (!m) {
		config_free(config);
		return -ENOMEM;
	}
	m->config = config;
	m->forward_signals = o->main_argv && !o->config_path;
	if (o->config_path && !(m->config_path = strdup(o->config_path))) {
		manager_free(m);
		return -ENOMEM;
	}
	if (o->main_argv) {
		size_t n = 0;
		while (o->main_argv[n])
			n++;
		m->main_argv = calloc(n + 1, sizeof(char *));
		if (!m->main_argv) {
			manager_free(m);
			return -ENOMEM;
		}
		for (size_t i = 0; i < n; i++)
			if (!(m->main_argv[i] = strdup(o->main_argv[i]))) {
				manager_free(m);
				return -ENOMEM;
			}
	}
	r = sd_event_new(&m->event);
	if (r < 0)
		goto fail;
	if (o->socket_path && asprintf(&m->socket_var, "VIGIL_SOCKET=%s", o->socket_path) < 0) {
		m->socket_var = NULL;
		r = -ENOMEM;
		goto fail;
	}
	r = build_base_env(m->socket_var, &m->base_env);
	if (r < 0)
		goto fail;
	/* Not PID 1: orphans of services are reparented here and reaped (SPEC §2). */
	if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		log_warning_errno(-errno, "Failed to become a subreaper, ignoring");
	r = reaper_new(m->event, on_reaper_idle, m, &m->reaper);
	if (r < 0)
		goto fail;
	r = add_signal_sources(m);
	if (r < 0)
		goto fail;
	r = sd_event_add_defer(m->event, &m->settle, on_settle, m);
	if (r < 0)
		goto fail;
	(void)sd_event_source_set_enabled(m->settle, SD_EVENT_OFF);
	(void)sd_event_source_set_description(m->settle, "settle");
	r = sd_event_add_time(m->event,
			      &m->shutdown_timer,
			      CLOCK_MONOTONIC,
			      USEC_INFINITY,
			      1,
			      on_shutdown_timeout,
			      m);
	if (r < 0)
		goto fail;
	(void)sd_event_source_set_enabled(m->shutdown_timer, SD_EVENT_OFF);
	r = sd_event_add_time(
		m->event, &m->kill_timer, CLOCK_MONOTONIC, USEC_INFINITY, 1000, on_kill_timer, m);
	if (r < 0)
		goto fail;
	(void)sd_event_source_set_enabled(m->kill_timer, SD_EVENT_OFF);
	raise_fd_limit(m);
	r = notify_prefix_new(&m->notify_prefix);
	if (r < 0)
		log_warning_errno(
			r, "Failed to name the notify sockets, services get no NOTIFY_SOCKET");
	r = logs_new(m->event, &m->logs);
	if (r < 0)
		goto fail;
	(void)logs_configure(m->logs, config->log_dir, forward_wanted(m, config));

	m->host = (struct service_host){
		.event = m->event,
		.reaper = m->reaper,
		.base_env = m->base_env,
		.stdout_fd = STDOUT_FILENO,
		.stderr_fd = STDERR_FILENO,
		.logs = m->logs,
		.on_transition = on_transition,
		.userdata = m,
		.notify_prefix = m->notify_prefix,
		.on_ready = on_ready,
		.child_nofile = m->nofile_raised ? &m->child_nofile : NULL,
	};
	for (size_t i = 0; i < config->n_services; i++) {
		r = add_service(m, TAKE_PTR(config->services[i]));
		if (r < 0)
			goto fail;
	}
	config->n_services = 0;
	r = link_requires(m);
	if (r < 0)
		goto fail;
	*ret = m;
	return 0;
fail:
	log_error_errno(r, "Failed to set up the supervisor");
	manager_free(m);
	return r;
}

struct manager *manager_free(struct manager *m)
{
	if (!m)
		return NULL;
	for (size_t i = 0; i < m->n_services; i++)
		service_free(m->services[i]);
	free(m->services);
	for (size_t i = 0; i < m->n_removed; i++)
		service_free(m->removed[i]);
	free(m->removed);
	free(m->notify_prefix);
	logs_free(m->logs);
	sd_event_source_disable_unref(m->settle);
	sd_event_source_disable_unref(m->forwarded);
	sd_event_source_disable_unref(m->shutdown_timer);
	sd_event_source_disable_unref(m->kill_timer);
	reaper_free(m->reaper);
	sd_event_unref(m->event);
	config_free(m->config);
	free(m->config_path);
	free(m->needs_main);
	strv_free(m->main_argv);
	free(m->base_env);
	free(m->socket_var);
	free(m);
	return NULL;
}

int manager_run(struct manager *m)
{
	int r;

	autostart(m, NULL, "autostart");
	/* A child that exited before SIGCHLD was blocked raised nothing to see. */
	(void)reaper_reap(m->reaper);
	/* Parsing left freed memory in the heap (libconfuse allocates a copy of the
	 * option table per section): give it back before settling in for the long run.
	 * Without a file (`--` mode) there is nothing to give back. */
	if (m->config_path)
		malloc_trim(0);
	r = sd_event_loop(m->event);
	/* What services wrote just before the end may still be in their pipes. */
	logs_drain(m->logs);
	if (r < 0) {
		log_error_errno(r, "Event loop failed");
		return MANAGER_EXIT_STARTUP;
	}
	return r;
}

sd_event *manager_get_event(struct manager *m)
{
	return m->event;
}

const struct vigil_config *manager_get_config(const struct manager *m)
{
	return m->config;
}

size_t manager_get_services(const struct manager *m, struct service *const **ret)
{
	*ret = m->services;
	return m->n_services;
}

struct service *manager_find(const struct manager *m, const char *name)
{
	ssize_t i = find_index(m, name);

	return i < 0 ? NULL : m->services[i];
}

void manager_set_event_listener(struct manager *m, manager_event_fn *fn, void *userdata)
{
	m->on_event = fn;
	m->event_userdata = userdata;
}

void manager_set_reload_hook(struct manager *m, manager_reload_fn *fn, void *userdata)
{
	m->on_reload = fn;
	m->reload_userdata = userdata;
}

uint64_t manager_get_changes(const struct manager *m)
{
	return m->changes;
}

/* ---- reload ---- */

void reload_result_clear(struct reload_result *r)
{
	strv_free(r->added);
	strv_free(r->removed);
	strv_free(r->changed);
	*r = (struct reload_result){0};
}

/* Takes service @name out of the removed ones, or returns NULL. Their order is kept:
 * the ones a reload removes are at the end. */
static struct service *take_back_removed(struct manager *m, const char *name)
{
	for (size_t i = 0; i < m->n_removed; i++) {
		struct service *s = m->removed[i];

		if (STREQ(service_get_name(s), name)) {
			memmove(&m->removed[i],
				&m->removed[i + 1],
				(m->n_removed - i - 1) * sizeof(*m->removed));
			m->n_removed--;
			return s;
		}
	}
	return NULL;
}

/* Sorts the new configuration's services into @ret without changing anything. */
static int diff_services(const struct manager *m, const struct vigil_config *nc,
			 struct reload_result *ret)
{
	int r = 0;

	*ret = (struct reload_result){
		.added = calloc(1, sizeof(char *)),
		.removed = calloc(1, sizeof(char *)),
		.changed = calloc(1, sizeof(char *)),
	};
	if (!ret->added || !ret->removed || !ret->changed)
		return -ENOMEM;
	for (size_t i = 0; i < nc->n_services && r >= 0; i++) {
		struct service *s = manager_find(m, nc->services[i]->name);

		if (!s)
			r = strv_push(&ret->added, nc->services[i]->name);
		else if (!service_config_equal(service_get_pending_config(s), nc->services[i]))
			r = strv_push(&ret->changed, nc->services[i]->name);
		else
			ret->unchanged++;
	}
	for (size_t i = 0; i < m->n_services && r >= 0; i++)
		if (config_find_service(nc, service_get_name(m->services[i])) < 0)
			r = strv_push(&ret->removed, service_get_name(m->services[i]));
	return r;
}

int manager_reload(struct manager *m, struct config_errors *errors, struct reload_result *ret)
{
	struct vigil_config *nc = NULL;
	struct service **list = NULL, **removed;
	/* The services whose definition changed: whether each starts now, and whether
	 * its new definition runs (a start, a restart, or a wait for requirements).
	 * They start, and what they require starts, once the requirements are linked. */
	struct changed {
		struct service *s;
		bool start, runs;
	} *changed = NULL;
	size_t n_removed = 0, n_changed = 0;
	int r;

	/* Shutting down, nothing may start again: every caller (SIGHUP, the API) is
	 * refused here. */
	if (m->shutting_down)
		return -ESHUTDOWN;
	if (m->on_reload)
		m->on_reload(m->reload_userdata);
	r = config_load(m->config_path, m->main_argv, errors, &nc);
	if (r == -ENOMEM)
		config_errors_add(errors, "out of memory");
	if (r < 0)
		return -EINVAL;
	r = diff_services(m, nc, ret);
	list = calloc(nc->n_services + 1, sizeof(*list));
	changed = calloc(nc->n_services + 1, sizeof(*changed));
	removed = realloc(m->removed, (m->n_removed + m->n_services + 1) * sizeof(*removed));
	if (r < 0 || !list || !changed || !removed) {
		free(list);
		free(changed);
		if (removed)
			m->removed = removed;
		config_free(nc);
		reload_result_clear(ret);
		config_errors_add(errors, "out of memory");
		return -EINVAL;
	}
	m->removed = removed;

	/* From here on nothing fails but an allocation for a new service. */
	m->changes++;
	for (size_t i = 0; i < m->n_services; i++)
		if (config_find_service(nc, service_get_name(m->services[i])) < 0) {
			/* Its requirements may go too and be freed first: a removed service
			 * only stops, by names (dependents_up()), and needs no links. */
			(void)service_set_requires(m->services[i], NULL, 0);
			m->removed[m->n_removed++] = m->services[i];
			n_removed++;
		}
	for (size_t i = 0; i < nc->n_services; i++) {
		struct service_config *sc = TAKE_PTR(nc->services[i]);
		struct service *s = manager_find(m, sc->name);

		/* Removed by an earlier reload and still on its way down: the same service
		 * again (its run ends, then it starts if it is autostart), not a second
		 * one beside it on the same notify socket. */
		if (!s && (s = take_back_removed(m, sc->name))) {
			service_set_pending_stop(s, LC_EV_COUNT);
			/* Still up, its stop waiting for dependents: wanted again, as before
			 * the removal made it unwanted. */
			if (is_up(s))
				service_feed(s, LC_EV_START, "put back in the configuration");
		}
		if (!s) {
			r = service_new(&m->host, sc, &s);
			if (r < 0) {
				log_error_errno(r, "Failed to add a service");
				continue;
			}
		} else if (service_config_equal(service_get_pending_config(s), sc)) {
			/* Compared with the definition the next run takes: a change that
			 * waits for the current run to end, and is then undone, is a change
			 * again. */
			service_config_free(sc);
		} else {
			bool was_autostart = service_get_pending_config(s)->autostart;
			enum service_state st = service_get_state(s);
			bool runs = service_is_wanted(s) &&
				    service_get_pending_stop(s) == LC_EV_COUNT &&
				    (service_has_processes(s) || st == SERVICE_WAITING);

			r = service_reconfigure(s, sc);
			/* With no process: a backoff ends now, with the new definition, and
			 * a service that became autostart starts as at start-up; one
			 * stopped, exited or failed keeps its state until started. */
			changed[n_changed].s = s;
			changed[n_changed].runs = r >= 0 && runs;
			changed[n_changed++].start = r >= 0 && !service_has_processes(s) &&
						     (st == SERVICE_BACKOFF ||
						      (st == SERVICE_STOPPED && !was_autostart &&
						       service_get_config(s)->autostart));
		}
		list[i] = s;
	}
	/* Drop the holes left by services that could not be created. */
	{
		size_t k = 0;
		for (size_t i = 0; i < nc->n_services; i++)
			if (list[i])
				list[k++] = list[i];
		free(m->services);
		m->services = list;
		m->n_services = k;
	}
	nc->n_services = 0;
	if (!str_eq(m->config->control_socket, nc->control_socket) ||
	    !str_eq(m->config->http_listen, nc->http_listen))
		log_warning("control-socket and http-listen take effect when vigild restarts");
	config_free(m->config);
	m->config = nc;
	(void)link_requires(m);
	(void)logs_configure(m->logs, nc->log_dir, forward_wanted(m, nc));
	/* A changed service whose new definition runs first starts what that
	 * definition requires, as any start does; one that stays down (stopped,
	 * exited, failed) leaves them to its next start. */
	for (size_t i = 0; i < n_changed; i++) {
		struct service *s = changed[i].s;

		if (changed[i].start || changed[i].runs)
			(void)start_requirements(m, s, false, 0);
		if (changed[i].start)
			service_feed(s, LC_EV_START, "definition changed");
	}
	free(changed);

	for (size_t i = m->n_removed - n_removed; i < m->n_removed; i++)
		/* Dependents removed too get their own STOP here; one that stays (its new
		 * definition no longer requires it) only loses it, and starts again. */
		mark_pending_stop(m,
				  m->removed[i],
				  LC_EV_STOP,
				  LC_EV_DEPS_LOST,
				  "removed from the configuration");
	autostart(m, ret->added, "added");
	mark_dirty(m);
	log_info("Reloaded: %zu added, %zu removed, %zu changed, %zu unchanged",
		 strv_length(ret->added),
		 strv_length(ret->removed),
		 strv_length(ret->changed),
		 ret->unchanged);
	return 0;
}

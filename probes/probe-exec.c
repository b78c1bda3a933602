/* probe-exec.c: the exec probe: runs a command as the service's processes run (same
 * user, directory, environment and process set-up); exit code 0 passes. The child is
 * reaped by vigild's one SIGCHLD reaper; a check cancelled or out of time kills its
 * process group, and so does a check's end, for what its command left behind. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "env.h"
#include "macro.h"
#include "probe.h"
#include "reaper.h"
#include "signame.h"
#include "spawn.h"

/* How much of the command's output the message keeps. */
#define EXEC_OUTPUT_MAX 160

struct exec_priv {
	struct probe *probe;
	struct reaper_watch watch;
	pid_t pid;           /* the child, until reaped; 0: none */
	bool wanted;         /* the check in flight still waits for this child */
	bool deferred;       /* the next check waits until the killed child is reaped */
	int out_fd;          /* read end of the child's stdout and stderr, or -1 */
	sd_event_source *io; /* one source, moved from pipe to pipe */
	char out[EXEC_OUTPUT_MAX + 1];
	size_t out_len;
};

/* Reads what the child wrote; keeps the start, drops the rest so it never blocks. */
static void drain(struct exec_priv *e)
{
	char buf[4096];
	ssize_t n;

	while (e->out_fd >= 0 && (n = read(e->out_fd, buf, sizeof(buf))) != 0) {
		size_t keep;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* EAGAIN: more later */
		}
		keep = MIN((size_t)n, EXEC_OUTPUT_MAX - e->out_len);
		memcpy(e->out + e->out_len, buf, keep);
		e->out_len += keep;
	}
	/* EOF */
	if (e->io)
		(void)sd_event_source_set_enabled(e->io, SD_EVENT_OFF);
}

static void close_output(struct exec_priv *e)
{
	if (e->io)
		(void)sd_event_source_set_enabled(e->io, SD_EVENT_OFF);
	if (e->out_fd >= 0)
		close(TAKE_FD(e->out_fd));
}

static int on_output(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	(void)src;
	(void)fd;
	(void)revents;
	drain(userdata);
	return 0;
}

/* The first line of the output, without trailing blanks. */
static const char *first_line(struct exec_priv *e)
{
	size_t n = strcspn(e->out, "\n");

	e->out[MIN(n, e->out_len)] = '\0';
	for (n = strlen(e->out); n > 0 && (e->out[n - 1] == ' ' || e->out[n - 1] == '\r');)
		e->out[--n] = '\0';
	return e->out;
}

static int start_child(struct probe *p);

static void on_exit_status(struct reaper_watch *w, int status)
{
	struct exec_priv *e = (struct exec_priv *)((char *)w - offsetof(struct exec_priv, watch));
	char why[EXEC_OUTPUT_MAX + 64];
	const char *out;
	bool pass;

	e->pid = 0;
	/* A check is over when its command exits: what it left running in its process
	 * group goes with it, or each check would leave one more. The group cannot be
	 * reused while any member lives. */
	(void)kill(-w->pid, SIGKILL);
	drain(e);
	close_output(e);
	if (!e->wanted) {
		if (e->deferred) {
			int r;

			e->deferred = false;
			r = start_child(e->probe);
			if (r < 0)
				probe_report(e->probe, PROBE_FAIL, strerror(-r));
		}
		return;
	}
	e->wanted = false;
	e->out[e->out_len] = '\0';
	out = first_line(e);
	if (WIFEXITED(status)) {
		pass = WEXITSTATUS(status) == 0;
		snprintf(why,
			 sizeof(why),
			 "exit code %d%s%s",
			 WEXITSTATUS(status),
			 *out ? ": " : "",
			 out);
	} else {
		const char *name = signame_to_string(WTERMSIG(status));

		pass = false;
		if (name)
			snprintf(why, sizeof(why), "killed by SIG%s", name);
		else
			snprintf(why, sizeof(why), "killed by signal %d", WTERMSIG(status));
	}
	probe_report(e->probe, pass ? PROBE_PASS : PROBE_FAIL, why);
}

static int exec_init(struct probe *p)
{
	struct exec_priv *e = probe_get_priv(p);

	e->probe = p;
	e->out_fd = -1;
	e->watch.on_exit = on_exit_status;
	return 0;
}

static int watch_output(struct probe *p, int fd)
{
	struct exec_priv *e = probe_get_priv(p);
	int r;

	if (!e->io) {
		r = sd_event_add_io(probe_get_host(p)->event, &e->io, fd, EPOLLIN, on_output, e);
		if (r >= 0)
			(void)sd_event_source_set_description(e->io, "probe-exec");
		return r;
	}
	r = sd_event_source_set_io_fd(e->io, fd);
	if (r >= 0)
		r = sd_event_source_set_enabled(e->io, SD_EVENT_ON);
	return r;
}

/* Spawns the check's command; reports at once when it cannot run. */
static int start_child(struct probe *p)
{
	struct exec_priv *e = probe_get_priv(p);
	const struct probe_config *cfg = probe_get_config(p);
	const struct probe_host *h = probe_get_host(p);
	CLEANUP_FREE char *path = NULL;
	struct spawn_params sp;
	const char *step = "spawn";
	char why[300];
	int pipefd[2], r;
	pid_t pid;

	r = spawn_find_program(cfg->argv[0], env_get(h->envp, "PATH"), &path);
	if (r < 0) {
		snprintf(why, sizeof(why), "cannot execute '%s': %s", cfg->argv[0], strerror(-r));
		probe_report(p, PROBE_FAIL, why);
		return 0;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	(void)fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	sp = (struct spawn_params){
		.path = path,
		.argv = cfg->argv,
		.envp = h->envp,
		.directory = h->directory,
		.creds = h->creds,
		.umask = h->umask,
		.stdin_fd = -1,
		.stdout_fd = pipefd[1],
		.stderr_fd = pipefd[1],
		.new_session = true,
		.nofile = h->nofile,
	};
	r = spawn_process(&sp, &pid, &step);
	close(pipefd[1]);
	if (r < 0) {
		close(pipefd[0]);
		if (STREQ(step, "execve"))
			snprintf(why, sizeof(why), "cannot execute '%s': %s", path, strerror(-r));
		else
			snprintf(why, sizeof(why), "%s failed: %s", step, strerror(-r));
		probe_report(p, PROBE_FAIL, why);
		return 0;
	}
	e->pid = pid;
	e->wanted = true;
	e->out_fd = pipefd[0];
	e->out_len = 0;
	reaper_add(h->reaper, &e->watch, pid);
	if (watch_output(p, e->out_fd) < 0)
		close_output(e); /* the check still runs; only its output is lost */
	return 0;
}

static int exec_start(struct probe *p)
{
	struct exec_priv *e = probe_get_priv(p);

	/* The child of a check that timed out was killed but is not reaped yet (its
	 * SIGCHLD may come after the timer that starts the next check, when the period
	 * is not longer than the timeout). The check starts once it is: failing it
	 * instead would count one slow check twice toward failure-threshold. Its
	 * timeout runs meanwhile. */
	if (e->pid > 0) {
		e->deferred = true;
		return 0;
	}
	return start_child(p);
}

static void exec_cancel(struct probe *p)
{
	struct exec_priv *e = probe_get_priv(p);

	e->deferred = false;
	if (!e->wanted)
		return;
	e->wanted = false;
	/* Unreaped, so neither the pid nor its process group can have been reused. */
	if (e->pid > 0)
		(void)kill(-e->pid, SIGKILL);
	close_output(e);
}

static void exec_done(struct probe *p)
{
	struct exec_priv *e = probe_get_priv(p);

	/* A child killed but not reaped yet is left to the reaper, as an orphan. */
	if (e->pid > 0)
		reaper_remove(probe_get_host(p)->reaper, &e->watch);
	close_output(e);
	e->io = sd_event_source_disable_unref(e->io);
}

const struct probe_kind probe_exec = {
	.name = "exec",
	.priv_size = sizeof(struct exec_priv),
	.init = exec_init,
	.done = exec_done,
	.start = exec_start,
	.cancel = exec_cancel,
};

/* spawn.c: starting one program with the process set-up of SPEC §11. */
#include "spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

bool spawn_script_interpreter(const char *text, size_t n, char *buf, size_t size)
{
	size_t i = 2, start, len;

	if (n < 2 || text[0] != '#' || text[1] != '!' || size == 0)
		return false;
	while (i < n && (text[i] == ' ' || text[i] == '\t'))
		i++;
	start = i;
	while (i < n && text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\0')
		i++;
	if (i == start)
		return false;
	len = MIN(i - start, size - 1);
	memcpy(buf, text + start, len);
	buf[len] = '\0';
	return true;
}

int spawn_find_program(const char *name, const char *path_env, char **ret)
{
	const char *p = path_env ? path_env : DEFAULT_PATH;
	int err = -ENOENT;

	if (strchr(name, '/')) {
		char *copy = strdup(name);
		if (!copy)
			return -ENOMEM;
		*ret = copy;
		return 0;
	}
	while (*p) {
		size_t len = strcspn(p, ":");
		char *candidate = NULL;
		struct stat st;

		if (asprintf(&candidate, "%.*s/%s", (int)len, len ? p : ".", name) < 0)
			return -ENOMEM;
		if (stat(candidate, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(candidate, X_OK) == 0) {
				*ret = candidate;
				return 0;
			}
			err = -EACCES;
		}
		free(candidate);
		p += len;
		if (*p == ':')
			p++;
	}
	return err;
}

/* A user or group given by number: digits only, below (uid_t)-1. */
static bool parse_id(const char *s, unsigned long *ret)
{
	char *end;

	if (!*s || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	*ret = strtoul(s, &end, 10);
	return errno == 0 && *ret < (unsigned long)(uid_t)-1;
}

/* Whether a failed getpwnam() or getgrnam() only found no entry. */
static bool no_entry(int err)
{
	return err == 0 || err == ENOENT || err == ESRCH;
}

/* USER=, LOGNAME=, HOME= and SHELL= of @pw, as systemd gives them for User=: a program
 * started as another user does not look for its files in vigild's home. */
static int user_env(const struct passwd *pw, char ***env)
{
	const char *const vars[][2] = {
		{"USER", pw->pw_name},
		{"LOGNAME", pw->pw_name},
		{"HOME", pw->pw_dir},
		{"SHELL", pw->pw_shell},
	};

	for (size_t i = 0; i < ELEMENTSOF(vars); i++) {
		CLEANUP_FREE char *v = NULL;

		if (!vars[i][1] || !vars[i][1][0])
			continue;
		if (asprintf(&v, "%s=%s", vars[i][0], vars[i][1]) < 0 || strv_push(env, v) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* For a uid without a passwd entry: HOME=/, as container runtimes give a bare uid,
 * and none of vigild's USER, LOGNAME and SHELL, which name vigild's user, not this
 * one. A name without '=' asks build_env() to remove that variable. */
static int bare_uid_env(char ***env)
{
	static const char *const vars[] = {"HOME=/", "USER", "LOGNAME", "SHELL"};

	for (size_t i = 0; i < ELEMENTSOF(vars); i++)
		if (strv_push(env, vars[i]) < 0)
			return -ENOMEM;
	return 0;
}

int spawn_resolve_creds(const char *user, const char *group, struct spawn_creds *ret,
			const char **ret_unknown)
{
	CLEANUP(spawn_creds_clear) struct spawn_creds c = {.set = true};
	struct passwd *pw = NULL;
	unsigned long id;
	int err, r;

	if (!user && !group) {
		*ret = (struct spawn_creds){0};
		return 0;
	}
	c.uid = getuid();
	c.gid = getgid();
	if (user) {
		errno = 0;
		pw = getpwnam(user);
		err = errno;
		if (!pw && parse_id(user, &id)) {
			/* A number: its passwd entry if there is one, else that uid with
			 * group 0, as container runtimes do (`group` picks another). */
			errno = 0;
			pw = getpwuid((uid_t)id);
			err = errno;
			c.uid = (uid_t)id;
			c.gid = 0;
		} else if (!pw && no_entry(err)) {
			*ret_unknown = user;
			return -ESRCH;
		}
		if (!pw && !no_entry(err))
			return -err;
		if (pw) {
			c.uid = pw->pw_uid;
			c.gid = pw->pw_gid;
			r = user_env(pw, &c.env);
		} else
			r = bare_uid_env(&c.env);
		if (r < 0)
			return r;
	}
	if (group) {
		struct group *gr;

		errno = 0;
		gr = getgrnam(group);
		err = errno;
		if (gr)
			c.gid = gr->gr_gid;
		else if (parse_id(group, &id))
			c.gid = (gid_t)id;
		else if (no_entry(err)) {
			*ret_unknown = group;
			return -ESRCH;
		} else
			return -err;
	}
	if (pw) {
		int n = 32;

		for (;;) {
			gid_t *g = malloc((size_t)n * sizeof(gid_t));
			int want = n;

			if (!g)
				return -ENOMEM;
			if (getgrouplist(pw->pw_name, c.gid, g, &want) >= 0) {
				c.groups = g;
				c.n_groups = want;
				break;
			}
			free(g);
			if (want <= n || want > 65536)
				return -E2BIG;
			n = want;
		}
	} else {
		c.groups = malloc(sizeof(gid_t));
		if (!c.groups)
			return -ENOMEM;
		c.groups[0] = c.gid;
		c.n_groups = 1;
	}
	*ret = c;
	c = (struct spawn_creds){0}; /* the caller's now */
	return 0;
}

void spawn_creds_clear(struct spawn_creds *c)
{
	free(c->groups);
	strv_free(c->env);
	*c = (struct spawn_creds){0};
}

/* What the child reports through the status pipe when a step fails. */
struct child_failure {
	int err;
	int step;
};

static const char *const step_names[] = {
	"set signals",
	"setsid",
	"chdir",
	"setgroups",
	"setgid",
	"setuid",
	"stdin",
	"stdout",
	"stderr",
	"execve",
};

struct child_args {
	const struct spawn_params *p;
	int status_fd;
};

/* The child runs on our own stack (below), which AddressSanitizer does not know:
 * its bookkeeping at a no-return call (_exit) then reports that stack as overflowed.
 * Nothing in the child needs checking: it only makes system calls. */
#define CHILD_CODE __attribute__((no_sanitize_address))

static CHILD_CODE _Noreturn void child_fail(const struct child_args *a, int step)
{
	struct child_failure f = {.err = errno, .step = step};

	(void)!write(a->status_fd, &f, sizeof(f));
	_exit(127);
}

/* Runs in the child, which shares vigild's memory until execve (CLONE_VM|CLONE_VFORK,
 * as posix_spawn does): only system calls, no allocation, no locks, no CLEANUP. */
static CHILD_CODE int child_main(void *arg)
{
	const struct child_args *a = arg;
	const struct spawn_params *p = a->p;
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;
	int fd;

	/* vigild handles signals through signalfd and ignores only SIGPIPE (vigild.c
	 * resets every other inherited SIG_IGN at start), so resetting that one and
	 * unblocking everything gives the child default signal handling. */
	if (sigaction(SIGPIPE, &dfl, NULL) < 0)
		child_fail(a, 0);
	if (p->new_session) {
		if (setsid() < 0)
			child_fail(a, 1);
	} else {
		if (setpgid(0, 0) < 0)
			child_fail(a, 1);
		/* SIGTTOU is still blocked here (vigild blocks it), so a background
		 * group may take the foreground; no terminal: ENOTTY, ignored. */
		if (p->stdin_fd >= 0 && isatty(p->stdin_fd))
			(void)tcsetpgrp(p->stdin_fd, getpid());
	}
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		child_fail(a, 0);
	if (p->creds && p->creds->set) {
		if (setgroups((size_t)p->creds->n_groups, p->creds->groups) < 0)
			child_fail(a, 3);
		if (setgid(p->creds->gid) < 0)
			child_fail(a, 4);
		if (setuid(p->creds->uid) < 0)
			child_fail(a, 5);
	}
	/* As the service's user, as systemd enters WorkingDirectory: a directory that
	 * user may not enter fails the run rather than leave it in one it cannot use. */
	if (p->directory && chdir(p->directory) < 0)
		child_fail(a, 2);
	if (p->umask >= 0)
		umask((mode_t)p->umask);
	/* vigild raised its own fd limit; programs expect the usual one (select()). */
	if (p->nofile)
		(void)setrlimit(RLIMIT_NOFILE, p->nofile);
	/* fds 0-2 are always open in vigild, so the pipe ends passed here are >= 3, or
	 * are vigild's own 1 and 2 (then dup2 to the same number keeps them open). */
	if (p->stdin_fd < 0) {
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
			child_fail(a, 6);
	} else if (p->stdin_fd != STDIN_FILENO && dup2(p->stdin_fd, STDIN_FILENO) < 0)
		child_fail(a, 6);
	if (p->stdout_fd != STDOUT_FILENO && dup2(p->stdout_fd, STDOUT_FILENO) < 0)
		child_fail(a, 7);
	if (p->stderr_fd != STDERR_FILENO && dup2(p->stderr_fd, STDERR_FILENO) < 0)
		child_fail(a, 8);
	/* Exactly 0-2 reach the program. The rest are marked close-on-exec rather than
	 * closed: exec closes them after it has released vigild, so a child of a vigild
	 * holding many fds does not keep it waiting. Where the kernel refuses the flag,
	 * spawn_process() has marked vigild's own fds. */
	for (int i = 0; i <= 2; i++)
		fcntl(i, F_SETFD, 0);
	(void)close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	execve(p->path, p->argv, p->envp);
	child_fail(a, 9);
}

/* Whether the kernel marks a range of fds close-on-exec (CLOSE_RANGE_CLOEXEC, Linux
 * 5.11). The probe's fd is never open: it changes nothing. */
static bool child_can_mark_fds(void)
{
	static int known = -1;

	if (known < 0)
		known = close_range(~0U, ~0U, CLOSE_RANGE_CLOEXEC) == 0;
	return known;
}

void spawn_mark_fds_cloexec(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	while (d && (de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (fd > 2 && fd != dirfd(d))
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	if (d)
		closedir(d);
}

int spawn_process(const struct spawn_params *p, pid_t *ret_pid, const char **ret_step)
{
	/* The child runs on this stack while vigild waits (CLONE_VFORK), so one is enough. */
	static char stack[64 * 1024] __attribute__((aligned(64)));
	int pipefd[2];
	struct child_args a = {.p = p};
	struct child_failure f;
	ssize_t n;
	pid_t pid;
	int st;

	if (!child_can_mark_fds())
		spawn_mark_fds_cloexec();
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		*ret_step = "pipe";
		return -errno;
	}
	a.status_fd = pipefd[1];
	pid = clone(child_main, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
	if (pid < 0) {
		int err = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		*ret_step = "fork";
		return err;
	}
	close(pipefd[1]);
	/* With CLONE_VFORK the child has executed or exited by now; should the clone
	 * have become a plain fork (as under valgrind), read() waits for that. */
	do
		n = read(pipefd[0], &f, sizeof(f));
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	if (n != (ssize_t)sizeof(f)) {
		*ret_pid = pid;
		return 0;
	}
	/* The child has written and exits at once: reap it here, so nobody else sees it. */
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	*ret_step = f.step >= 0 && (size_t)f.step < ELEMENTSOF(step_names) ? step_names[f.step]
									   : "spawn";
	return f.err > 0 ? -f.err : -EIO;
}

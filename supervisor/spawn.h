/* spawn.h: starting one program with the process set-up of SPEC §11. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct rlimit;

/* Who the program runs as, resolved in vigild before spawning. */
struct spawn_creds {
	bool set; /* false: run as vigild's own user */
	uid_t uid;
	gid_t gid;
	gid_t *groups; /* supplementary groups */
	int n_groups;
	char **env; /* USER=, LOGNAME=, HOME=, SHELL= of the user's entry; for a uid
		     * without one HOME=/ and the names USER, LOGNAME, SHELL (no '=':
		     * to be removed); NULL: none */
};

struct spawn_params {
	const char *path; /* the program to execute, with a slash */
	char *const *argv;
	char *const *envp;
	const char *directory; /* NULL: vigild's */
	const struct spawn_creds *creds;
	int umask;    /* -1: vigild's */
	int stdin_fd; /* -1: /dev/null */
	int stdout_fd, stderr_fd;
	/* false: a new process group in vigild's session, given the terminal's
	 * foreground when stdin is one (as tini does for its child) */
	bool new_session;
	const struct rlimit *nofile; /* RLIMIT_NOFILE to set in the child; NULL: vigild's */
};

/* Marks every fd of vigild above 2 close-on-exec, one by one (vigild never executes
 * itself: none of its fds needs to survive an exec). spawn_process() calls it before
 * each spawn where the kernel cannot mark them in the child (before Linux 5.11). */
void spawn_mark_fds_cloexec(void);

/* Looks @name up in @path_env (a PATH value; NULL: the default path) unless it holds
 * a slash. Writes a new string to *ret. Returns 0, -ENOENT or -EACCES. */
int spawn_find_program(const char *name, const char *path_env, char **ret);

/* The interpreter a script's first line names ("#!PATH [ARG]"), as the kernel reads
 * it, from the first @n bytes of the file at @text: copied into @buf (@size bytes,
 * cut to fit). Returns false when @text holds no "#!" line with a path. */
bool spawn_script_interpreter(const char *text, size_t n, char *buf, size_t size);

/* Resolves @user and @group (names or numbers; either may be NULL) into @ret, with
 * the user's variables; the group defaults to the user's primary group. Returns 0, -ESRCH with
 * *ret_unknown set to the name that does not exist, or another negative errno. Free with
 * spawn_creds_clear(). */
int spawn_resolve_creds(const char *user, const char *group, struct spawn_creds *ret,
			const char **ret_unknown);
void spawn_creds_clear(struct spawn_creds *c);

/* Starts @p in a new session (pid = process group = session; see new_session), with exactly fds 0-2
 * open, every signal at its default and none blocked. Returns 0 with *ret_pid set
 * once the program is executing, or a negative errno with *ret_step naming the
 * failed step ("fork", "chdir", "setuid", "execve", ...); a child that failed is
 * reaped before returning. */
int spawn_process(const struct spawn_params *p, pid_t *ret_pid, const char **ret_step);

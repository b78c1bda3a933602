/* log-forward.c: writing to vigild's stdout or to journald without blocking. */
#include "log-forward.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "macro.h"

enum log_out_kind log_forward_kind(mode_t mode, bool reopened)
{
	if (S_ISSOCK(mode))
		return LOG_OUT_SEND;
	if (S_ISFIFO(mode))
		return reopened ? LOG_OUT_WRITE : LOG_OUT_POLL;
	if (S_ISCHR(mode))
		return reopened ? LOG_OUT_WRITE : LOG_OUT_POLL_TTY;
	return LOG_OUT_BLOCKING; /* regular file, block device */
}

int log_forward_open_stdout(sd_event *event, struct log_out **ret)
{
	struct stat st;
	bool reopened = false;
	int fd = -1;

	if (fstat(STDOUT_FILENO, &st) < 0)
		return -errno;
	if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
		/* Setting O_NONBLOCK on fd 1 would change the description the terminal or
		 * the pipe shares with the shell and its other writers, who would then
		 * see EAGAIN. Opening the magic link makes a new description of the same
		 * pipe or terminal: its flags are ours alone. O_NOCTTY: as PID 1, vigild
		 * must not acquire a controlling terminal. */
		fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		reopened = fd >= 0;
	}
	if (fd < 0)
		fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	return log_out_new(event,
			   fd,
			   log_forward_kind(st.st_mode, reopened),
			   LOG_FORWARD_STDOUT_MAX,
			   "stdout",
			   ret);
}

bool log_forward_stdout_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDOUT_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int log_forward_open_journal(sd_event *event, const char *name, int priority, struct log_out **ret)
{
	char what[32];
	int fd = sd_journal_stream_fd(name, priority, 1);

	if (fd < 0)
		return fd;
	snprintf(what, sizeof(what), "journald (%s)", name);
	return log_out_new(event, fd, LOG_OUT_SEND, LOG_FORWARD_JOURNAL_MAX, what, ret);
}

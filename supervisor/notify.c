/* notify.c: the sd_notify protocol from a service's processes to vigild (SPEC §5):
 * one datagram socket per service, read promptly, file descriptors passed along
 * closed, senders checked, and the watchdog timer. */
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "macro.h"
#include "printable.h"

/* sd_notify() datagrams are small; systemd takes at most 4 KiB. */
#define NOTIFY_DATAGRAM_MAX 4096
/* Datagrams read per dispatch: the queue holds 10, so this drains it, while a flood
 * from one service cannot keep the loop from everything else. */
#define NOTIFY_BATCH 64
/* SCM_RIGHTS carries at most 253 fds (SCM_MAX_FD). */
#define NOTIFY_FDS_MAX 253

struct notify {
	sd_event *event;
	int fd;
	char *path;
	sd_event_source *io;
	sd_event_source *watchdog; /* created at the first notify_watchdog_start() */
	uint64_t watchdog_usec;    /* 0: not expected */
	notify_message_fn *on_message;
	notify_watchdog_fn *on_watchdog;
	void *userdata;
	uid_t sender_uid;
	pid_t sender_pid;
	uint64_t accepted, dropped;
};

/* ---- parsing ---- */

void notify_parse(const char *buf, size_t len, struct notify_message *ret)
{
	const char *end = buf + len;

	ret->ready = ret->stopping = ret->watchdog = ret->watchdog_trigger = false;
	ret->has_status = false;
	ret->status[0] = '\0';
	while (buf < end) {
		const char *nl = memchr(buf, '\n', (size_t)(end - buf));
		size_t n = nl ? (size_t)(nl - buf) : (size_t)(end - buf);

#define IS(lit) (n == sizeof(lit) - 1 && memcmp(buf, lit, n) == 0)
		if (IS("READY=1"))
			ret->ready = true;
		else if (IS("STOPPING=1"))
			ret->stopping = true;
		else if (IS("WATCHDOG=1"))
			ret->watchdog = true;
		else if (IS("WATCHDOG=trigger"))
			ret->watchdog_trigger = true;
		else if (n >= 7 && memcmp(buf, "STATUS=", 7) == 0) {
			ret->has_status = true;
			printable_copy(ret->status, sizeof(ret->status), buf + 7, n - 7, ' ');
		}
#undef IS
		buf += n + 1;
	}
}

/* ---- the runtime directory ---- */

/* ---- where the sockets are ---- */

int notify_prefix_new(char **ret)
{
	uint64_t rnd = 0;
	char *p;

	/* The random part: nobody can bind a service's name before vigild does. */
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -EIO;
	if (asprintf(&p, "@vigil/%d-%016llx", (int)getpid(), (unsigned long long)rnd) < 0)
		return -ENOMEM;
	*ret = p;
	return 0;
}

/* Fills @sa for @path: a file, or with a leading '@' an abstract name whose length is
 * exact (as sd_notify() reads NOTIFY_SOCKET). Returns the address length, or 0 when
 * the path does not fit. */
static socklen_t make_addr(const char *path, struct sockaddr_un *sa)
{
	size_t len = strlen(path);

	*sa = (struct sockaddr_un){.sun_family = AF_UNIX};
	if (len >= sizeof(sa->sun_path))
		return 0;
	memcpy(sa->sun_path, path, len);
	if (path[0] == '@') {
		sa->sun_path[0] = '\0';
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	}
	return (socklen_t)sizeof(*sa);
}

/* ---- the socket ---- */

/* True when @pid belongs to the session @sid. getsid() answers in vigild's own pid
 * namespace, as the credentials came: /proc may be another namespace's. */
static bool in_session(pid_t pid, pid_t sid)
{
	return pid > 0 && sid > 0 && getsid(pid) == sid;
}

static bool sender_allowed(const struct notify *n, const struct ucred *uc)
{
	if (uc->uid == 0 || uc->uid == geteuid() || uc->uid == n->sender_uid)
		return true;
	/* Another user's process inside the service's session (a worker that dropped
	 * privileges). */
	return in_session(uc->pid, n->sender_pid);
}

/* Reads one datagram. Returns 1 when one was read, 0 when the queue is empty. */
static int receive_one(struct notify *n, bool deliver)
{
	static char buf[NOTIFY_DATAGRAM_MAX + 1];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred)) +
			 CMSG_SPACE(NOTIFY_FDS_MAX * sizeof(int))];
	} control;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = &control,
		.msg_controllen = sizeof(control),
	};
	struct ucred *uc = NULL;
	struct notify_message m;
	ssize_t len;

	len = recvmsg(n->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
	if (len < 0)
		return errno == EINTR ? 1 : 0;
	/* Whatever came along, fds first: systemd-notify waits for its barrier fd to
	 * be closed (notes §4). */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_RIGHTS) {
			size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int fds[NOTIFY_FDS_MAX];

			memcpy(fds, CMSG_DATA(c), MIN(nfds, ELEMENTSOF(fds)) * sizeof(int));
			for (size_t i = 0; i < MIN(nfds, ELEMENTSOF(fds)); i++)
				close(fds[i]);
		} else if (c->cmsg_type == SCM_CREDENTIALS &&
			   c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
			uc = (struct ucred *)CMSG_DATA(c);
	}
	if (!deliver)
		return 1;
	if ((size_t)len > NOTIFY_DATAGRAM_MAX || !uc || !sender_allowed(n, uc)) {
		n->dropped++;
		log_debug("Dropped a notify message on '%s' (%s)",
			  n->path,
			  !uc                                 ? "no credentials"
			  : (size_t)len > NOTIFY_DATAGRAM_MAX ? "too long"
							      : "sender not allowed");
		return 1;
	}
	n->accepted++;
	notify_parse(buf, (size_t)len, &m);
	m.pid = uc->pid;
	m.uid = uc->uid;
	if (m.watchdog && n->watchdog_usec > 0)
		(void)notify_watchdog_start(n, n->watchdog_usec); /* only moves the timer */
	if (n->on_message)
		n->on_message(n, &m, n->userdata);
	return 1;
}

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct notify *n = userdata;

	(void)src;
	(void)fd;
	(void)revents;
	/* on_message may free nothing, but it may stop the watchdog: n stays valid. */
	for (int i = 0; i < NOTIFY_BATCH && receive_one(n, true); i++)
		;
	return 0;
}

void notify_flush(struct notify *n)
{
	if (!n)
		return;
	while (receive_one(n, false))
		;
}

int notify_new(sd_event *event, const char *path, notify_message_fn *on_message,
	       notify_watchdog_fn *on_watchdog, void *userdata, struct notify **ret)
{
	struct sockaddr_un sa;
	socklen_t sa_len = make_addr(path, &sa);
	bool abstract = path[0] == '@';
	struct notify *n;
	int one = 1, r;

	if (sa_len == 0)
		return -ENAMETOOLONG;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->event = event;
	n->on_message = on_message;
	n->on_watchdog = on_watchdog;
	n->userdata = userdata;
	n->sender_uid = (uid_t)-1;
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	n->path = strdup(path);
	if (n->fd < 0 || !n->path) {
		r = n->fd < 0 ? -errno : -ENOMEM;
		notify_free(n);
		return r;
	}
	/* A file socket: a leftover goes, and every user's service may send (the
	 * sender is checked per datagram). An abstract one has no file and no mode. */
	if (!abstract)
		(void)unlink(path);
	if (setsockopt(n->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    bind(n->fd, (struct sockaddr *)&sa, sa_len) < 0 ||
	    (!abstract && chmod(path, 0666) < 0)) {
		r = -errno;
		notify_free(n);
		return r;
	}
	r = sd_event_add_io(event, &n->io, n->fd, EPOLLIN, on_io, n);
	if (r < 0) {
		notify_free(n);
		return r;
	}
	(void)sd_event_source_set_priority(n->io, SD_EVENT_PRIORITY_IMPORTANT);
	(void)sd_event_source_set_description(n->io, "notify");
	*ret = n;
	return 0;
}

struct notify *notify_free(struct notify *n)
{
	if (!n)
		return NULL;
	sd_event_source_disable_unref(n->io);
	sd_event_source_disable_unref(n->watchdog);
	if (n->fd >= 0) {
		close(n->fd);
		if (n->path && n->path[0] != '@')
			(void)unlink(n->path);
	}
	free(n->path);
	free(n);
	return NULL;
}

void notify_set_sender(struct notify *n, uid_t uid, pid_t pid)
{
	if (!n)
		return;
	n->sender_uid = uid;
	n->sender_pid = pid;
}

static int on_watchdog(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct notify *n = userdata;

	(void)src;
	(void)usec;
	n->watchdog_usec = 0;
	if (n->on_watchdog)
		n->on_watchdog(n, n->userdata);
	return 0;
}

int notify_watchdog_start(struct notify *n, uint64_t usec)
{
	uint64_t now;

	if (!n)
		return -EBADF;
	if (usec == 0) {
		notify_watchdog_stop(n);
		return 0;
	}
	/* The clock, not the loop's older time: the deadline never earlier than asked. */
	now = clock_now(CLOCK_MONOTONIC);
	if (!n->watchdog) {
		int r = sd_event_add_time(
			n->event, &n->watchdog, CLOCK_MONOTONIC, now + usec, 1, on_watchdog, n);
		if (r < 0)
			return r;
		(void)sd_event_source_set_description(n->watchdog, "watchdog");
	} else
		(void)sd_event_source_set_time(n->watchdog, now + usec);
	(void)sd_event_source_set_enabled(n->watchdog, SD_EVENT_ONESHOT);
	n->watchdog_usec = usec;
	return 0;
}

void notify_watchdog_stop(struct notify *n)
{
	if (!n)
		return;
	n->watchdog_usec = 0;
	if (n->watchdog)
		(void)sd_event_source_set_enabled(n->watchdog, SD_EVENT_OFF);
}

uint64_t notify_get_accepted(const struct notify *n)
{
	return n ? n->accepted : 0;
}

uint64_t notify_get_dropped(const struct notify *n)
{
	return n ? n->dropped : 0;
}

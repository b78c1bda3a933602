/* probe-unix.c: the unix probe: a non-blocking connect to a socket path. The kernel
 * answers a unix connect at once (connected, refused, missing, or EAGAIN for a full
 * listen backlog), so a check ends inside start(). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "macro.h"
#include "probe.h"

struct unix_priv {
	struct sockaddr_un addr;
	socklen_t addr_len;
};

/* Connects a socket of @type to the path. Returns 0 or a negative errno. */
static int try_connect(const struct unix_priv *u, int type)
{
	CLEANUP_CLOSE int fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&u->addr, u->addr_len) < 0)
		return -errno;
	return 0;
}

static int unix_init(struct probe *p)
{
	struct unix_priv *u = probe_get_priv(p);
	const char *path = probe_get_config(p)->target;
	size_t len = strlen(path);

	if (len >= sizeof(u->addr.sun_path))
		return -ENAMETOOLONG;
	u->addr.sun_family = AF_UNIX;
	memcpy(u->addr.sun_path, path, len + 1);
	u->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	return 0;
}

static int unix_start(struct probe *p)
{
	struct unix_priv *u = probe_get_priv(p);
	int r = try_connect(u, SOCK_STREAM);

	/* A datagram or seqpacket socket is alive too when it can be connected to. */
	if (r == -EPROTOTYPE)
		r = try_connect(u, SOCK_SEQPACKET);
	if (r == -EPROTOTYPE)
		r = try_connect(u, SOCK_DGRAM);
	if (r == -EAGAIN)
		probe_report(p, PROBE_FAIL, "listen backlog full");
	else if (r < 0)
		probe_report(p, PROBE_FAIL, strerror(-r));
	else
		probe_report(p, PROBE_PASS, "connected");
	return 0;
}

static void unix_cancel(struct probe *p)
{
	(void)p; /* nothing outlives start() */
}

const struct probe_kind probe_unix = {
	.name = "unix",
	.priv_size = sizeof(struct unix_priv),
	.init = unix_init,
	.start = unix_start,
	.cancel = unix_cancel,
};

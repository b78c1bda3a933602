/* listen.c: the listening sockets of the control API: where the unix socket lives,
 * how it is created and removed, and the TCP listener. */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "socket-path.h"

#define LISTEN_BACKLOG 128

int listen_socket_path(const char *option, const char *configured, char **ret)
{
	const char *p = option ? option : configured;
	char buf[4096];

	if (!p) {
		socket_default_path(buf, sizeof(buf));
		p = buf;
	}
	if (p[0] != '/') {
		char cwd[4096];

		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		if (snprintf(buf, sizeof(buf), "%s/%s", cwd, p) >= (int)sizeof(buf))
			return -ENAMETOOLONG;
		p = buf;
	}
	*ret = strdup(p);
	return *ret ? 0 : -ENOMEM;
}

/* Creates every missing directory above @path's last component, 0755 whatever the
 * umask: a control-group member must get through them to the 0660 socket, whose own
 * mode keeps everyone else out. The exception is /tmp/vigil-UID, the default without
 * XDG_RUNTIME_DIR, made 0700 as XDG_RUNTIME_DIR would be. */
static int mkdir_parents(const char *path)
{
	char dir[LISTEN_PATH_MAX + 1], own[32];
	size_t len = strlen(path);

	if (len > LISTEN_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(dir, path, len + 1);
	socket_own_tmp_dir(own);
	for (char *s = strchr(dir + 1, '/'); s; s = strchr(s + 1, '/')) {
		mode_t mode;

		*s = '\0';
		mode = STREQ(dir, own) ? 0700 : 0755;
		if (mkdir(dir, mode) == 0) {
			if (chmod(dir, mode) < 0)
				return -errno;
		} else if (errno != EEXIST)
			return -errno;
		/* Anyone may create /tmp/vigil-UID first, and swap the socket inside for
		 * their own: it must be ours, a directory (no link) and closed to others. */
		if (mode == 0700) {
			struct stat st;

			if (lstat(dir, &st) < 0)
				return -errno;
			if (!socket_dir_private(&st))
				return -EPERM;
		}
		*s = '/';
	}
	return 0;
}

static int unix_address(const char *path, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n = strlen(path);

	if (n > LISTEN_PATH_MAX)
		return -ENAMETOOLONG;
	*sa = (struct sockaddr_un){.sun_family = AF_UNIX};
	memcpy(sa->sun_path, path, n + 1);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

/* Decides what to do with a file already at @path: a socket nobody answers on is
 * stale and goes (returns 1); one that answers belongs to a live vigild. */
static int clear_stale(const char *path)
{
	struct sockaddr_un sa;
	socklen_t len;
	struct stat st;
	int r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	r = unix_address(path, &sa, &len);
	if (r < 0)
		return r;
	{
		CLEANUP_CLOSE int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, len) == 0)
			return -EADDRINUSE;
		if (errno != ECONNREFUSED)
			return -errno;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 1;
}

/* An /etc/group larger than this is not read (the default group is not looked up). */
#define LISTEN_GROUP_FILE_MAX (16 * 1024 * 1024)

gid_t listen_group_in_text(const char *text, size_t len, const char *name)
{
	const char *end = text + len;
	size_t n = strlen(name);

	for (const char *l = text, *eol; l < end; l = eol ? eol + 1 : end) {
		const char *e, *colon, *d;
		unsigned long long gid = 0;

		eol = memchr(l, '\n', (size_t)(end - l));
		e = eol ? eol : end;
		while (l < e && (*l == ' ' || *l == '\t'))
			l++;
		if ((size_t)(e - l) <= n || memcmp(l, name, n) != 0 || l[n] != ':')
			continue;
		colon = memchr(l + n + 1, ':', (size_t)(e - (l + n + 1)));
		if (!colon)
			continue;
		for (d = colon + 1; d < e && *d >= '0' && *d <= '9' && gid < (gid_t)-1; d++)
			gid = gid * 10 + (unsigned)(*d - '0');
		if (d > colon + 1 && (d == e || *d == ':') && gid < (gid_t)-1)
			return (gid_t)gid;
	}
	return (gid_t)-1;
}

/* The gid of @name from /etc/group alone (no NSS), or -1. */
static gid_t group_in_files(const char *name)
{
	CLEANUP_FREE char *text = NULL;
	size_t len;

	if (fileio_read("/etc/group", LISTEN_GROUP_FILE_MAX, &text, &len) < 0)
		return (gid_t)-1;
	return listen_group_in_text(text, len, name);
}

int listen_unix(const char *path, const char *group, bool nss, struct listen_unix *ret)
{
	CLEANUP_CLOSE int fd = -1;
	struct sockaddr_un sa;
	socklen_t len;
	gid_t gid = (gid_t)-1;
	struct stat st;
	bool stale;
	int r, group_error = 0;

	r = unix_address(path, &sa, &len);
	if (r < 0)
		return r;
	r = mkdir_parents(path);
	if (r < 0)
		return r;
	r = clear_stale(path);
	if (r < 0)
		return r;
	stale = r > 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, len) < 0 || lstat(path, &st) < 0)
		return -errno;
	/* The socket appeared with the umask's mode (write for the owner only with the
	 * usual 022, so nobody else could connect yet); now the spec's 0660. */
	if (chmod(path, 0660) < 0)
		return -errno;
	if (group && group[0]) {
		struct group *g = nss ? getgrnam(group) : NULL;

		gid = g ? g->gr_gid : nss ? (gid_t)-1 : group_in_files(group);
		if (gid != (gid_t)-1) {
			if (chown(path, (uid_t)-1, gid) < 0) {
				group_error = -errno;
				gid = (gid_t)-1;
			}
		}
	}
	if (listen(fd, LISTEN_BACKLOG) < 0)
		return -errno;
	*ret = (struct listen_unix){
		.fd = TAKE_FD(fd),
		.gid = gid,
		.dev = st.st_dev,
		.ino = st.st_ino,
		.replaced_stale = stale,
		.group_error = group_error,
	};
	return 0;
}

void listen_unix_remove(const char *path, const struct listen_unix *l)
{
	struct stat st;

	/* fstat() of a socket describes the socket, not its file: compare the file
	 * with the one bind() created. */
	if (lstat(path, &st) < 0 || st.st_dev != l->dev || st.st_ino != l->ino)
		return;
	if (unlink(path) < 0 && errno != ENOENT)
		log_debug_errno(-errno, "Failed to remove '%s', ignoring", path);
}

int listen_parse_address(const char *addr, char *host, size_t host_size, char *port,
			 size_t port_size)
{
	const char *colon, *h = addr;
	size_t hlen;

	if (!addr)
		return -EINVAL;
	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		h = addr + 1;
		hlen = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || memchr(addr, ':', (size_t)(colon - addr)))
			return -EINVAL; /* a bare IPv6 address needs brackets */
		hlen = (size_t)(colon - addr);
	}
	if (hlen >= host_size || strlen(colon + 1) >= port_size || !colon[1])
		return -EINVAL;
	for (const char *p = colon + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	if (atol(colon + 1) > 65535)
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

int listen_tcp(const char *addr, int *ret_fd, char *bound, size_t bound_size)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char host[256], port[8], text[INET6_ADDRSTRLEN];
	CLEANUP_CLOSE int fd = -1;
	int r, one = 1;

	r = listen_parse_address(addr, host, sizeof(host), port, sizeof(port));
	if (r < 0)
		return r;
	if (getaddrinfo(host[0] ? host : NULL, port, &hints, &ai) != 0 || !ai)
		return -EADDRNOTAVAIL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		r = -errno;
	else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		 bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, LISTEN_BACKLOG) < 0)
		r = -errno;
	freeaddrinfo(ai);
	if (r < 0)
		return r;
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0)
		return -errno;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, text, sizeof(text));
		snprintf(bound, bound_size, "[%s]:%u", text, (unsigned)ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, text, sizeof(text));
		snprintf(bound, bound_size, "%s:%u", text, (unsigned)ntohs(s4->sin_port));
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

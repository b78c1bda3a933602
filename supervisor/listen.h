/* listen.h: the listening sockets of the control API: the unix socket of SPEC §3
 * (its default path, parent directory, stale file, mode and group) and the
 * optional TCP listener of `http-listen`. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* The longest path a unix socket address holds (sun_path less its NUL). */
#define LISTEN_PATH_MAX 107

/* Picks the control socket's path: @option (-s) when set, else @configured
 * (control-socket), else the default: /run/vigil/control.sock for root,
 * $XDG_RUNTIME_DIR/vigil/control.sock for others, /tmp/vigil-UID/control.sock when
 * XDG_RUNTIME_DIR is unset. A relative path is made absolute against the working
 * directory, so that services with another `directory` find it too.
 * Returns 0 with a new string in *ret, or -ENOMEM, or -errno of getcwd(). */
int listen_socket_path(const char *option, const char *configured, char **ret);

/* A listening unix socket and the file that names it. */
struct listen_unix {
	int fd;    /* non-blocking, close-on-exec */
	gid_t gid; /* the group it was given, or (gid_t)-1 */
	dev_t dev; /* the socket file, to recognise it at removal */
	ino_t ino;
	bool replaced_stale; /* a stale socket file was removed first */
	int group_error;     /* the group exists but chown() failed: -errno */
};

/* Creates the unix socket at @path, listening: missing parent directories are
 * created (0755, or 0700 for /tmp/vigil-UID), a stale socket file is replaced, mode 0660,
 * group @group when such a group exists: looked up through NSS when @nss, else in
 * /etc/group only (for the default group, which mostly does not exist: NSS would
 * then ask every source, libnss_systemd's costing 0.8 ms and 320 KiB here).
 * Returns 0 with *ret filled, or
 * -EADDRINUSE when a live server answers there, -EEXIST when @path is not a socket,
 * -EPERM when /tmp/vigil-UID exists and is not this user's own 0700 directory,
 * -ENAMETOOLONG, or -errno of the failing call. */
int listen_unix(const char *path, const char *group, bool nss, struct listen_unix *ret);

/* The gid of the group @name in @text (@len bytes in /etc/group's format, lines of
 * NAME:PASSWORD:GID:MEMBERS), or (gid_t)-1 when no well-formed line names it. The
 * first such line counts; blanks before a name are skipped, as glibc does. (A
 * scan of the text: fgetgrent() took 48 000 instructions for a 30-line file, an
 * eighth of all `vigild -- true` runs.) */
gid_t listen_group_in_text(const char *text, size_t len, const char *name);

/* Removes the socket file at @path if it is still the one listen_unix() created
 * (a later vigild may have replaced it since). Does not close the socket. */
void listen_unix_remove(const char *path, const struct listen_unix *l);

/* Splits "HOST:PORT", "[V6]:PORT" or ":PORT" (every address). Writes the host
 * ("" for every address) and port into the buffers. Returns 0, or -EINVAL. */
int listen_parse_address(const char *addr, char *host, size_t host_size, char *port,
			 size_t port_size);

/* Creates a listening TCP socket for @addr (see listen_parse_address(); port 0
 * picks a free one). Returns 0 with the socket in *ret_fd and the bound address as
 * text ("127.0.0.1:9100") in @bound, or -EINVAL for a bad address, or a negative
 * errno (getaddrinfo() failures give -EADDRNOTAVAIL). */
int listen_tcp(const char *addr, int *ret_fd, char *bound, size_t bound_size);

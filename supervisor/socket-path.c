/* socket-path.c: the control socket's default place (see socket-path.h). */
#include "socket-path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t socket_own_tmp_dir(char buf[static 32])
{
	return (size_t)snprintf(buf, 32, "/tmp/vigil-%u", (unsigned)geteuid());
}

void socket_default_path(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char own[32];

	if (geteuid() == 0)
		snprintf(buf, size, "/run/vigil/control.sock");
	else if (xdg && xdg[0] == '/')
		snprintf(buf, size, "%s/vigil/control.sock", xdg);
	else {
		socket_own_tmp_dir(own);
		snprintf(buf, size, "%s/control.sock", own);
	}
}

bool socket_in_own_tmp_dir(const char *path)
{
	char own[32];
	size_t n = socket_own_tmp_dir(own);

	return strncmp(path, own, n) == 0 && path[n] == '/';
}

bool socket_dir_private(const struct stat *st)
{
	return S_ISDIR(st->st_mode) && st->st_uid == geteuid() && !(st->st_mode & 077);
}

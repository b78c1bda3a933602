/* socket-path.h: where the control socket is by default, and the rule for its
 * directory under /tmp; shared by vigild (listen.c) and vigilctl, which must agree. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* /tmp/vigil-UID (the effective uid), the default directory without XDG_RUNTIME_DIR,
 * into @buf; returns its length. */
size_t socket_own_tmp_dir(char buf[static 32]);
/* The default socket into @buf (@size bytes): /run/vigil/control.sock for root, else
 * $XDG_RUNTIME_DIR/vigil/control.sock, else /tmp/vigil-UID/control.sock. */
void socket_default_path(char *buf, size_t size);
/* True when @path lies in /tmp/vigil-UID. */
bool socket_in_own_tmp_dir(const char *path);
/* True when @st (from lstat()) is a directory of this user's, closed to others:
 * anyone may create /tmp/vigil-UID first and swap the socket inside for their own. */
bool socket_dir_private(const struct stat *st);

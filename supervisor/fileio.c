/* fileio.c: reading a whole small file, in one buffer sized to it. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

/* A pipe or FIFO with nothing to read yet: waits for its writer. */
static int wait_readable(int fd, int wait_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r;

	do
		r = poll(&p, 1, wait_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ENODATA : 0;
}

int fileio_read(const char *path, size_t max, char **ret, size_t *ret_len)
{
	return fileio_read_wait(path, max, FILEIO_WAIT_MS, ret, ret_len);
}

int fileio_read_wait(const char *path, size_t max, int wait_ms, char **ret, size_t *ret_len)
{
	/* O_NONBLOCK: opening a FIFO nobody writes to would wait for a writer, in
	 * vigild's loop or in `--check`, for ever; it waits @wait_ms at most for each
	 * piece (wait_readable()). */
	CLEANUP_CLOSE int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	CLEANUP_FREE char *buf = NULL;
	struct stat st;
	size_t len = 0, cap;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if ((unsigned long long)st.st_size > max)
		return -EFBIG;
	/* Sized to the file, with a byte to see EOF in and one for the NUL; read to EOF
	 * all the same: a file that grew, a pipe or a /proc file (size 0) comes whole,
	 * up to @max. */
	cap = (size_t)st.st_size + 2;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len + 1 == cap) { /* full but for the NUL's byte */
			size_t c = MIN(MAX(cap * 2, (size_t)4096), max + 2);
			char *b;

			if (len > max)
				return -EFBIG;
			b = realloc(buf, c);
			if (!b)
				return -ENOMEM;
			buf = b;
			cap = c;
		}
		/* A FIFO without a writer reads as its end: wait for data, or for the end
		 * a writer leaves (poll() sees neither before a writer came). */
		if (!S_ISREG(st.st_mode)) {
			int r = wait_readable(fd, wait_ms);

			if (r < 0)
				return r;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max)
		return -EFBIG;
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

/* log-file.c: writing, rotating and reopening one service's log file. */
#include "log-file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log-format.h"
#include "log-rotate.h"
#include "log.h"
#include "macro.h"

#define LOG_FILE_INITIAL (16U * 1024U)

struct log_file {
	sd_event *event;
	sd_event_source *retry; /* created by the first failure */
	char *name;
	char *dir, *path; /* NULL: no file */
	int fd;           /* -1: opened by the next write */
	uint64_t size;    /* bytes in the current file */
	uint64_t max_size;
	unsigned keep;
	char *buf;
	size_t off, len, cap;
	size_t batch;       /* bytes put since the last flush */
	int error;          /* the failure writing is stuck on, or 0 */
	uint64_t lost;      /* lines dropped during this failure */
	bool rotate_broken; /* a rename failed: no rotation until the next reopen */
};

static void close_file(struct log_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

static int open_file(struct log_file *f)
{
	struct stat st;

	if (f->fd >= 0)
		return 0;
	f->fd = open(f->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
	if (f->fd < 0 && errno == ENOENT && mkdir(f->dir, 0755) == 0)
		f->fd = open(f->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
	if (f->fd < 0)
		return -errno;
	f->size = fstat(f->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

/* Writes the whole buffer. Returns 0 or the negative errno that stopped it. */
static int write_out(struct log_file *f)
{
	int r;

	if (f->off == f->len)
		return 0;
	r = open_file(f);
	if (r < 0)
		return r;
	while (f->off < f->len) {
		ssize_t n = write(f->fd, f->buf + f->off, f->len - f->off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		f->off += (size_t)n;
		f->size += (uint64_t)n;
	}
	f->off = f->len = 0;
	return 0;
}

static int on_retry(sd_event_source *src, uint64_t usec, void *userdata);

static void failing(struct log_file *f, int err)
{
	uint64_t now = 0;

	f->error = err;
	/* Reopened at the next try: the disk may come back as a new mount. */
	close_file(f);
	log_error_errno(err,
			"%s: Failed to write '%s'; keeping up to %u KiB of its lines in memory "
			"and trying again every second",
			f->name,
			f->path,
			LOG_FILE_BUFFER_MAX / 1024);
	if (!f->retry && sd_event_add_time(f->event,
					   &f->retry,
					   CLOCK_MONOTONIC,
					   USEC_INFINITY,
					   100 * USEC_PER_MSEC,
					   on_retry,
					   f) >= 0)
		(void)sd_event_source_set_description(f->retry, "log-file-retry");
	if (f->retry && sd_event_now(f->event, CLOCK_MONOTONIC, &now) >= 0) {
		(void)sd_event_source_set_time(f->retry, now + LOG_FILE_RETRY);
		(void)sd_event_source_set_enabled(f->retry, SD_EVENT_ONESHOT);
	}
}

static bool grow(struct log_file *f, size_t cap)
{
	char *b = realloc(f->buf, cap);

	if (!b)
		return false;
	f->buf = b;
	f->cap = cap;
	return true;
}

/* Makes room for @need bytes at the end of the buffer: grows it up to
 * LOG_FILE_BUFFER_MAX (lines gather that much before a write, or wait that much while
 * writing fails), writes it out when full. */
static bool make_room(struct log_file *f, size_t need)
{
	if (f->cap - f->len >= need)
		return true;
	if (f->cap < LOG_FILE_BUFFER_MAX) {
		size_t cap = MAX(MAX(f->cap * 2, (size_t)LOG_FILE_INITIAL), f->len + need);

		if (grow(f, MIN(cap, (size_t)LOG_FILE_BUFFER_MAX)) && f->cap - f->len >= need)
			return true;
	}
	if (!f->error && f->len > f->off) {
		int r = write_out(f);
		if (r < 0)
			failing(f, r);
	}
	if (f->off > 0) {
		memmove(f->buf, f->buf + f->off, f->len - f->off);
		f->len -= f->off;
		f->off = 0;
	}
	if (f->cap - f->len >= need)
		return true;
	/* A line larger than the buffer gets a buffer of its own size. */
	return f->len == 0 && grow(f, need);
}

static void rotate(struct log_file *f)
{
	char from[PATH_MAX], to[PATH_MAX];
	struct log_rotate_step st;
	bool ok = true;

	close_file(f);
	/* Generations beyond log-keep, left by an earlier and larger log-keep. */
	for (unsigned k = f->keep + 1; k <= f->keep + 1000; k++)
		if (log_rotate_name(f->path, k, from, sizeof(from)) < 0 || unlink(from) < 0)
			break;
	for (unsigned i = 0; log_rotate_step(f->keep, i, &st); i++) {
		if (log_rotate_name(f->path, st.from, from, sizeof(from)) < 0 ||
		    (!st.unlink && log_rotate_name(f->path, st.to, to, sizeof(to)) < 0)) {
			ok = false;
			continue;
		}
		if ((st.unlink ? unlink(from) : rename(from, to)) < 0 && errno != ENOENT) {
			log_warning_errno(-errno,
					  "%s: Failed to rotate '%s'; it grows past log-max-size "
					  "until the next SIGUSR1",
					  f->name,
					  from);
			ok = false;
		}
	}
	f->rotate_broken = !ok;
	f->size = 0;
}

int log_file_new(sd_event *event, const char *name, struct log_file **ret)
{
	struct log_file *f = calloc(1, sizeof(*f));

	if (!f || !(f->name = strdup(name))) {
		free(f);
		return -ENOMEM;
	}
	f->event = event;
	f->fd = -1;
	*ret = f;
	return 0;
}

struct log_file *log_file_free(struct log_file *f)
{
	if (!f)
		return NULL;
	if (f->path && write_out(f) < 0 && !f->error)
		log_warning(
			"%s: Failed to write the last lines to '%s', ignoring", f->name, f->path);
	close_file(f);
	sd_event_source_disable_unref(f->retry);
	free(f->buf);
	free(f->name);
	free(f->dir);
	free(f->path);
	free(f);
	return NULL;
}

int log_file_set_dir(struct log_file *f, const char *dir)
{
	char *d = NULL, *p = NULL;

	if (dir && (!(d = strdup(dir)) || asprintf(&p, "%s/%s.log", dir, f->name) < 0)) {
		free(d);
		return -ENOMEM;
	}
	if (f->path && !f->error && write_out(f) < 0)
		log_warning(
			"%s: Failed to write the last lines to '%s', ignoring", f->name, f->path);
	close_file(f);
	free(f->dir);
	free(f->path);
	f->dir = d;
	f->path = p;
	f->off = f->len = 0;
	f->error = 0;
	f->lost = 0;
	f->rotate_broken = false;
	if (f->retry)
		(void)sd_event_source_set_enabled(f->retry, SD_EVENT_OFF);
	return 0;
}

void log_file_set_limits(struct log_file *f, uint64_t max_size, unsigned keep)
{
	f->max_size = max_size;
	f->keep = keep;
}

bool log_file_enabled(const struct log_file *f)
{
	return f->path != NULL;
}

static void put(struct log_file *f, const char *prefix, size_t prefix_len, const char *text,
		size_t len)
{
	size_t need = prefix_len + len + 1;

	/* Room for a whole LOG_PREFIX_MAX: a constant-size copy costs two moves. */
	if (!make_room(f, MAX(need, (size_t)LOG_PREFIX_MAX))) {
		f->lost++;
		return;
	}
	if (prefix_len <= LOG_PREFIX_MAX)
		memcpy(f->buf + f->len, prefix, LOG_PREFIX_MAX);
	else
		memcpy(f->buf + f->len, prefix, prefix_len);
	memcpy(f->buf + f->len + prefix_len, text, len);
	f->buf[f->len + need - 1] = '\n';
	f->len += need;
	f->batch += need;
}

/* The size to check against log-max-size is the file's own: it is opened first when
 * a line is its first (at start, after SIGUSR1 or a new log-dir), not the last file's. */
static void open_for_size(struct log_file *f)
{
	if (f->fd < 0 && f->max_size > 0 && !f->error) {
		int r = open_file(f);

		if (r < 0)
			failing(f, r);
	}
}

void log_file_append(struct log_file *f, const char *prefix, size_t prefix_len, const char *text,
		     size_t len)
{
	if (!f->path)
		return;
	open_for_size(f);
	if (!f->error && !f->rotate_broken &&
	    log_rotate_due(f->size + (f->len - f->off), prefix_len + len + 1, f->max_size)) {
		int r = write_out(f);

		if (r < 0)
			failing(f, r);
		else
			rotate(f);
	}
	put(f, prefix, prefix_len, text, len);
}

void log_file_append_lines(struct log_file *f, const char *prefix, size_t prefix_len,
			   const char *text, size_t size, const uint32_t *lens, size_t count)
{
	size_t total = size + count * prefix_len;

	if (!f->path)
		return;
	open_for_size(f);
	/* One room check and one size check for all, when no line rotates: the file
	 * takes them all without passing log-max-size. */
	if (!f->error && prefix_len <= LOG_PREFIX_MAX &&
	    (f->rotate_broken || f->max_size == 0 ||
	     f->size + (f->len - f->off) + total <= f->max_size) &&
	    make_room(f, total + LOG_PREFIX_MAX) && !f->error) {
		char *o = f->buf + f->len;

		for (size_t i = 0; i < count; i++) {
			size_t n = (size_t)lens[i] + 1;

			memcpy(o, prefix, LOG_PREFIX_MAX); /* as in put() */
			o += prefix_len;
			memcpy(o, text, n);
			o += n;
			text += n;
		}
		f->len += total;
		f->batch += total;
		return;
	}
	for (size_t i = 0; i < count; i++) {
		log_file_append(f, prefix, prefix_len, text, lens[i]);
		text += (size_t)lens[i] + 1;
	}
}

void log_file_flush(struct log_file *f)
{
	int r;

	if (!f->path || f->error)
		return; /* while failing, only the retry timer writes */
	r = write_out(f);
	if (r < 0) {
		failing(f, r);
		return;
	}
	/* A buffer grown by a burst goes once a batch fits a small one again; the
	 * next line allocates that. */
	if (f->cap > LOG_FILE_INITIAL && f->batch <= LOG_FILE_INITIAL) {
		free(f->buf);
		f->buf = NULL;
		f->cap = 0;
	}
	f->batch = 0;
}

static int on_retry(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct log_file *f = userdata;
	uint64_t lost = f->lost;
	int r;

	r = write_out(f);
	if (r < 0) {
		close_file(f);
		(void)sd_event_source_set_time(src, usec + LOG_FILE_RETRY);
		(void)sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
		return 0;
	}
	f->error = 0;
	f->lost = 0;
	if (lost > 0) {
		char prefix[LOG_PREFIX_MAX], note[160];
		size_t n =
			log_format_prefix(clock_now(CLOCK_REALTIME), LOG_STREAM_ERR, false, prefix);
		int k = snprintf(
			note,
			sizeof(note),
			"vigild: %llu lines were lost while this file could not be written",
			(unsigned long long)lost);

		put(f, prefix, n, note, (size_t)k);
		log_file_flush(f);
	}
	log_info("%s: writing '%s' again (%llu lines lost)",
		 f->name,
		 f->path,
		 (unsigned long long)lost);
	return 0;
}

void log_file_reopen(struct log_file *f)
{
	if (!f->path)
		return;
	log_file_flush(f);
	close_file(f);
	f->rotate_broken = false;
}

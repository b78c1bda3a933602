/* logs.c: capturing service output: pipes read without blocking, cut into lines,
 * each line handed to the tail, the log file and the forwarding sink, with reading
 * paused while a forwarding sink is full. */
#include "logs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log-file.h"
#include "log-format.h"
#include "log-forward.h"
#include "log-out.h"
#include "log-split.h"
#include "log-tail.h"
#include "log.h"
#include "macro.h"

/* One read empties a pipe, grown (below) or not. */
#define LOGS_READ_SIZE (1024U * 1024U)
/* A read at least this large found the default 64 KiB pipe (nearly) full: a writer
 * of 64 KiB chunks leaves it 36 bytes short of full (655 lines of 100 bytes). */
#define LOGS_PIPE_NEARLY_FULL (48U * 1024U)
/* The pipe of a service whose output fills the default 64 KiB grows to this, so
 * that it goes on writing while vigild formats and writes what it read. */
#define LOGS_PIPE_BIG (1024U * 1024U)

/* Whole lines of one read bound for a file are gathered, up to this many or this
 * many bytes, to be copied there in one pass. */
#define LOGS_RUN_LINES 256
#define LOGS_RUN_BYTES (64U * 1024U)

/* One pipe of one run: stdout or stderr. */
#define LOGS_SLOTS (2 * LOGS_RUNS_MAX)

struct pipe_slot {
	struct service_logs *l;
	enum log_stream stream;
	int fd;       /* the read end; -1: a free slot */
	unsigned run; /* the oldest run closes first when all slots are taken */
	sd_event_source *src;
	struct log_splitter split;
	struct log_waiter waiter;    /* queued on a full forwarding sink */
	struct log_out *blocked_on;  /* that sink */
	bool eof;                    /* the pipe ended; the splitter may still hold lines */
	bool force;                  /* closing: a full forwarding sink drops instead */
	bool grown;                  /* the pipe was made LOGS_PIPE_BIG (or that was tried) */
	uint64_t time;               /* CLOCK_REALTIME µs of the last read */
	char prefix[LOG_PREFIX_MAX]; /* the file\'s line prefix for that time */
	size_t prefix_len;
};

struct service_logs {
	struct logs *hub;
	struct service_logs *next; /* the hub's list */
	char *name;
	size_t name_len;
	struct log_tail tail;
	struct log_file *file;
	struct log_out *journal[LOG_STREAM_COUNT]; /* opened by the first line */
	/* Pipes of the runs (stdout and stderr of each): one run's inline; earlier
	 * runs still held open by leftover processes use @extra, allocated when first
	 * needed and never moved (waiters point into slots). */
	struct pipe_slot slots[2];
	struct pipe_slot *extra; /* LOGS_SLOTS - 2 */
	unsigned runs;
	bool appended; /* the tail got lines since readers were last woken */
	bool released; /* the service is gone; freed once its pipes have closed */
	uint64_t forward_lost;
	struct log_reader *readers;
	unsigned n_readers;
};

static size_t slot_count(const struct service_logs *l)
{
	return l->extra ? LOGS_SLOTS : 2;
}

static struct pipe_slot *slot_at(struct service_logs *l, size_t i)
{
	return i < 2 ? &l->slots[i] : &l->extra[i - 2];
}

static void on_ready(struct log_waiter *w);

static void slot_init(struct service_logs *l, struct pipe_slot *sl, size_t i)
{
	*sl = (struct pipe_slot){
		.l = l,
		.stream = i % 2 ? LOG_STREAM_ERR : LOG_STREAM_OUT,
		.fd = -1,
		.waiter = {.on_ready = on_ready},
	};
}

struct log_reader {
	struct logs *hub;
	struct service_logs *l;       /* NULL once the service is gone */
	struct log_reader *next;      /* l->readers */
	struct log_reader *wake_next; /* hub->wake_list */
	bool follow, armed, queued;
	uint64_t end; /* without follow: the first line not to read */
	struct log_tail_cursor cur;
	size_t line_off; /* bytes of the current line already handed out */
	char note[128];
	size_t note_len, note_off;
	log_reader_wake_fn *wake;
	void *userdata;
};

struct logs {
	sd_event *event;
	char *dir;
	bool forward;
	bool journal;        /* forward to journald streams rather than h->out */
	bool close_journals; /* journald failed: close the streams still open (on_wake) */
	bool reap;           /* a released service's pipes have all closed (on_wake) */
	struct log_out *out; /* vigild's stdout, while forwarding there */
	char *readbuf;
	/* While a read is handed out: its end. A line ending further than log-buffer
	 * bytes before it is pushed out of the tail by the lines after it. */
	const char *read_end;
	/* Lines of that read gathered for its service's file: back to back from
	 * @run_start, each with its newline. */
	const char *run_start, *run_end;
	size_t run_count;
	uint32_t run_lens[LOGS_RUN_LINES];
	struct service_logs *services;
	struct log_reader *wake_list;
	sd_event_source *wake_src;
};

/* ---- forwarding ---- */

static void open_stdout(struct logs *h)
{
	int r = log_forward_open_stdout(h->event, &h->out);

	if (r < 0) {
		log_warning_errno(r, "Failed to open stdout for log-forward, not forwarding");
		h->forward = false;
	}
}

/* Where a line of @s goes besides the tail and the file, or NULL. */
static struct log_out *forward_sink(struct service_logs *l, enum log_stream s)
{
	struct logs *h = l->hub;
	int r;

	if (!h->forward)
		return NULL;
	if (!h->journal) {
		/* Opened at the first line: a run that prints nothing never opens it. */
		if (!h->out)
			open_stdout(h);
		return h->out;
	}
	if (l->journal[s])
		return l->journal[s];
	r = log_forward_open_journal(
		h->event, l->name, s == LOG_STREAM_ERR ? LOG_WARNING : LOG_INFO, &l->journal[s]);
	if (r >= 0)
		return l->journal[s];
	log_warning_errno(r, "Failed to connect to journald, forwarding to stdout instead");
	h->journal = false;
	/* The other services' streams are closed from the loop: freeing a sink here
	 * would run its waiters inside this line's handling. */
	h->close_journals = true;
	(void)sd_event_source_set_enabled(h->wake_src, SD_EVENT_ONESHOT);
	open_stdout(h);
	return h->out;
}

/* ---- readers ---- */

static void wake_readers(struct service_logs *l)
{
	struct logs *h = l->hub;

	for (struct log_reader *r = l->readers; r; r = r->next)
		if (r->armed && !r->queued) {
			r->queued = true;
			r->wake_next = h->wake_list;
			h->wake_list = r;
			(void)sd_event_source_set_enabled(h->wake_src, SD_EVENT_ONESHOT);
		}
}

/* Flushes and closes every service's journald streams (the waiters that freeing
 * wakes see h->journal off and go to stdout or nowhere). */
static void close_journals(struct logs *h)
{
	h->close_journals = false;
	for (struct service_logs *l = h->services; l; l = l->next)
		for (size_t s = 0; s < LOG_STREAM_COUNT; s++) {
			if (l->journal[s])
				log_out_flush(l->journal[s]);
			log_out_free(TAKE_PTR(l->journal[s]));
		}
}

static bool all_closed(struct service_logs *l);

static int on_wake(sd_event_source *src, void *userdata)
{
	struct logs *h = userdata;
	struct log_reader *r;

	(void)src;
	if (h->close_journals)
		close_journals(h);
	if (h->reap) {
		h->reap = false;
		for (struct service_logs *l = h->services, *next; l; l = next) {
			next = l->next;
			if (l->released && all_closed(l))
				(void)service_logs_free(l);
		}
	}
	/* One at a time from the head: a callback may free any reader. */
	while ((r = h->wake_list)) {
		h->wake_list = r->wake_next;
		r->queued = r->armed = false;
		r->wake(r, r->userdata);
	}
	return 0;
}

/* ---- capture ---- */

/* Whether @p points into the read being handed out (rather than a held line). */
static bool in_read(const struct logs *h, const char *p)
{
	return h->read_end && (uintptr_t)p >= (uintptr_t)h->readbuf &&
	       (uintptr_t)p < (uintptr_t)h->read_end;
}

/* Whether a line of that read ending before @end is pushed out of the tail again by
 * the rest of the read: every line after it costs the tail more than its bytes. */
static bool pushed_out(const struct service_logs *l, const char *end)
{
	return l->hub->read_end - end >= (ptrdiff_t)l->tail.max;
}

static void flush_run(struct pipe_slot *sl)
{
	struct logs *h = sl->l->hub;

	if (h->run_count == 0)
		return;
	log_file_append_lines(sl->l->file,
			      sl->prefix,
			      sl->prefix_len,
			      h->run_start,
			      (size_t)(h->run_end - h->run_start),
			      h->run_lens,
			      h->run_count);
	h->run_count = 0;
}

/* Adds a whole line of the read (@n bytes and its newline) to the run. */
static void run_add(struct pipe_slot *sl, const char *p, size_t n)
{
	struct logs *h = sl->l->hub;

	if (h->run_count > 0 && p != h->run_end)
		flush_run(sl);
	if (h->run_count == 0)
		h->run_start = p;
	h->run_lens[h->run_count++] = (uint32_t)n;
	h->run_end = p + n + 1;
	if (h->run_count == LOGS_RUN_LINES || (size_t)(h->run_end - h->run_start) >= LOGS_RUN_BYTES)
		flush_run(sl);
}

/* Hands a line to the file: whole lines of a read join the run, others flush it and
 * go alone (a piece of a long line, a held partial line). */
static void to_file(struct pipe_slot *sl, const char *p, size_t n, bool continued)
{
	struct logs *h = sl->l->hub;
	char prefix[LOG_PREFIX_MAX];

	if (!continued && in_read(h, p) && (size_t)(h->read_end - p) > n && p[n] == '\n') {
		run_add(sl, p, n);
		return;
	}
	flush_run(sl);
	if (continued)
		log_file_append(sl->l->file,
				prefix,
				log_format_prefix(sl->time, sl->stream, true, prefix),
				p,
				n);
	else
		log_file_append(sl->l->file, sl->prefix, sl->prefix_len, p, n);
}

static bool on_line(const char *p, size_t n, bool continued, void *userdata)
{
	struct pipe_slot *sl = userdata;
	struct service_logs *l = sl->l;
	struct log_out *o = forward_sink(l, sl->stream);
	bool journal = o && o != l->hub->out;

	/* Every sink takes the line, or none: the tail and the file never refuse. */
	if (o && !log_out_reserve(o, (journal ? 0 : l->name_len + 3) + n + 1)) {
		if (!sl->force) {
			sl->blocked_on = o;
			return false;
		}
		l->forward_lost++;
		o = NULL;
	}
	if (in_read(l->hub, p) && pushed_out(l, p + n + 1)) {
		log_tail_skip(&l->tail, 1);
		l->appended = true;
	} else if (log_tail_append(&l->tail, sl->time, sl->stream, continued, p, n) == 0)
		l->appended = true;
	if (log_file_enabled(l->file))
		to_file(sl, p, n, continued);
	if (o) {
		if (!journal) {
			log_out_append(o, l->name, l->name_len);
			log_out_append(o, continued ? " + " : " | ", 3);
		}
		log_out_append(o, p, n);
		log_out_append(o, "\n", 1);
	}
	return true;
}

/* A read when nothing is forwarded and the splitter holds nothing (the common case):
 * its whole lines go to the tail and the file here, as on_line() would hand them
 * out, without a call per line. Returns the bytes taken; the splitter gets the rest
 * (a partial last line, a line longer than LOG_LINE_MAX). */
static size_t take_whole_lines(struct pipe_slot *sl, const char *p, size_t n)
{
	struct service_logs *l = sl->l;
	bool file = log_file_enabled(l->file);
	uint64_t skipped = 0;
	size_t done = 0;

	while (done < n) {
		const char *q = p + done;
		size_t len, used = log_split_next(q, n - done, LOG_LINE_MAX, &len);

		if (used == 0 || used == len)
			break; /* partial, or the first piece of a long line */
		if (pushed_out(l, q + used))
			skipped++;
		else {
			log_tail_skip(&l->tail, skipped);
			skipped = 0;
			(void)log_tail_append(&l->tail, sl->time, sl->stream, false, q, len);
		}
		if (file)
			run_add(sl, q, len);
		done += used;
	}
	log_tail_skip(&l->tail, skipped);
	if (done > 0)
		l->appended = true;
	return done;
}

/* What every batch of lines ends with: files and sinks written, readers woken. */
static void after_lines(struct service_logs *l)
{
	log_file_flush(l->file);
	if (l->hub->out)
		log_out_flush(l->hub->out);
	for (size_t s = 0; s < LOG_STREAM_COUNT; s++)
		if (l->journal[s])
			log_out_flush(l->journal[s]);
	if (l->appended) {
		l->appended = false;
		wake_readers(l);
	}
}

static void pause_slot(struct pipe_slot *sl)
{
	(void)sd_event_source_set_enabled(sl->src, SD_EVENT_OFF);
	if (sl->blocked_on)
		log_out_wait(sl->blocked_on, &sl->waiter);
}

static void close_slot(struct pipe_slot *sl)
{
	if (sl->blocked_on)
		log_out_cancel_wait(sl->blocked_on, &sl->waiter);
	sl->src = sd_event_source_disable_unref(sl->src);
	if (sl->fd >= 0)
		close(sl->fd);
	log_splitter_clear(&sl->split);
	*sl = (struct pipe_slot){.l = sl->l, .stream = sl->stream, .fd = -1, .waiter = sl->waiter};
}

/* Hands out what the slot holds (at EOF, the last line too). Returns false when a
 * sink refused: the slot is paused. */
static bool hand_out_held(struct pipe_slot *sl)
{
	bool done = sl->eof ? log_splitter_finish(&sl->split, on_line, sl)
			    : log_splitter_resume(&sl->split, on_line, sl);

	if (!done)
		pause_slot(sl);
	else if (sl->eof)
		close_slot(sl);
	return done;
}

/* Reads and hands out one chunk. Returns the bytes read, 0 at EOF, or -errno. */
static ssize_t read_chunk(struct pipe_slot *sl)
{
	struct service_logs *l = sl->l;
	size_t taken;
	ssize_t n;
	int r;

	do
		n = read(sl->fd, l->hub->readbuf, LOGS_READ_SIZE);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return -EAGAIN;
	if (n <= 0) {
		/* An error ends the pipe as EOF does. */
		if (n < 0)
			log_debug_errno(-errno, "%s: Failed to read its output", l->name);
		sl->eof = true;
		(void)hand_out_held(sl);
		return 0;
	}
	if ((size_t)n >= LOGS_PIPE_NEARLY_FULL && !sl->grown) {
		/* Only heavy writers: an unprivileged user's pipe buffers count against
		 * fs.pipe-user-pages-soft, past which every new pipe of his is tiny. */
		sl->grown = true;
		if (fcntl(sl->fd, F_SETPIPE_SZ, (int)LOGS_PIPE_BIG) < 0)
			log_debug_errno(-errno, "%s: Failed to grow its pipe, ignoring", l->name);
	}
	sl->time = clock_now(CLOCK_REALTIME);
	/* The lines of one read share their time, so their prefix is made once. */
	sl->prefix_len = log_format_prefix(sl->time, sl->stream, false, sl->prefix);
	l->hub->read_end = l->hub->readbuf + n;
	taken = !l->hub->forward && sl->split.len == 0 && !sl->split.continued
			? take_whole_lines(sl, l->hub->readbuf, (size_t)n)
			: 0;
	r = log_splitter_feed(&sl->split, l->hub->readbuf + taken, (size_t)n - taken, on_line, sl);
	flush_run(sl);
	l->hub->read_end = NULL;
	if (r < 0)
		log_error_errno(r, "%s: Failed to keep a partial line, dropping it", l->name);
	if (sl->split.stopped)
		pause_slot(sl);
	return n;
}

/* A released service's last pipe has closed: it is freed from the loop, out of this
 * callback (its slots are still in use here). */
static void reap_if_done(struct service_logs *l)
{
	if (l->released && all_closed(l)) {
		l->hub->reap = true;
		(void)sd_event_source_set_enabled(l->hub->wake_src, SD_EVENT_ONESHOT);
	}
}

static int on_pipe(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct pipe_slot *sl = userdata;
	struct service_logs *l = sl->l;

	(void)src;
	(void)fd;
	(void)revents;
	/* One read per wakeup (it empties the pipe) before the loop serves others. */
	(void)read_chunk(sl);
	after_lines(l);
	reap_if_done(l);
	return 0;
}

static void on_ready(struct log_waiter *w)
{
	struct pipe_slot *sl = (struct pipe_slot *)((char *)w - offsetof(struct pipe_slot, waiter));

	sl->blocked_on = NULL;
	if (sl->fd < 0)
		return;
	if (hand_out_held(sl) && sl->fd >= 0)
		(void)sd_event_source_set_enabled(sl->src, SD_EVENT_ON);
	after_lines(sl->l);
	reap_if_done(sl->l);
}

/* Reads what @sl holds now and closes it; lines a full forwarding sink cannot take
 * are dropped from forwarding only (the tail and the file get them). */
static void force_close(struct pipe_slot *sl)
{
	sl->force = true;
	if (sl->blocked_on) {
		log_out_cancel_wait(sl->blocked_on, &sl->waiter);
		sl->blocked_on = NULL;
	}
	if (!sl->eof)
		(void)log_splitter_resume(&sl->split, on_line, sl);
	/* What the pipe holds now, at most: a process left behind that keeps writing
	 * must not keep vigild here. */
	for (unsigned i = 0; i <= LOGS_PIPE_BIG / LOGS_READ_SIZE && sl->fd >= 0; i++)
		if (read_chunk(sl) <= 0)
			break;
	if (sl->fd >= 0) {
		sl->eof = true;
		(void)hand_out_held(sl);
	}
}

/* ---- the hub ---- */

int logs_new(sd_event *event, struct logs **ret)
{
	struct logs *h = calloc(1, sizeof(*h));
	int r;

	if (!h)
		return -ENOMEM;
	h->event = event;
	/* Mapped apart from the heap: its pages cost nothing until a heavy writer's
	 * read touches them, and it takes no freed heap memory (a 1 MiB malloc() landed
	 * on what config parsing had freed: +0.7 MiB PSS with 1000 quiet services). */
	h->readbuf = mmap(
		NULL, LOGS_READ_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (h->readbuf == MAP_FAILED) {
		free(h);
		return -ENOMEM;
	}
	r = sd_event_add_defer(event, &h->wake_src, on_wake, h);
	if (r < 0) {
		munmap(h->readbuf, LOGS_READ_SIZE);
		free(h);
		return r;
	}
	(void)sd_event_source_set_enabled(h->wake_src, SD_EVENT_OFF);
	(void)sd_event_source_set_description(h->wake_src, "log-readers");
	*ret = h;
	return 0;
}

struct logs *logs_free(struct logs *h)
{
	if (!h)
		return NULL;
	while (h->services)
		service_logs_free(h->services);
	h->forward = false;
	log_out_free(TAKE_PTR(h->out));
	sd_event_source_disable_unref(h->wake_src);
	munmap(h->readbuf, LOGS_READ_SIZE);
	free(h->dir);
	free(h);
	return NULL;
}

static void stop_forwarding(struct logs *h)
{
	/* Off first: the waiters that freeing wakes go on without forwarding. */
	h->forward = false;
	h->journal = false;
	if (h->out)
		log_out_flush(h->out);
	log_out_free(TAKE_PTR(h->out));
	close_journals(h);
}

int logs_configure(struct logs *h, const char *dir, bool forward)
{
	int r = 0;

	if (!(dir == h->dir || (dir && h->dir && STREQ(dir, h->dir)))) {
		char *d = NULL;

		if (dir && !(d = strdup(dir)))
			return -ENOMEM;
		free(h->dir);
		h->dir = d;
		/* Creates log-dir's last component; a failure shows when a file opens. */
		if (d && mkdir(d, 0755) < 0 && errno != EEXIST)
			log_debug_errno(-errno, "Failed to create '%s'", d);
		for (struct service_logs *l = h->services; l; l = l->next)
			if (log_file_set_dir(l->file, d) < 0)
				r = -ENOMEM;
	}
	if (forward && !h->forward) {
		h->forward = true;
		h->journal = log_forward_stdout_is_journal();
	} else if (!forward && h->forward)
		stop_forwarding(h);
	return r;
}

void logs_reopen(struct logs *h)
{
	for (struct service_logs *l = h->services; l; l = l->next)
		log_file_reopen(l->file);
}

/* Hands out everything @sl holds and can still read, waiting for a full forwarding
 * sink until @deadline. */
static void drain_slot(struct pipe_slot *sl, uint64_t deadline)
{
	while (sl->fd >= 0) {
		/* A writer that never stops must not hold vigild's exit past @deadline. */
		if (clock_now(CLOCK_MONOTONIC) >= deadline)
			return;
		if (sl->split.stopped || (sl->eof && sl->blocked_on)) {
			struct log_out *o = sl->blocked_on;

			if (o) {
				log_out_cancel_wait(o, &sl->waiter);
				sl->blocked_on = NULL;
				if (!log_out_drain(o, deadline))
					return; /* stdout stays full: logs_free() drops the rest */
			}
			if (!hand_out_held(sl))
				continue;
			if (sl->fd < 0)
				return;
		}
		if (read_chunk(sl) < 0)
			return; /* EAGAIN: a writer outside vigild's tree still holds it */
	}
}

void logs_drain(struct logs *h)
{
	uint64_t deadline = clock_now(CLOCK_MONOTONIC) + LOGS_DRAIN_TIMEOUT;

	for (struct service_logs *l = h->services; l; l = l->next) {
		for (size_t i = 0; i < slot_count(l); i++)
			drain_slot(slot_at(l, i), deadline);
		log_file_flush(l->file);
		for (size_t s = 0; s < LOG_STREAM_COUNT; s++)
			if (l->journal[s])
				(void)log_out_drain(l->journal[s], deadline);
	}
	if (h->out && !log_out_drain(h->out, deadline))
		log_warning("stdout was not read for %us: %zu bytes of forwarded lines are dropped",
			    LOGS_DRAIN_TIMEOUT / (unsigned)USEC_PER_SEC,
			    log_out_pending(h->out));
}

/* ---- one service ---- */

int service_logs_new(struct logs *h, const char *name, struct service_logs **ret)
{
	struct service_logs *l = calloc(1, sizeof(*l));
	int r;

	if (!l || !(l->name = strdup(name))) {
		free(l);
		return -ENOMEM;
	}
	l->hub = h;
	l->name_len = strlen(name);
	log_tail_init(&l->tail, 0);
	for (size_t i = 0; i < ELEMENTSOF(l->slots); i++)
		slot_init(l, &l->slots[i], i);
	r = log_file_new(h->event, name, &l->file);
	if (r >= 0)
		r = log_file_set_dir(l->file, h->dir);
	if (r < 0) {
		log_file_free(l->file);
		free(l->name);
		free(l);
		return r;
	}
	l->next = h->services;
	h->services = l;
	*ret = l;
	return 0;
}

static bool all_closed(struct service_logs *l)
{
	for (size_t i = 0; i < slot_count(l); i++)
		if (slot_at(l, i)->fd >= 0)
			return false;
	return true;
}

/* Readers see the end; a waiting one is woken to find it. */
static void end_readers(struct service_logs *l)
{
	struct logs *h = l->hub;

	while (l->readers) {
		struct log_reader *r = l->readers;

		l->readers = r->next;
		r->next = NULL;
		r->l = NULL;
		if (r->armed && !r->queued) {
			r->queued = true;
			r->wake_next = h->wake_list;
			h->wake_list = r;
			(void)sd_event_source_set_enabled(h->wake_src, SD_EVENT_ONESHOT);
		}
	}
}

void service_logs_release(struct service_logs *l)
{
	if (!l)
		return;
	end_readers(l);
	l->released = true;
	if (all_closed(l))
		(void)service_logs_free(l);
}

struct service_logs *service_logs_free(struct service_logs *l)
{
	struct logs *h;

	if (!l)
		return NULL;
	h = l->hub;
	for (size_t i = 0; i < slot_count(l); i++)
		if (slot_at(l, i)->fd >= 0)
			force_close(slot_at(l, i));
	if (l->forward_lost > 0)
		log_warning("%s: %llu lines were not forwarded: stdout was full when it went away",
			    l->name,
			    (unsigned long long)l->forward_lost);
	after_lines(l);
	for (size_t s = 0; s < LOG_STREAM_COUNT; s++)
		log_out_free(l->journal[s]);
	log_file_free(l->file);
	end_readers(l);
	for (struct service_logs **i = &h->services; *i; i = &(*i)->next)
		if (*i == l) {
			*i = l->next;
			break;
		}
	log_tail_clear(&l->tail);
	free(l->extra);
	free(l->name);
	free(l);
	return NULL;
}

void service_logs_set_limits(struct service_logs *l, uint64_t max_size, unsigned keep,
			     uint64_t buffer)
{
	log_file_set_limits(l->file, max_size, keep);
	if (log_tail_set_max(&l->tail, (size_t)buffer) < 0)
		log_warning("%s: Failed to resize its log-buffer: out of memory, emptied it",
			    l->name);
}

/* True when no process holds @sl's pipe open for writing any more (a closed slot
 * too): what is left in it is data, waiting for a slow sink. */
static bool writerless(const struct pipe_slot *sl)
{
	struct pollfd p = {.fd = sl->fd, .events = POLLIN};

	return sl->fd < 0 || (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP));
}

/* The pair of slots at @i (a run's stdout and stderr) is free. */
static bool pair_free(struct service_logs *l, size_t i)
{
	return slot_at(l, i)->fd < 0 && slot_at(l, i + 1)->fd < 0;
}

/* The run of the pair at @i is over, processes it left included: what its pipes
 * hold only waits for a slow sink. */
static bool pair_ended(struct service_logs *l, size_t i)
{
	return writerless(slot_at(l, i)) && writerless(slot_at(l, i + 1));
}

/* Finds a free pair of slots: the inline one, else one of @extra (allocated now, the
 * first time leftovers hold a run's pipes), else the oldest run's, closed. */
static size_t free_pair(struct service_logs *l)
{
	for (;;) {
		size_t oldest = 0;

		for (size_t i = 0; i < slot_count(l); i += 2) {
			if (pair_free(l, i))
				return i;
			if (slot_at(l, i)->run < slot_at(l, oldest)->run)
				oldest = i;
		}
		if (!l->extra && (l->extra = calloc(LOGS_SLOTS - 2, sizeof(*l->extra)))) {
			for (size_t i = 2; i < LOGS_SLOTS; i++)
				slot_init(l, slot_at(l, i), i);
			return 2;
		}
		if (pair_ended(l, oldest))
			log_warning("%s: the output of %u earlier runs waits for a slow sink: "
				    "closing the oldest run's pipes (their lines go to the tail "
				    "and the file, not all to forwarding)",
				    l->name,
				    LOGS_RUNS_MAX);
		else
			log_warning("%s: processes left behind by earlier runs still hold %u "
				    "output pipes: closing the oldest",
				    l->name,
				    LOGS_RUNS_MAX);
		for (size_t i = oldest; i < oldest + 2; i++)
			if (slot_at(l, i)->fd >= 0)
				force_close(slot_at(l, i));
	}
}

bool service_logs_backlogged(struct service_logs *l)
{
	bool any = false;

	if (!l->extra)
		return false; /* the other runs' slots are not even allocated */
	for (size_t i = 0; i < LOGS_SLOTS; i += 2) {
		if (pair_free(l, i))
			return false;
		any |= pair_ended(l, i);
	}
	return any;
}

int service_logs_open_run(struct service_logs *l, int *ret_out, int *ret_err)
{
	size_t base = free_pair(l);
	int w[2] = {-1, -1};
	int r = 0;

	l->runs++;
	for (size_t s = 0; s < 2 && r >= 0; s++) {
		struct pipe_slot *sl = slot_at(l, base + s);
		int p[2];

		if (pipe2(p, O_CLOEXEC) < 0) {
			r = -errno;
			break;
		}
		/* Only vigild's end is non-blocking: a child that writes faster than its
		 * sinks take must wait in write(2), not lose lines (notes §3). */
		if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
			r = -errno;
			close(p[0]);
			close(p[1]);
			break;
		}
		sl->fd = p[0];
		sl->run = l->runs;
		w[s] = p[1];
		r = sd_event_add_io(l->hub->event, &sl->src, p[0], EPOLLIN, on_pipe, sl);
		if (r >= 0)
			(void)sd_event_source_set_description(sl->src, l->name);
	}
	if (r < 0) {
		for (size_t s = 0; s < 2; s++) {
			if (w[s] >= 0)
				close(w[s]);
			if (slot_at(l, base + s)->fd >= 0)
				close_slot(slot_at(l, base + s));
		}
		return r;
	}
	*ret_out = w[0];
	*ret_err = w[1];
	return 0;
}

void service_logs_note(struct service_logs *l, const char *text)
{
	uint64_t now = clock_now(CLOCK_REALTIME);
	char prefix[LOG_PREFIX_MAX];
	size_t n = strlen(text);

	if (log_tail_append(&l->tail, now, LOG_STREAM_ERR, false, text, n) == 0)
		l->appended = true;
	if (log_file_enabled(l->file))
		log_file_append(l->file,
				prefix,
				log_format_prefix(now, LOG_STREAM_ERR, false, prefix),
				text,
				n);
	after_lines(l);
}

unsigned service_logs_open_pipes(const struct service_logs *l)
{
	unsigned n = 0;

	for (size_t i = 0; i < slot_count(l); i++)
		n += slot_at((struct service_logs *)l, i)->fd >= 0;
	return n;
}

/* ---- readers ---- */

int service_logs_reader_new(struct service_logs *l, size_t lines, bool follow,
			    log_reader_wake_fn *wake, void *userdata, struct log_reader **ret)
{
	struct log_reader *r;

	if (l->n_readers >= LOGS_READERS_MAX)
		return -EMFILE;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->hub = l->hub;
	r->l = l;
	r->follow = follow;
	r->wake = wake;
	r->userdata = userdata;
	log_tail_seek_last(&l->tail, lines, &r->cur);
	r->end = follow ? UINT64_MAX : l->tail.next_seq;
	r->next = l->readers;
	l->readers = r;
	l->n_readers++;
	*ret = r;
	return 0;
}

ssize_t log_reader_read(struct log_reader *r, char *buf, size_t size)
{
	size_t done = 0;

	while (done < size) {
		struct log_tail_entry e;
		char prefix[LOG_PREFIX_MAX];
		size_t plen, total;
		int k;

		if (r->note_off < r->note_len) {
			size_t n = MIN(size - done, r->note_len - r->note_off);

			memcpy(buf + done, r->note + r->note_off, n);
			r->note_off += n;
			done += n;
			continue;
		}
		if (!r->l || r->cur.seq >= r->end)
			break;
		k = log_tail_peek(&r->l->tail, &r->cur, &e);
		if (k == -EAGAIN)
			break;
		if (k > 0) {
			/* A line cut short by the drop still ends with its newline. */
			int n = snprintf(r->note,
					 sizeof(r->note),
					 "%svigild: %d lines skipped: the reader was too slow\n",
					 r->line_off > 0 ? "\n" : "",
					 k);

			r->note_len = (size_t)n;
			r->note_off = 0;
			r->line_off = 0;
			continue;
		}
		plen = log_format_prefix(e.time, e.stream, e.continued, prefix);
		total = plen + e.len + 1;
		while (r->line_off < total && done < size) {
			size_t n;

			if (r->line_off < plen) {
				n = MIN(plen - r->line_off, size - done);
				memcpy(buf + done, prefix + r->line_off, n);
			} else if (r->line_off < plen + e.len)
				n = log_tail_copy(&r->l->tail,
						  &e,
						  r->line_off - plen,
						  buf + done,
						  size - done);
			else {
				buf[done] = '\n';
				n = 1;
			}
			done += n;
			r->line_off += n;
		}
		if (r->line_off == total) {
			log_tail_advance(&r->l->tail, &r->cur, &e);
			r->line_off = 0;
		}
	}
	if (done > 0)
		return (ssize_t)done;
	if (!r->l || r->cur.seq >= r->end)
		return 0;
	r->armed = true;
	return -EAGAIN;
}

struct log_reader *log_reader_free(struct log_reader *r)
{
	if (!r)
		return NULL;
	if (r->l) {
		for (struct log_reader **i = &r->l->readers; *i; i = &(*i)->next)
			if (*i == r) {
				*i = r->next;
				break;
			}
		r->l->n_readers--;
	}
	if (r->queued)
		for (struct log_reader **i = &r->hub->wake_list; *i; i = &(*i)->wake_next)
			if (*i == r) {
				*i = r->wake_next;
				break;
			}
	free(r);
	return NULL;
}

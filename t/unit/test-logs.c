/* test-logs.c: capture with real pipes and a real sd-event loop: lines reach the
 * tail, the file and stdout in order, readers follow, a full stdout pauses reading
 * without losing a line. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <systemd/sd-event.h>

#include "log-file.h"
#include "log-split.h"
#include "logs.h"
#include "macro.h"

static char dir[64];
static sd_event *event;
static struct logs *hub;
static int saved_stdout = -1;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/vigil-logs.XXXXXX");
	cr_assert(mkdtemp(dir));
	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(sd_event_new(&event), 0);
	cr_assert_eq(logs_new(event, &hub), 0);
}

static void teardown(void)
{
	char cmd[128];

	hub = logs_free(hub);
	event = sd_event_unref(event);
	if (saved_stdout >= 0) {
		dup2(saved_stdout, STDOUT_FILENO);
		close(saved_stdout);
		saved_stdout = -1;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
}

TestSuite(logs, .init = setup, .fini = teardown, .timeout = 60);

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the loop until the service's pipes are closed. */
static bool run_until_closed(struct service_logs *l, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;

	while (service_logs_open_pipes(l) > 0) {
		if (now_ms() > end)
			return false;
		cr_assert_geq(sd_event_run(event, 10 * 1000), 0);
	}
	return true;
}

/* "line 0\nline 2\n..." for the even (stdout) or odd (stderr) numbers below @n. */
static char *numbered(long n, int parity, size_t *ret_len)
{
	char *text = malloc((size_t)n * 8 + 16), *p = text;

	for (long k = parity; k < n; k += 2)
		p += sprintf(p, "line %ld\n", k);
	*ret_len = (size_t)(p - text);
	return text;
}

/* Forks a child that writes @out and @err in 4 KiB chunks, alternating, as a
 * program's stdio would, then exits. Only write(2) after the fork. */
static pid_t spawn_writer(int out_w, int err_w, const char *out, size_t out_len, const char *err,
			  size_t err_len)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		size_t o = 0, e = 0;

		while (o < out_len || e < err_len) {
			if (o < out_len) {
				ssize_t n = write(out_w, out + o, MIN((size_t)4096, out_len - o));
				if (n <= 0)
					_exit(1);
				o += (size_t)n;
			}
			if (e < err_len) {
				ssize_t n = write(err_w, err + e, MIN((size_t)4096, err_len - e));
				if (n <= 0)
					_exit(1);
				e += (size_t)n;
			}
		}
		_exit(0);
	}
	close(out_w);
	close(err_w);
	return pid;
}

static void reap(pid_t pid)
{
	int st;

	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the writer failed: %d", st);
}

/* Reads everything a non-following reader gives into a new string. */
static char *read_all(struct log_reader *r, size_t chunk)
{
	size_t cap = 1 << 20, len = 0;
	char *s = malloc(cap);
	ssize_t n;

	for (;;) {
		if (cap - len < chunk + 1)
			s = realloc(s, cap *= 2);
		n = log_reader_read(r, s + len, chunk);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	cr_assert_eq(n, 0);
	s[len] = '\0';
	return s;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;
	long len;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = malloc((size_t)len + 1);
	len = (long)fread(s, 1, (size_t)len, f);
	s[len] = '\0';
	fclose(f);
	return s;
}

/* Checks that @text holds lines "... out line N" for every even N < @n and
 * "... err line N" for every odd one, each stream in order. */
static void check_flood(const char *text, long n)
{
	long next[2] = {0, 1};
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		const char *sp = strchr(p, ' ');
		long k;
		int s;

		cr_assert_not_null(nl);
		cr_assert(sp && sp < nl, "no prefix: %.40s", p);
		cr_assert(sp - p == 24 && p[19] == '.' && p[23] == 'Z', "bad timestamp: %.40s", p);
		s = strncmp(sp + 1, "err ", 4) == 0;
		cr_assert(s || strncmp(sp + 1, "out ", 4) == 0, "bad stream: %.40s", p);
		/* strtol, not sscanf: sscanf measures the whole rest of the text. */
		cr_assert_eq(strncmp(sp + 5, "line ", 5), 0, "%.40s", p);
		k = strtol(sp + 10, NULL, 10);
		cr_assert_eq(k, next[s], "expected %ld, got %ld", next[s], k);
		next[s] += 2;
		p = nl + 1;
	}
	cr_assert_eq(next[0], n);
	cr_assert_eq(next[1], n + 1);
}

Test(logs, a_flood_of_200000_lines_reaches_the_file_and_the_tail_in_order)
{
	struct service_logs *l;
	struct log_reader *r;
	size_t out_len, err_len;
	char *out = numbered(200000, 0, &out_len), *err = numbered(200000, 1, &err_len);
	char path[128], *text;
	int ow, ew;
	pid_t pid;

	cr_assert_eq(logs_configure(hub, dir, false), 0);
	cr_assert_eq(service_logs_new(hub, "flood", &l), 0);
	service_logs_set_limits(l, 0, 5, 16 << 20);
	cr_assert_eq(service_logs_open_run(l, &ow, &ew), 0);
	pid = spawn_writer(ow, ew, out, out_len, err, err_len);
	cr_assert(run_until_closed(l, 30000));
	reap(pid);

	cr_assert_eq(service_logs_reader_new(l, 1000000, false, NULL, NULL, &r), 0);
	text = read_all(r, 4096);
	check_flood(text, 200000);
	free(text);
	log_reader_free(r);

	service_logs_free(l); /* writes the file out */
	snprintf(path, sizeof(path), "%s/flood.log", dir);
	text = slurp(path);
	cr_assert_not_null(text);
	check_flood(text, 200000);
	free(text);
	free(out);
	free(err);
}

Test(logs, a_last_line_without_newline_is_kept_when_the_pipe_ends)
{
	struct service_logs *l;
	struct log_reader *r;
	char *text;
	int ow, ew;

	cr_assert_eq(service_logs_new(hub, "s", &l), 0);
	service_logs_set_limits(l, 0, 5, 4096);
	cr_assert_eq(service_logs_open_run(l, &ow, &ew), 0);
	cr_assert_eq(write(ow, "first\nlast words", 16), 16);
	cr_assert_eq(write(ew, "no newline either", 17), 17);
	close(ow);
	close(ew);
	cr_assert(run_until_closed(l, 5000));
	cr_assert_eq(service_logs_reader_new(l, 10, false, NULL, NULL, &r), 0);
	text = read_all(r, 7); /* small chunks: lines cross calls */
	cr_assert(strstr(text, " out first\n"), "%s", text);
	cr_assert(strstr(text, " out last words\n"), "%s", text);
	cr_assert(strstr(text, " err no newline either\n"), "%s", text);
	free(text);
	log_reader_free(r);
	service_logs_free(l);
}

/* One read of most of a megabyte into a 4 KiB tail: the lines the rest of the read
 * would push out are counted, not stored; the tail ends with the newest, the file
 * has them all, and a follower is told how many it missed. */
Test(logs, a_big_read_keeps_the_newest_lines_in_the_tail_and_all_in_the_file)
{
	const long n = 80000;
	struct service_logs *l;
	struct log_reader *r, *follower;
	char path[128], *text, *big = malloc(1 << 20), *p = big;
	size_t len = 0;
	ssize_t k;
	long first, missed;
	int ow, ew;

	cr_assert_eq(logs_configure(hub, dir, false), 0);
	cr_assert_eq(service_logs_new(hub, "big", &l), 0);
	service_logs_set_limits(l, 0, 5, 4096);
	cr_assert_eq(service_logs_open_run(l, &ow, &ew), 0);
	cr_assert_eq(service_logs_reader_new(l, 0, true, NULL, NULL, &follower), 0);
	cr_assert_geq(fcntl(ow, F_SETPIPE_SZ, 1 << 20), 1 << 20);
	for (long i = 0; i < n; i++)
		p += sprintf(p, "line %ld\n", i);
	cr_assert_eq(write(ow, big, (size_t)(p - big)), p - big);
	close(ow);
	close(ew);
	cr_assert(run_until_closed(l, 5000));

	/* The follower: the note, then the kept lines up to the last. */
	while ((k = log_reader_read(follower, big + len, 4096)) > 0)
		len += (size_t)k;
	big[len] = '\0';
	cr_assert_eq(sscanf(big, "vigild: %ld lines skipped", &missed), 1, "%.80s", big);
	p = strchr(big, '\n') + 1;
	cr_assert_eq(strncmp(p + 25, "out line ", 9), 0, "%.60s", p);
	first = strtol(p + 34, NULL, 10);
	cr_assert_eq(first, missed, "the first kept line follows the skipped ones");
	cr_assert_gt(first, n - 4096 / 16, "the tail holds at most 4 KiB");
	cr_assert(strstr(p, " out line 79999\n"), "the newest line is kept");
	log_reader_free(follower);

	cr_assert_eq(service_logs_reader_new(l, 1000000, false, NULL, NULL, &r), 0);
	text = read_all(r, 4096);
	cr_assert_eq(strcmp(text, p), 0, "the tail is the follower's lines");
	free(text);
	log_reader_free(r);

	service_logs_free(l);
	snprintf(path, sizeof(path), "%s/big.log", dir);
	text = slurp(path);
	cr_assert_not_null(text);
	p = text;
	for (long i = 0; i < n; i++) {
		cr_assert_eq(strncmp(p + 25, "out line ", 9), 0, "%.60s", p);
		cr_assert_eq(strtol(p + 34, &p, 10), i);
		cr_assert_eq(*p++, '\n');
	}
	cr_assert_eq(*p, '\0');
	free(text);
	free(big);
}

/* One read mixing whole lines, a line longer than LOG_LINE_MAX and a last line
 * without newline: the whole lines before the long one go in one pass, the rest
 * through the splitter, and the file reads as if every line went one by one. */
Test(logs, a_read_with_a_long_line_and_a_partial_one_is_cut_as_ever)
{
	const size_t long_len = 150000;
	struct service_logs *l;
	char path[128], *text, *data = malloc(long_len + 64), *p = data;
	/* Each line's stream and text (NULL: x's), and its length. */
	const struct {
		const char *stream, *text;
		size_t len;
	} want[] = {
		{"out", "a", 1},
		{"out", "b", 1},
		{"out", NULL, LOG_LINE_MAX},
		{"out+", NULL, LOG_LINE_MAX},
		{"out+", NULL, long_len - 2 * LOG_LINE_MAX},
		{"out", "c", 1},
		{"out", "partial", 7},
	};
	size_t i = 0;
	int ow, ew;

	cr_assert_eq(logs_configure(hub, dir, false), 0);
	cr_assert_eq(service_logs_new(hub, "m", &l), 0);
	service_logs_set_limits(l, 0, 5, 4096);
	cr_assert_eq(service_logs_open_run(l, &ow, &ew), 0);
	cr_assert_geq(fcntl(ow, F_SETPIPE_SZ, 1 << 20), 1 << 20);
	p += sprintf(p, "a\nb\n");
	memset(p, 'x', long_len);
	p += long_len;
	p += sprintf(p, "\nc\npartial");
	cr_assert_eq(write(ow, data, (size_t)(p - data)), p - data);
	close(ow);
	close(ew);
	cr_assert(run_until_closed(l, 5000));
	service_logs_free(l);

	snprintf(path, sizeof(path), "%s/m.log", dir);
	text = slurp(path);
	cr_assert_not_null(text);
	for (p = text; *p; i++) {
		char *sp = strchr(p, ' '), *text_start, *nl;

		cr_assert_lt(i, ELEMENTSOF(want), "more lines than written");
		cr_assert_not_null(sp);
		text_start = strchr(sp + 1, ' ') + 1;
		nl = strchr(text_start, '\n');
		cr_assert_not_null(nl);
		cr_assert_eq(
			strncmp(sp + 1, want[i].stream, strlen(want[i].stream)), 0, "line %zu", i);
		cr_assert_eq(text_start - sp - 2, (long)strlen(want[i].stream), "line %zu", i);
		cr_assert_eq((size_t)(nl - text_start), want[i].len, "line %zu", i);
		if (want[i].text)
			cr_assert_eq(
				strncmp(text_start, want[i].text, want[i].len), 0, "line %zu", i);
		else
			cr_assert_eq(text_start[0], 'x');
		p = nl + 1;
	}
	cr_assert_eq(i, ELEMENTSOF(want));
	free(text);
	free(data);
}

Test(logs, last_n_lines_are_the_newest)
{
	struct service_logs *l;
	struct log_reader *r;
	char *text;
	int ow, ew;

	cr_assert_eq(service_logs_new(hub, "s", &l), 0);
	service_logs_set_limits(l, 0, 5, 64 * 1024);
	cr_assert_eq(service_logs_open_run(l, &ow, &ew), 0);
	for (int i = 1; i <= 20; i++)
		dprintf(ow, "n%d\n", i);
	close(ow);
	close(ew);
	cr_assert(run_until_closed(l, 5000));
	cr_assert_eq(service_logs_reader_new(l, 5, false, NULL, NULL, &r), 0);
	text = read_all(r, 4096);
	cr_assert(strstr(text, " out n16\n") && strstr(text, " out n20\n"), "%s", text);
	cr_assert(!strstr(text, " out n15\n"), "%s", text);
	free(text);
	log_reader_free(r);
	service_logs_free(l);
}

static int wakes;

static void on_wake(struct log_reader *r, void *userdata)
{
	(void)r;
	(void)userdata;
	wakes++;
}

Test(logs, a_follower_is_woken_once_for_new_lines_and_sees_the_end)
{
	struct service_logs *l;
	struct log_reader *r;
	char buf[256];
	ssize_t n;
	long long end;
	int ow, ew;

	wakes = 0;
	cr_assert_eq(service_logs_new(hub, "s", &l), 0);
	service_logs_set_limits(l, 0, 5, 64 * 1024);
	cr_assert_eq(service_logs_open_run(l, &ow, &ew), 0);
	cr_assert_eq(service_logs_reader_new(l, 10, true, on_wake, NULL, &r), 0);
	cr_assert_eq(log_reader_read(r, buf, sizeof(buf)), -EAGAIN);
	cr_assert_eq(write(ow, "hello\n", 6), 6);
	for (end = now_ms() + 5000; wakes == 0 && now_ms() < end;)
		sd_event_run(event, 10 * 1000);
	cr_assert_eq(wakes, 1);
	n = log_reader_read(r, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert(strstr(buf, " out hello\n"), "%s", buf);
	cr_assert_eq(log_reader_read(r, buf, sizeof(buf)), -EAGAIN);

	/* The service goes away: the waiting reader is woken and sees the end. */
	close(ow);
	close(ew);
	service_logs_free(l);
	for (end = now_ms() + 5000; wakes == 1 && now_ms() < end;)
		sd_event_run(event, 10 * 1000);
	cr_assert_eq(wakes, 2);
	cr_assert_eq(log_reader_read(r, buf, sizeof(buf)), 0);
	log_reader_free(r);
}

/* Points fd 1 at a new pipe; returns its read end (non-blocking). */
static int capture_stdout(void)
{
	int p[2];

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	fflush(stdout);
	saved_stdout = dup(STDOUT_FILENO);
	cr_assert_eq(dup2(p[1], STDOUT_FILENO), STDOUT_FILENO);
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	return p[0];
}

Test(logs, a_stdout_nobody_reads_pauses_the_service_and_loses_no_line)
{
	struct service_logs *l;
	size_t out_len, err_len;
	/* More than the pipes (grown to 1 MiB each), stdout's buffer and its pipe hold. */
	char *out = numbered(1000000, 0, &out_len), *err = numbered(1000000, 1, &err_len);
	size_t cap = 8 << 20, len = 0;
	char *got = malloc(cap);
	int rd = capture_stdout(), ow, ew, status;
	long next[2] = {0, 1};
	long long end;
	pid_t pid;

	cr_assert_eq(logs_configure(hub, NULL, true), 0);
	cr_assert_eq(fcntl(STDOUT_FILENO, F_GETFL) & O_NONBLOCK,
		     0,
		     "the shared description must stay blocking");
	cr_assert_eq(service_logs_new(hub, "svc", &l), 0);
	service_logs_set_limits(l, 0, 5, 256 * 1024);
	cr_assert_eq(service_logs_open_run(l, &ow, &ew), 0);
	pid = spawn_writer(ow, ew, out, out_len, err, err_len);

	/* Nobody reads stdout for a while: the writer must be stuck, not finished. */
	for (end = now_ms() + 1000; now_ms() < end;)
		sd_event_run(event, 10 * 1000);
	cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "the writer should be blocked");
	cr_assert_gt(service_logs_open_pipes(l), 0);

	/* Now read: everything arrives, each stream in order. The loop is idle (runs
	 * nothing) once the pipes are closed and stdout's buffer is written. */
	for (end = now_ms() + 30000; now_ms() < end;) {
		ssize_t n;

		if (cap - len < (1 << 20))
			got = realloc(got, cap *= 2);
		n = read(rd, got + len, cap - len - 1);
		if (n > 0)
			len += (size_t)n;
		else if (sd_event_run(event, 1000) == 0 && service_logs_open_pipes(l) == 0)
			break;
	}
	reap(pid);
	got[len] = '\0';
	for (char *p = got; *p;) {
		char *nl = strchr(p, '\n');
		long k;

		cr_assert_not_null(nl);
		cr_assert_eq(strncmp(p, "svc | line ", 11), 0, "%.30s", p);
		k = atol(p + 11);
		cr_assert_eq(k, next[k % 2], "expected %ld, got %ld", next[k % 2], k);
		next[k % 2] += 2;
		p = nl + 1;
	}
	cr_assert_eq(next[0], 1000000);
	cr_assert_eq(next[1], 1000001);
	service_logs_free(l);
	close(rd);
	free(got);
	free(out);
	free(err);
}

/* Points JOURNAL_STREAM at our stdout, so that forwarding goes to journald. */
static void forward_as_under_journald(void)
{
	struct stat st;
	char env[64];

	cr_assert_eq(fstat(STDOUT_FILENO, &st), 0);
	snprintf(env,
		 sizeof(env),
		 "%llu:%llu",
		 (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	cr_assert_eq(logs_configure(hub, NULL, true), 0);
	unsetenv("JOURNAL_STREAM");
}

/* Writes @line to a new run of @l and runs the loop until its pipes are drained. */
static void one_line(struct service_logs *l, const char *line)
{
	int ow, ew;

	cr_assert_eq(service_logs_open_run(l, &ow, &ew), 0);
	cr_assert_eq(write(ow, line, strlen(line)), (ssize_t)strlen(line));
	close(ow);
	close(ew);
	cr_assert(run_until_closed(l, 5000));
}

/* Runs the loop until @fd has @want in what was read into @buf (of @size). */
static bool read_until(int fd, char *buf, size_t size, const char *want)
{
	size_t len = strlen(buf);

	for (long long end = now_ms() + 5000; !strstr(buf, want) && now_ms() < end;) {
		ssize_t n = read(fd, buf + len, size - len - 1);

		if (n > 0)
			buf[len += (size_t)n] = '\0';
		else
			sd_event_run(event, 10 * 1000);
	}
	return strstr(buf, want);
}

Test(logs, without_journald_forwarding_falls_back_to_stdout)
{
	struct service_logs *l;
	char out[256] = "";
	int rd = capture_stdout();

	if (access("/run/systemd/journal/stdout", F_OK) == 0) {
		teardown(); /* Criterion 2.4 runs no .fini after a skip */
		cr_skip_test("journald runs here: the fallback cannot be shown");
	}
	forward_as_under_journald();
	cr_assert_eq(service_logs_new(hub, "j", &l), 0);
	one_line(l, "to the journal\n");
	cr_assert(read_until(rd, out, sizeof(out), "\n"), "%s", out);
	cr_assert_str_eq(out, "j | to the journal\n");
	service_logs_free(l);
	close(rd);
}

Test(logs, when_journald_refuses_a_stream_the_open_ones_close_and_all_go_to_stdout)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct service_logs *a, *b;
	char got[4096] = "", out[4096] = "";
	int listener, conn, rd;
	ssize_t n = -1;

	/* A journald of our own at the fixed path, in a private /run. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") < 0) {
		int err = errno;
		teardown(); /* Criterion 2.4 runs no .fini after a skip */
		cr_skip_test("no private mount namespace here (%s): a journald of our own "
			     "cannot be set up",
			     strerror(err));
	}
	cr_assert_eq(mkdir("/run/systemd", 0755), 0);
	cr_assert_eq(mkdir("/run/systemd/journal", 0755), 0);
	strcpy(sa.sun_path, "/run/systemd/journal/stdout");
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(listener, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(listener, 8), 0);

	rd = capture_stdout();
	forward_as_under_journald();
	cr_assert_eq(service_logs_new(hub, "a", &a), 0);
	cr_assert_eq(service_logs_new(hub, "b", &b), 0);
	one_line(a, "a to the journal\n");
	conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	cr_assert_geq(conn, 0, "a's line opened no journald stream");
	cr_assert(read_until(conn, got, sizeof(got), "\na to the journal\n"), "%s", got);

	/* journald goes away: b's stream cannot be opened. */
	close(listener);
	cr_assert_eq(unlink(sa.sun_path), 0);
	one_line(b, "b to stdout\n");
	cr_assert(read_until(rd, out, sizeof(out), "b | b to stdout\n"), "%s", out);
	/* a's stream is closed (journald sees its end), a's lines go to stdout too. */
	for (long long end = now_ms() + 5000; now_ms() < end;) {
		n = read(conn, got, sizeof(got));
		if (n == 0 || (n < 0 && errno != EAGAIN))
			break;
		sd_event_run(event, 10 * 1000);
	}
	cr_assert_eq(n, 0, "a's journald stream is still open");
	one_line(a, "a to stdout\n");
	cr_assert(read_until(rd, out, sizeof(out), "a | a to stdout\n"), "%s", out);
	close(conn);
	service_logs_free(a);
	service_logs_free(b);
	close(rd);
}

Test(logs, rotation_removes_generations_beyond_log_keep)
{
	struct service_logs *l;
	char path[128];
	int ow, ew;

	cr_assert_eq(logs_configure(hub, dir, false), 0);
	for (int k = 1; k <= 6; k++) {
		snprintf(path, sizeof(path), "%s/r.log.%d", dir, k);
		close(open(path, O_WRONLY | O_CREAT, 0644));
	}
	cr_assert_eq(service_logs_new(hub, "r", &l), 0);
	service_logs_set_limits(l, 1024, 2, 0);
	cr_assert_eq(service_logs_open_run(l, &ow, &ew), 0);
	for (int i = 0; i < 100; i++)
		dprintf(ow, "a line long enough to rotate soon %d\n", i);
	close(ow);
	close(ew);
	cr_assert(run_until_closed(l, 5000));
	service_logs_free(l);
	for (int k = 1; k <= 6; k++) {
		snprintf(path, sizeof(path), "%s/r.log.%d", dir, k);
		cr_assert_eq(access(path, F_OK) == 0, k <= 2, "%s", path);
	}
}

Test(logs, an_idle_service_costs_under_4_KiB_until_it_writes)
{
	enum { N = 200 };
	struct service_logs *l[N];
	int fds[N][2];
	struct mallinfo2 before, after;
	size_t per;

	cr_assert_eq(logs_configure(hub, dir, false), 0);
	before = mallinfo2();
	for (int i = 0; i < N; i++) {
		char name[16];

		snprintf(name, sizeof(name), "idle%d", i);
		cr_assert_eq(service_logs_new(hub, name, &l[i]), 0);
		service_logs_set_limits(l[i], 10 << 20, 5, 256 * 1024);
		cr_assert_eq(service_logs_open_run(l[i], &fds[i][0], &fds[i][1]), 0);
	}
	after = mallinfo2();
	per = (after.uordblks - before.uordblks) / N;
	cr_log_info("log state of an idle, running service: %zu bytes", per);
	/* Under AddressSanitizer mallinfo2() sees nothing, and this proves nothing. */
	cr_assert_leq(per, 4096, "%zu bytes per idle service", per);
	for (int i = 0; i < N; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
		service_logs_free(l[i]);
	}
}

static long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* The size checked against log-max-size is the file's own, also before vigild
 * opened it (at start, after SIGUSR1): a nearly full NAME.log rotates first. */
Test(logs, a_nearly_full_file_rotates_before_its_first_new_line)
{
	struct log_file *f = NULL;
	char path[128], old[128], prefix[64] = "P ";
	FILE *w;

	snprintf(path, sizeof(path), "%s/f.log", dir);
	snprintf(old, sizeof(old), "%s/f.log.1", dir);
	w = fopen(path, "w");
	cr_assert(w);
	for (int i = 0; i < 99; i++)
		fputs("012345678\n", w);
	fclose(w);
	cr_assert_eq(file_size(path), 990);
	cr_assert_eq(log_file_new(event, "f", &f), 0);
	cr_assert_eq(log_file_set_dir(f, dir), 0);
	log_file_set_limits(f, 1000, 2);
	log_file_append(f, prefix, 2, "0123456789", 10);
	log_file_flush(f);
	cr_assert_eq(file_size(old), 990, "the full file was not rotated");
	cr_assert_eq(file_size(path), 13);

	/* After a reopen (logrotate moved nothing here) the size is the file's again. */
	log_file_reopen(f);
	log_file_append(f, prefix, 2, "0123456789", 10);
	log_file_flush(f);
	cr_assert_eq(file_size(path), 26);
	cr_assert_eq(file_size(old), 990);
	log_file_free(f);
}

/* Appends @count lines "lineNNN" numbered from @first, one by one or in one pass. */
static void append_numbered(struct log_file *f, int first, int count, bool one_pass)
{
	char text[4096], prefix[64] = "P ";
	uint32_t lens[100];
	size_t size = 0;

	for (int i = 0; i < count; i++) {
		int n = sprintf(text + size, "line%03d\n", first + i);

		lens[i] = (uint32_t)n - 1;
		if (!one_pass)
			log_file_append(f, prefix, 2, text + size, lens[i]);
		size += (size_t)n;
	}
	if (one_pass)
		log_file_append_lines(f, prefix, 2, text, size, lens, (size_t)count);
}

/* Lines handed over in one pass land exactly as one by one, rotations included
 * (500-byte files: each run of 60 lines of 10 bytes crosses the limit, the first
 * one too, into an empty file). */
Test(logs, lines_in_one_pass_are_written_and_rotated_as_one_by_one)
{
	char a[96], b[96];

	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	for (int pass = 0; pass < 2; pass++) {
		struct log_file *f = NULL;

		cr_assert_eq(log_file_new(event, "f", &f), 0);
		cr_assert_eq(log_file_set_dir(f, pass ? b : a), 0);
		log_file_set_limits(f, 500, 2);
		for (int i = 0; i < 5; i++) {
			append_numbered(f, i * 60, 60, pass == 1);
			log_file_flush(f);
		}
		log_file_free(f);
	}
	for (int k = 0; k <= 2; k++) {
		char pa[128], pb[128], *ta, *tb;

		snprintf(pa, sizeof(pa), k ? "%s/f.log.%d" : "%s/f.log", a, k);
		snprintf(pb, sizeof(pb), k ? "%s/f.log.%d" : "%s/f.log", b, k);
		ta = slurp(pa);
		tb = slurp(pb);
		cr_assert(ta && tb, "%s", pa);
		cr_assert_gt(strlen(ta), 400);
		cr_assert_str_eq(ta, tb, "%s differs", pb);
		free(ta);
		free(tb);
	}
	{
		char last[128], *t;

		snprintf(last, sizeof(last), "%s/f.log", b);
		t = slurp(last);
		cr_assert(strstr(t, "P line299\n"), "%s", t);
		free(t);
	}
}

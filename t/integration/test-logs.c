/* test-logs.c: service output through the real vigild (SPEC §6, §11): log files,
 * rotation, SIGUSR1, forwarding to a stdout nobody reads, a full disk. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

static struct vh v;
static char mnt[256];

static void setup(void)
{
	vh_init(&v);
	mnt[0] = '\0';
}

static void teardown(void)
{
	/* Detached at once even while vigild still holds a file there. */
	if (mnt[0] && umount2(mnt, MNT_DETACH) < 0)
		cr_log_error("umount %s: %s", mnt, strerror(errno));
	vh_cleanup(&v);
}

TestSuite(logs, .init = setup, .fini = teardown, .timeout = 90);

/* Waits until @path holds @needle. */
static bool wait_text(const char *path, const char *needle, int timeout_ms)
{
	long long end = vh_now_ms() + timeout_ms;

	do {
		char *s = vh_read(path);
		bool found = s && strstr(s, needle);

		free(s);
		if (found)
			return true;
		vh_msleep(5);
	} while (vh_now_ms() < end);
	return false;
}

/* Lines in @path, counted with memchr: the harness's strstr-based count is
 * quadratic under AddressSanitizer, whose strstr measures the whole haystack. */
static long count_lines(const char *path)
{
	char *s = vh_read(path);
	long n = 0;

	for (const char *p = s, *end = s ? s + strlen(s) : NULL;
	     p && (p = memchr(p, '\n', (size_t)(end - p)));
	     p++)
		n++;
	free(s);
	return n;
}

static bool wait_lines(const char *path, long lines, int timeout_ms)
{
	long long end = vh_now_ms() + timeout_ms;

	do {
		if (count_lines(path) >= lines)
			return true;
		vh_msleep(20);
	} while (vh_now_ms() < end);
	return false;
}

/* Checks the lines of @text ("TIMESTAMP out line N" or "NAME | line N"): each stream
 * counts up by 2 from its first number with no gap. Returns the lines seen; with
 * @from_zero, stdout must start at 0 and stderr at 1; @end >= 0: stdout must end
 * just before @end, stderr just before @end + 1. */
static long check_sequences(const char *text, bool from_zero, long end)
{
	long next[2] = {from_zero ? 0 : -1, from_zero ? 1 : -1}, lines = 0;
	const char *p = text, *stop = text + strlen(text);

	while (p < stop) {
		const char *nl = memchr(p, '\n', (size_t)(stop - p));
		const char *num;
		long k;
		int s;

		cr_assert_not_null(nl, "unterminated line: %.60s", p);
		num = memmem(p, (size_t)(nl - p), "line ", 5);
		cr_assert_not_null(num, "not a numbered line: %.60s", p);
		k = strtol(num + 5, NULL, 10);
		s = (int)(k % 2);
		if (next[s] < 0)
			next[s] = k;
		cr_assert_eq(k, next[s], "stream %d: expected line %ld, got %ld", s, next[s], k);
		next[s] += 2;
		lines++;
		p = nl + 1;
	}
	if (end >= 0) {
		cr_assert_eq(next[0], end, "stdout ended at %ld", next[0]);
		cr_assert_eq(next[1], end + 1, "stderr ended at %ld", next[1]);
	}
	return lines;
}

Test(logs, a_flood_of_200000_lines_arrives_in_order_in_the_file)
{
	const char *file = vh_path(&v, "logs/flood.log");
	char *text;

	vh_write(&v,
		 "vigil.conf",
		 "log-dir = \"%s\"\n"
		 "service flood {\n"
		 "  command = \"%s flood 200000\"\n"
		 "  restart = never\n"
		 "}\n",
		 vh_path(&v, "logs"),
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "flood: running -> exited", 1, 30000));
	cr_assert(wait_lines(file, 200000, 30000), "%ld lines", count_lines(file));
	text = vh_read(file);
	cr_assert_eq(check_sequences(text, true, 200000), 200000);
	free(text);
}

/* A heavy writer's pipe grows to 1 MiB, also when its 64 KiB writes of whole 100-byte
 * lines never fill the default 64 KiB pipe to the byte; a quiet one's stays small. */
Test(logs, the_pipe_of_a_heavy_writer_grows_a_quiet_ones_does_not)
{
	char *heavy, *quiet;

	vh_write(&v,
		 "vigil.conf",
		 "log-dir = \"%s\"\n"
		 "service heavy {\n"
		 "  command = \"%s lines 40000 100 pipe-size %s pause\"\n"
		 "}\n"
		 "service quiet {\n"
		 "  command = \"%s out hello pipe-size %s pause\"\n"
		 "}\n",
		 vh_path(&v, "logs"),
		 vh_helper(),
		 vh_path(&v, "heavy"),
		 vh_helper(),
		 vh_path(&v, "quiet"));
	vh_start(&v);
	cr_assert(vh_wait_lines(vh_path(&v, "heavy"), 1, 30000));
	cr_assert(vh_wait_lines(vh_path(&v, "quiet"), 1, 10000));
	heavy = vh_read(vh_path(&v, "heavy"));
	quiet = vh_read(vh_path(&v, "quiet"));
	cr_assert_str_eq(heavy, "1048576\n");
	cr_assert_str_eq(quiet, "65536\n");
	free(heavy);
	free(quiet);
}

Test(logs, lines_written_just_before_exit_are_kept)
{
	vh_write(&v,
		 "vigil.conf",
		 "log-dir = \"%s\"\n"
		 "service last {\n"
		 "  command = \"%s out 'last words' exit 3\"\n"
		 "  restart = never\n"
		 "}\n"
		 "service partial {\n"
		 "  command = \"%s partial 'no newline at the end' exit 0\"\n"
		 "  restart = never\n"
		 "}\n",
		 vh_path(&v, "logs"),
		 vh_helper(),
		 vh_helper());
	vh_start(&v);
	cr_assert(wait_text(vh_path(&v, "logs/last.log"), " out last words\n", 5000));
	cr_assert(wait_text(vh_path(&v, "logs/partial.log"), " out no newline at the end\n", 5000));
}

Test(logs, a_run_that_could_not_start_says_why_in_the_services_own_log)
{
	const char *ctl[] = {vh_vigilctl(), "-s", v.sock, "logs", "ghost", NULL};
	char *out = NULL;

	vh_write(&v,
		 "vigil.conf",
		 "log-dir = \"%s\"\n"
		 "service ghost {\n"
		 "  command = \"/nonexistent/program\"\n"
		 "  restart = never\n"
		 "}\n"
		 "service lost {\n"
		 "  command = \"%s pause\"\n"
		 "  directory = \"%s\"\n"
		 "  restart = never\n"
		 "}\n",
		 vh_path(&v, "logs"),
		 vh_helper(),
		 vh_path(&v, "no-such-dir"));
	vh_start(&v);
	cr_assert(wait_text(vh_path(&v, "logs/ghost.log"),
			    " err vigild: cannot execute '/nonexistent/program': No such file or "
			    "directory\n",
			    5000));
	cr_assert_eq(vh_run(ctl, &out, 5000), 0);
	cr_assert(strstr(out, "vigild: cannot execute '/nonexistent/program'"), "tail: %s", out);
	free(out);
	/* A directory that cannot be entered is named. */
	cr_assert(wait_text(
		vh_path(&v, "logs/lost.log"), " err vigild: cannot enter directory '", 5000));
	cr_assert(vh_wait_log(&v, "no-such-dir': No such file or directory", 1, 5000));
}

Test(logs, what_an_orphan_writes_after_main_exited_is_kept)
{
	const char *file = vh_path(&v, "logs/o.log");

	vh_write(&v,
		 "vigil.conf",
		 "log-dir = \"%s\"\n"
		 "service o {\n"
		 "  command = \"%s out main late 300 'from the orphan' exit 0\"\n"
		 "  restart = never\n"
		 "}\n",
		 vh_path(&v, "logs"),
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "o: running -> exited", 1, 5000));
	cr_assert(wait_text(file, " out main\n", 5000));
	cr_assert(wait_text(file, " out from the orphan\n", 5000));
}

Test(logs, in_command_mode_output_is_forwarded_and_the_last_line_survives_the_exit)
{
	const char *args[] = {"-c", v.conf, "--", vh_helper(), "out", "bye", "exit", "4", NULL};

	vh_write(&v, "vigil.conf", "log-dir = \"%s\"\n", vh_path(&v, "logs"));
	vh_start_args(&v, args);
	cr_assert_eq(vh_wait_exit(&v, 10000), 4);
	cr_assert_eq(vh_count_log(&v, "main | bye\n"), 1, "forwarded once (log-forward = auto)");
	cr_assert(wait_text(vh_path(&v, "logs/main.log"), " out bye\n", 10));
}

Test(logs, without_log_forward_output_stays_off_vigild_stdout)
{
	vh_write(&v,
		 "vigil.conf",
		 "log-dir = \"%s\"\n"
		 "service q {\n  command = \"%s out quiet-line pause\"\n}\n",
		 vh_path(&v, "logs"),
		 vh_helper());
	vh_start(&v);
	cr_assert(wait_text(vh_path(&v, "logs/q.log"), " out quiet-line\n", 5000));
	cr_assert_eq(vh_count_log(&v, "quiet-line"), 0);
}

/* Checks that @text holds "TIMESTAMP out 0000000042 xxx" lines (vigil-helper's
 * `lines`) numbered consecutively; returns how many, the last number in *ret_last. */
static long check_numbered(const char *text, long *ret_last)
{
	const char *p = text, *stop = text + strlen(text);
	long n = 0, prev = -1;

	while (p < stop) {
		const char *nl = memchr(p, '\n', (size_t)(stop - p));
		long k;

		cr_assert_not_null(nl);
		cr_assert(nl - p > 29 && memcmp(p + 24, " out ", 5) == 0, "%.60s", p);
		k = strtol(p + 29, NULL, 10);
		cr_assert(prev < 0 || k == prev + 1, "line %ld follows line %ld", k, prev);
		prev = k;
		n++;
		p = nl + 1;
	}
	*ret_last = prev;
	return n;
}

Test(logs, rotation_keeps_exactly_log_keep_files_and_loses_no_line)
{
	char name[64], *all = NULL;
	size_t all_len = 0;
	struct stat st;
	long last = -1;

	/* 2000 lines of 40 bytes, 69 with the prefix: about 20 rotations. */
	vh_write(&v,
		 "vigil.conf",
		 "log-dir = \"%s\"\n"
		 "service r {\n"
		 "  command = \"%s lines 2000 40\"\n"
		 "  restart = never\n"
		 "  log-max-size = 4K\n"
		 "  log-keep = 3\n"
		 "}\n",
		 vh_path(&v, "logs"),
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "r: running -> exited", 1, 10000));
	/* The last line is always in r.log: rotation happens before a line is added. */
	cr_assert(wait_text(vh_path(&v, "logs/r.log"), " out 0000001999 ", 5000));
	/* Oldest first: r.log.3, .2, .1, then r.log; together one gapless sequence. */
	for (int k = 3; k >= 0; k--) {
		char *text;

		snprintf(name, sizeof(name), k ? "logs/r.log.%d" : "logs/r.log", k);
		cr_assert_eq(stat(vh_path(&v, name), &st), 0, "%s is missing", name);
		cr_assert_leq(st.st_size, 4096, "%s has %lld bytes", name, (long long)st.st_size);
		cr_assert_gt(st.st_size, k ? 4096 - 69 : 0, "%s rotated early", name);
		text = vh_read(vh_path(&v, name));
		all = realloc(all, all_len + strlen(text) + 1);
		strcpy(all + all_len, text);
		all_len += strlen(text);
		free(text);
	}
	cr_assert_neq(stat(vh_path(&v, "logs/r.log.4"), &st), 0, "log-keep = 3 keeps 3 old files");
	cr_assert_gt(check_numbered(all, &last), 3 * 59);
	cr_assert_eq(last, 1999);
	free(all);
}

static int open_fifo(const char *path)
{
	/* Blocks until the service (cat) opened it for reading. */
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	return fd;
}

Test(logs, sigusr1_after_moving_the_file_reopens_it)
{
	const char *file = vh_path(&v, "logs/c.log"), *moved = vh_path(&v, "logs/c.log.moved");
	char *text;
	int fd;

	cr_assert_eq(mkfifo(vh_path(&v, "fifo"), 0600), 0);
	vh_write(&v,
		 "vigil.conf",
		 "log-dir = \"%s\"\n"
		 "service c {\n  command = \"/bin/cat %s\"\n}\n",
		 vh_path(&v, "logs"),
		 vh_path(&v, "fifo"));
	vh_start(&v);
	fd = open_fifo(vh_path(&v, "fifo"));
	cr_assert_eq(write(fd, "one\n", 4), 4);
	cr_assert(wait_text(file, " out one\n", 5000));
	/* logrotate: move the file, write on (it still goes to the moved file), USR1. */
	cr_assert_eq(rename(file, moved), 0);
	cr_assert_eq(write(fd, "two\n", 4), 4);
	cr_assert(wait_text(moved, " out two\n", 5000));
	kill(v.pid, SIGUSR1);
	cr_assert(vh_wait_log(&v, "Reopening log files", 1, 5000));
	cr_assert_eq(write(fd, "three\n", 6), 6);
	cr_assert(wait_text(file, " out three\n", 5000));
	text = vh_read(file);
	cr_assert(!strstr(text, " one\n") && !strstr(text, " two\n"), "%s", text);
	free(text);
	text = vh_read(moved);
	cr_assert(!strstr(text, " three\n"), "%s", text);
	free(text);
	close(fd);
}

Test(logs, a_stdout_nobody_reads_for_5s_loses_nothing_and_restarts_stay_on_time)
{
	const char *args[] = {"-c", v.conf, "-s", v.sock, "--log-level", "debug", NULL};
	const char *argv[16];
	size_t cap = 8 << 20, len = 0, n = 0;
	char *got = malloc(cap), *rec, *p;
	long long prev = -1, gap = 0, end;
	int pfd[2], runs = 0;

	if (vh_valgrind())
		VH_SKIP(&v, "counts restarts per second: timing that memcheck's slowdown breaks");
	/* 5 MB: more than the pipes (grown to 1 MiB each), stdout's buffer and its
	 * pipe hold, so the writer must block. */
	vh_write(&v,
		 "vigil.conf",
		 "log-forward = yes\n"
		 "service flood {\n"
		 "  command = \"%s flood 400000\"\n"
		 "  restart = never\n"
		 "}\n" VH_CRASH_EVERY_100MS,
		 vh_helper(),
		 vh_helper(),
		 vh_path(&v, "runs"));
	cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
	argv[n++] = vh_vigild();
	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	vh_start_program_stdout(&v, argv, pfd[1]);
	close(pfd[1]);

	/* The consumer does not read for 5 s (this sleep is the scenario, not a wait). */
	vh_msleep(5000);
	cr_assert_eq(vh_count_log(&v, "flood: running -> exited"),
		     0,
		     "flood finished although nobody read its output");
	rec = vh_read(vh_path(&v, "runs"));
	cr_assert_not_null(rec);
	for (p = rec; *p;) {
		long long t = 0;

		if (sscanf(p, "%*d %lld", &t) == 1) {
			if (prev >= 0 && t - prev > gap)
				gap = t - prev;
			prev = t;
			runs++;
		}
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	free(rec);
	cr_log_info(
		"while stdout was not read: %d restarts in 5 s, longest gap %lld ms", runs, gap);
	/* A run takes ~1 ms and the delay is 100 ms: ~45 runs in 5 s. */
	cr_assert_geq(runs, 25, "only %d restarts in 5 s", runs);
	cr_assert_leq(gap, 500, "a restart came %lld ms after the previous one", gap);

	/* Now read: every line arrives, each stream in order. */
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	for (end = vh_now_ms() + 60000; vh_now_ms() < end;) {
		struct pollfd pl = {.fd = pfd[0], .events = POLLIN};
		ssize_t k;

		if (cap - len < 65536)
			got = realloc(got, cap *= 2);
		k = read(pfd[0], got + len, cap - len - 1);
		if (k > 0) {
			const char *recent;

			len += (size_t)k;
			got[len] = '\0';
			/* The last line of each stream: both come near the end. */
			recent = got + (len > 200000 ? len - 200000 : 0);
			if (strstr(recent, "flood | line 399998\n") &&
			    strstr(recent, "flood | line 399999\n"))
				break;
			continue;
		}
		(void)poll(&pl, 1, 100);
	}
	got[len] = '\0';
	cr_assert_eq(check_sequences(got, true, 400000), 400000);
	close(pfd[0]);
	free(got);
}

/* Starts vigild with its stdout on a pipe (returned), nobody reading it, and a crash
 * loop `a` that writes 3000 lines (57 KB) a run, recording each run's pid: one run
 * fits in its pipe, so the child never blocks. Returns once a restart is held.
 * @extra goes into the configuration. */
static int start_crash_loop(const char *extra)
{
	const char *argv[] = {vh_vigild(), "-c", v.conf, "-s", v.sock, NULL};
	int pfd[2];

	vh_write(&v,
		 "crash.sh",
		 "#!/bin/sh\necho $$ >> %s\nseq -f \"run$$ line %%g\" 1 3000\nexit 1\n",
		 vh_path(&v, "runs"));
	chmod(vh_path(&v, "crash.sh"), 0755);
	vh_write(&v,
		 "vigil.conf",
		 "log-forward = yes\n"
		 "service a {\n  command = \"%s\"\n  restart-delay = 20ms\n"
		 "  restart-delay-max = 20ms\n}\n%s",
		 vh_path(&v, "crash.sh"),
		 extra);
	cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
	vh_start_program_stdout(&v, argv, pfd[1]);
	close(pfd[1]);
	/* Nobody reads for 3 s (the scenario, not a wait): the restart is held. */
	vh_msleep(3000);
	cr_assert(vh_wait_log(
		&v, "a: restart held until the output of its earlier runs is read", 1, 5000));
	return pfd[0];
}

/* SIGTERM, then reads @fd to its end and checks that every run's 3000 lines were
 * forwarded. */
static void expect_every_run_forwarded(int fd)
{
	size_t cap = 16 << 20, len = 0;
	char *got = malloc(cap), *runs, *p;
	int n_runs = 0;

	cr_assert_not_null(got);
	kill(v.pid, SIGTERM);
	for (long long end = vh_now_ms() + vh_ms(60000); vh_now_ms() < end;) {
		struct pollfd pl = {.fd = fd, .events = POLLIN};
		ssize_t k;

		(void)poll(&pl, 1, 100);
		k = read(fd, got + len, cap - len - 1);
		if (k == 0)
			break;
		if (k > 0)
			len += (size_t)k;
		cr_assert_lt(len, cap - 1);
	}
	got[len] = '\0';
	cr_assert_eq(vh_wait_exit(&v, 10000), 0);
	runs = vh_read(vh_path(&v, "runs"));
	cr_assert_not_null(runs);
	for (p = runs; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
		char needle[64];
		int count = 0;

		snprintf(needle, sizeof(needle), "a | run%ld line ", strtol(p, NULL, 10));
		for (const char *q = strstr(got, needle); q; q = strstr(q + 1, needle))
			count++;
		cr_assert_eq(count,
			     3000,
			     "run %ld: %d of 3000 lines forwarded",
			     strtol(p, NULL, 10),
			     count);
		n_runs++;
	}
	cr_assert_geq(n_runs, 5, "only %d runs", n_runs);
	free(runs);
	free(got);
	close(fd);
}

/* A crash loop whose forwarded output nobody reads: each run's lines wait in its
 * pipes, and once LOGS_RUNS_MAX runs hold theirs the restart waits too, rather than
 * close the oldest run's pipe (which lost its lines). */
Test(logs, a_crash_loop_whose_output_nobody_reads_loses_no_line)
{
	expect_every_run_forwarded(start_crash_loop(""));
}

/* The same crash loop removed by a reload while its output waits: the service goes,
 * its lines still go out once stdout is read (they were dropped, "N lines were not
 * forwarded"). */
Test(logs, a_removed_service_whose_output_waits_loses_no_line)
{
	int fd = start_crash_loop("service k {\n  command = \"/bin/sleep 1000\"\n}\n");

	vh_write(&v,
		 "vigil.conf",
		 "log-forward = yes\nservice k {\n  command = \"/bin/sleep 1000\"\n}\n");
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "a: removed", 1, 5000));
	cr_assert_eq(vh_count_log(&v, "lines were not forwarded"), 0);
	expect_every_run_forwarded(fd);
	cr_assert_eq(vh_count_log(&v, "lines were not forwarded"), 0);
}

/* Fills the filesystem of @dir with one file; returns its path. */
static const char *fill(const char *dir)
{
	static char path[300];
	char block[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/filler", dir);
	memset(block, 'f', sizeof(block));
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	while (write(fd, block, sizeof(block)) > 0)
		;
	while (write(fd, block, 1) > 0)
		;
	close(fd);
	return path;
}

Test(logs, a_full_disk_is_reported_once_and_writing_resumes_when_space_returns)
{
	const char *file, *filler;
	char line[64], *text, *a, *b, *c;
	int fd;

	snprintf(mnt, sizeof(mnt), "%s", vh_path(&v, "logs"));
	cr_assert_eq(mkdir(mnt, 0755), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k,mode=0755") < 0) {
		int err = errno;

		mnt[0] = '\0';
		/* No cr_log_warn(): Criterion 2.4 exits 1 after a warning. */
		VH_SKIP(&v,
			"cannot mount a tmpfs (%s): the full-disk test needs root",
			strerror(err));
	}
	file = vh_path(&v, "logs/d.log");
	filler = fill(mnt);
	cr_assert_eq(mkfifo(vh_path(&v, "fifo"), 0600), 0);
	vh_write(&v,
		 "vigil.conf",
		 "log-dir = \"%s\"\n"
		 "log-forward = yes\n"
		 "service d {\n  command = \"/bin/cat %s\"\n}\n",
		 mnt,
		 vh_path(&v, "fifo"));
	vh_start(&v);
	fd = open_fifo(vh_path(&v, "fifo"));
	for (int i = 1; i <= 50; i++) {
		snprintf(line, sizeof(line), "before %d\n", i);
		cr_assert_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	}
	/* The other sinks keep working while the file cannot be written. */
	cr_assert(vh_wait_log(&v, "d | before 50\n", 1, 5000));
	cr_assert(vh_wait_log(&v, "No space left on device", 1, 5000));
	for (int i = 1; i <= 50; i++) {
		snprintf(line, sizeof(line), "during %d\n", i);
		cr_assert_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	}
	cr_assert(vh_wait_log(&v, "d | during 50\n", 1, 5000));
	cr_assert_eq(unlink(filler), 0);
	/* Retried every second: what waited in memory is written, then new lines. */
	cr_assert(wait_text(file, " out during 50\n", 5000));
	cr_assert(vh_wait_log(&v, "writing '", 1, 5000));
	cr_assert_eq(write(fd, "after 1\n", 8), 8);
	cr_assert(wait_text(file, " out after 1\n", 5000));
	cr_assert_eq(vh_count_log(&v, "No space left on device"), 1, "reported once");
	text = vh_read(file);
	a = strstr(text, " out before 1\n");
	b = strstr(text, " out during 1\n");
	c = strstr(text, " out after 1\n");
	cr_assert(a && b && c && a < b && b < c, "%s", text);
	cr_assert_eq(count_lines(file), 101, "no line lost:\n%s", text);
	free(text);
	close(fd);
}

Test(logs, beyond_what_memory_holds_during_a_full_disk_lost_lines_are_counted_in_the_file)
{
	const char *file, *filler;
	char *text, *note;
	long lost = -1, kept;

	snprintf(mnt, sizeof(mnt), "%s", vh_path(&v, "logs"));
	cr_assert_eq(mkdir(mnt, 0755), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m,mode=0755") < 0) {
		int err = errno;

		mnt[0] = '\0';
		/* No cr_log_warn(): Criterion 2.4 exits 1 after a warning. */
		VH_SKIP(&v,
			"cannot mount a tmpfs (%s): the full-disk test needs root",
			strerror(err));
	}
	file = vh_path(&v, "logs/big.log");
	filler = fill(mnt);
	/* 8000 lines of 100 bytes, 1 MiB with prefixes: more than the 512 KiB kept in
	 * memory, less than the disk takes once freed. */
	vh_write(&v,
		 "vigil.conf",
		 "log-dir = \"%s\"\n"
		 "service big {\n  command = \"%s lines 8000 100\"\n  restart = never\n}\n",
		 mnt,
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "big: running -> exited", 1, 10000));
	cr_assert(vh_wait_log(&v, "No space left on device", 1, 5000));
	cr_assert_eq(unlink(filler), 0);
	cr_assert(vh_wait_log(&v, "writing '", 1, 5000));
	cr_assert(wait_text(file, " lines were lost while this file could not be written\n", 5000));
	text = vh_read(file);
	note = strstr(text, "vigild: ");
	cr_assert_not_null(note);
	lost = strtol(note + 8, NULL, 10);
	kept = count_lines(file) - 1;
	cr_log_info("full disk: %ld lines kept in memory and written later, %ld lost", kept, lost);
	cr_assert_gt(kept, 1000);
	cr_assert_eq(kept + lost, 8000, "kept %ld + lost %ld", kept, lost);
	/* What was kept is the oldest part, in order, from line 0. */
	{
		const char *p = text;

		for (long k = 0; k < kept; k++) {
			char want[32];

			snprintf(want, sizeof(want), " out %010ld x", k);
			cr_assert(
				strncmp(p + 24, want, strlen(want)) == 0, "line %ld: %.50s", k, p);
			p = strchr(p, '\n') + 1;
		}
	}
	free(text);
}

Test(logs, a_reload_moves_files_to_the_new_log_dir_and_switches_forwarding)
{
	int fd;

	cr_assert_eq(mkfifo(vh_path(&v, "fifo"), 0600), 0);
	vh_write(&v,
		 "vigil.conf",
		 "log-dir = \"%s\"\n"
		 "service c {\n  command = \"/bin/cat %s\"\n}\n",
		 vh_path(&v, "a"),
		 vh_path(&v, "fifo"));
	vh_start(&v);
	fd = open_fifo(vh_path(&v, "fifo"));
	cr_assert_eq(write(fd, "one\n", 4), 4);
	cr_assert(wait_text(vh_path(&v, "a/c.log"), " out one\n", 5000));

	vh_write(&v,
		 "vigil.conf",
		 "log-dir = \"%s\"\n"
		 "log-forward = yes\n"
		 "service c {\n  command = \"/bin/cat %s\"\n}\n",
		 vh_path(&v, "b"),
		 vh_path(&v, "fifo"));
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Reloaded: 0 added, 0 removed, 0 changed, 1 unchanged", 1, 5000));
	cr_assert_eq(write(fd, "two\n", 4), 4);
	cr_assert(wait_text(vh_path(&v, "b/c.log"), " out two\n", 5000));
	cr_assert(vh_wait_log(&v, "c | two\n", 1, 5000));

	vh_write(&v,
		 "vigil.conf",
		 "log-dir = \"%s\"\n"
		 "service c {\n  command = \"/bin/cat %s\"\n}\n",
		 vh_path(&v, "b"),
		 vh_path(&v, "fifo"));
	kill(v.pid, SIGHUP);
	cr_assert(vh_wait_log(&v, "Reloaded: 0 added, 0 removed, 0 changed, 1 unchanged", 2, 5000));
	cr_assert_eq(write(fd, "three\n", 6), 6);
	cr_assert(wait_text(vh_path(&v, "b/c.log"), " out three\n", 5000));
	cr_assert_eq(vh_count_log(&v, "c | three"), 0, "forwarding is off again");
	cr_assert(!wait_text(vh_path(&v, "a/c.log"), "two", 0));
	close(fd);
}

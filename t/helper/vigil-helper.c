/* vigil-helper: one child that misbehaves on request, for the integration tests.
 *
 * Its arguments are actions, done in order:
 *   record FILE        append "PID MONOTONIC_MS" to FILE
 *   pidfile FILE       write the pid to FILE (atomically, via a rename)
 *   ignore SIG         ignore a signal (TERM, INT, HUP, ...)
 *   trap SIG FILE      on SIG append "SIG" to FILE and go on
 *   sleep MS           sleep that long
 *   pause              sleep until killed
 *   exit CODE          exit with CODE
 *   kill SIG           send SIG to itself
 *   fork-pause FILE    fork a child (same group) that pauses, and write its pid to FILE
 *   orphans N FILE     leave N orphans (double fork) that append their pids to FILE and
 *                      pause
 *   describe FILE      write open fds, cwd, umask, uid, gid, groups, pgid, sid, the
 *                      number of blocked signals, the ignored ones and the
 *                      environment to FILE (whole: written aside, then renamed)
 *   out TEXT, err TEXT write a line to stdout or stderr
 *   flood N            write N numbered lines, alternating stdout and stderr
 *   notify TEXT        sd_notify(0, TEXT); "\n" in TEXT stands for a newline
 *   become UID         drop to that user and group id (as a worker giving up root)
 *   watchdog N         send WATCHDOG=1 N times, every quarter of WATCHDOG_USEC
 *   http-serve PORT FILE  serve HTTP on 127.0.0.1:PORT forever; each answer's status
 *                      is the number in FILE (200 when absent); "hang" in FILE: never
 *                      answer; "stream" in FILE: 200 with a body that never ends
 *   tcp-listen PORT    listen on 127.0.0.1:PORT, accept and close connections forever
 *   unix-listen PATH   the same on a unix socket
 *   free-port          print a TCP port of 127.0.0.1 that was free a moment ago
 *   partial TEXT       write TEXT to stdout without a newline
 *   late MS TEXT       leave an orphan (own session) that writes the line TEXT to stdout
 *                      MS milliseconds later, without a newline, and exits
 *   lines N LEN        write N numbered lines of LEN bytes to stdout in 64 KiB writes
 *   pipe-size FILE     append stdout's pipe capacity (F_GETPIPE_SZ) and a newline to FILE
 *   children N MS      fork N children without waiting for them: the even ones stay
 *                      in the process group, the odd ones start a session of their
 *                      own (out of reach of a group kill); each exits after MS ms
 *   env-exec NAME=VALUE... -- PROGRAM [ARG...]
 *                      execute PROGRAM (looked up in PATH: the harness may put
 *                      valgrind there) with this environment plus each NAME=VALUE
 *                      appended as it is (a name set already is then there twice,
 *                      as no shell or env(1) would leave it)
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

extern char **environ;

static const char *trap_file;

static int signal_from_name(const char *s)
{
	static const struct {
		const char *name;
		int sig;
	} t[] = {{"TERM", SIGTERM},
		 {"INT", SIGINT},
		 {"HUP", SIGHUP},
		 {"USR1", SIGUSR1},
		 {"USR2", SIGUSR2},
		 {"QUIT", SIGQUIT},
		 {"KILL", SIGKILL},
		 {"WINCH", SIGWINCH},
		 {"SEGV", SIGSEGV},
		 {"ABRT", SIGABRT},
		 {"ALRM", SIGALRM},
		 {"CONT", SIGCONT},
		 {"SYS", SIGSYS},
		 {"TTIN", SIGTTIN},
		 {"BUS", SIGBUS},
		 {"ILL", SIGILL},
		 {"FPE", SIGFPE}};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(t[i].name, s) == 0)
			return t[i].sig;
	fprintf(stderr, "vigil-helper: unknown signal %s\n", s);
	exit(99);
}

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void append(const char *file, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(const char *file, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		exit(98);
	/* One write with O_APPEND: lines from several processes never interleave. */
	if (write(fd, buf, (size_t)n) != n)
		exit(98);
	close(fd);
}

static void write_atomically(const char *file, const char *text)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", file, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		exit(98);
	fputs(text, f);
	fclose(f);
	if (rename(tmp, file) < 0)
		exit(98);
}

static void on_trap(int sig)
{
	char line[32];
	int fd, n;

	n = snprintf(line, sizeof(line), "%d\n", sig);
	fd = open(trap_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0) {
		(void)!write(fd, line, (size_t)n);
		close(fd);
	}
}

static void describe(const char *file)
{
	FILE *f;
	DIR *d;
	struct dirent *de;
	char cwd[4096], part[4096];
	gid_t groups[256];
	int ngroups;
	mode_t um = umask(0);

	umask(um);
	/* Written aside and renamed: a reader never sees half of it (the environment of
	 * `make check` alone is several KiB). */
	snprintf(part, sizeof(part), "%s.part", file);
	f = fopen(part, "w");
	if (!f)
		exit(98);
	fprintf(f, "fds:");
	d = opendir("/proc/self/fd");
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d) &&
		    atoi(de->d_name) != fileno(f))
			fprintf(f, " %s", de->d_name);
	if (d)
		closedir(d);
	fprintf(f, "\ncwd: %s\n", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
	fprintf(f, "umask: %03o\n", (unsigned)um);
	fprintf(f, "uid: %d\ngid: %d\n", (int)getuid(), (int)getgid());
	ngroups = getgroups(256, groups);
	fprintf(f, "groups:");
	for (int i = 0; i < ngroups; i++)
		fprintf(f, " %d", (int)groups[i]);
	fprintf(f, "\npid: %d\npgid: %d\nsid: %d\n", (int)getpid(), (int)getpgrp(), (int)getsid(0));
	{
		sigset_t blocked;
		int nblocked = 0;
		sigprocmask(SIG_SETMASK, NULL, &blocked);
		for (int s = 1; s < 32; s++)
			nblocked += sigismember(&blocked, s) == 1;
		fprintf(f, "blocked: %d\n", nblocked);
	}
	fprintf(f, "ignored:");
	for (int s = 1; s < NSIG; s++) {
		struct sigaction sa;

		if (sigaction(s, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			fprintf(f, " %d", s);
	}
	fprintf(f, "\n");
	{
		char b[16];
		ssize_t n = read(0, b, sizeof(b));
		fprintf(f, "stdin: %s\n", n == 0 ? "eof" : n > 0 ? "data" : "error");
	}
	for (char **e = environ; *e; e++)
		fprintf(f, "env: %s\n", *e);
	if (fclose(f) != 0 || rename(part, file) < 0)
		exit(98);
}

static void leave_orphans(int n, const char *file)
{
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p < 0)
			exit(97);
		if (p == 0) {
			if (fork() == 0) {
				append(file, "%d\n", (int)getpid());
				for (;;)
					pause();
			}
			_exit(0);
		}
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void fork_children(int n, long ms)
{
	for (int i = 0; i < n; i++) {
		pid_t p = fork();

		if (p < 0)
			exit(97);
		if (p == 0) {
			if (i % 2)
				setsid();
			sleep_ms(ms);
			_exit(0);
		}
	}
}

static void do_notify(const char *arg)
{
	char text[4096];
	size_t o = 0;

	for (const char *p = arg; *p && o < sizeof(text) - 1; p++) {
		if (p[0] == '\\' && p[1] == 'n') {
			text[o++] = '\n';
			p++;
		} else
			text[o++] = *p;
	}
	text[o] = '\0';
	if (sd_notify(0, text) <= 0) {
		fprintf(stderr, "vigil-helper: sd_notify failed or NOTIFY_SOCKET unset\n");
		exit(96);
	}
}

static int listen_tcp(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0) {
		fprintf(stderr,
			"vigil-helper: cannot listen on port %d: %s\n",
			port,
			strerror(errno));
		exit(95);
	}
	return fd;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0) {
		fprintf(stderr, "vigil-helper: cannot listen on %s: %s\n", path, strerror(errno));
		exit(95);
	}
	return fd;
}

static _Noreturn void accept_forever(int lfd)
{
	for (;;) {
		int c = accept(lfd, NULL, NULL);
		if (c >= 0)
			close(c);
	}
}

/* One connection at a time, as fast as loopback allows; a hung answer keeps its
 * connection open (up to a cap) and goes on with the next. */
static _Noreturn void http_serve(int port, const char *status_file)
{
	int lfd = listen_tcp(port), hung[1024], n_hung = 0;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN); /* the streams' children reap themselves */
	for (;;) {
		struct timeval tv = {.tv_sec = 2};
		char req[8192], st[32] = "200", resp[256];
		size_t len = 0;
		ssize_t n;
		int c = accept(lfd, NULL, NULL), fd;

		if (c < 0)
			continue;
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while (len < sizeof(req) - 1 &&
		       (n = read(c, req + len, sizeof(req) - 1 - len)) > 0) {
			len += (size_t)n;
			req[len] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		/* An empty file is one a test is writing (truncated, not yet written):
		 * read again rather than answer 200 in between. */
		for (int tries = 0; tries < 100; tries++) {
			fd = open(status_file, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				break;
			n = read(fd, st, sizeof(st) - 1);
			st[n > 0 ? n : 0] = '\0';
			close(fd);
			if (n > 0)
				break;
			snprintf(st, sizeof(st), "200");
			usleep(1000);
		}
		if (strncmp(st, "hang", 4) == 0) {
			if (n_hung == 1024) {
				close(hung[0]);
				memmove(hung, hung + 1, sizeof(hung) - sizeof(hung[0]));
				n_hung--;
			}
			hung[n_hung++] = c;
			continue;
		}
		/* A child writes until the client goes: the server keeps answering. */
		if (strncmp(st, "stream", 6) == 0) {
			if (fork() == 0) {
				static const char head[] =
					"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
				char body[65536];

				close(lfd);
				memset(body, 'x', sizeof(body));
				if (write(c, head, sizeof(head) - 1) > 0)
					while (write(c, body, sizeof(body)) > 0)
						;
				_exit(0);
			}
			close(c);
			continue;
		}
		n = snprintf(
			resp,
			sizeof(resp),
			"HTTP/1.1 %d Status\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n",
			atoi(st));
		(void)!write(c, resp, (size_t)n);
		close(c);
	}
}

/* An orphan in a session of its own (so the group kill at main's exit misses it)
 * that still holds stdout and writes to it after main is gone. */
static void late(long ms, const char *text)
{
	pid_t p = fork();

	if (p < 0)
		exit(97);
	if (p == 0) {
		/* A new session before the parent learns we exited, so that no group
		 * kill at main's exit can reach the orphan. */
		setsid();
		if (fork() == 0) {
			struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
			(void)!write(STDOUT_FILENO, text, strlen(text));
			_exit(0);
		}
		_exit(0);
	}
	while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
		;
}

/* "0000000042 xxx...\n": lines of exactly @len bytes, gathered into 64 KiB writes: a writer
 * cheap enough for throughput figures. */
static void write_lines(long n, long len)
{
	static char buf[64 * 1024];
	size_t used = 0;

	if (len < 12 || len > (long)sizeof(buf))
		exit(99);
	for (long k = 0; k < n; k++) {
		if (used + (size_t)len > sizeof(buf)) {
			if (write(STDOUT_FILENO, buf, used) != (ssize_t)used)
				exit(98);
			used = 0;
		}
		for (long d = k, i = 9; i >= 0; i--, d /= 10)
			buf[used + (size_t)i] = (char)('0' + d % 10);
		buf[used + 10] = ' ';
		memset(buf + used + 11, 'x', (size_t)len - 12);
		buf[used + (size_t)len - 1] = '\n';
		used += (size_t)len;
	}
	if (used && write(STDOUT_FILENO, buf, used) != (ssize_t)used)
		exit(98);
}

static int env_exec(char **args)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	while (args[k] && strcmp(args[k], "--") != 0)
		k++;
	if (!args[k] || !args[k + 1]) {
		fprintf(stderr, "vigil-helper: env-exec needs -- and a program\n");
		return 99;
	}
	env = calloc(n + k + 1, sizeof(*env));
	if (!env)
		return 98;
	memcpy(env, environ, n * sizeof(*env));
	memcpy(env + n, args, k * sizeof(*env));
	execvpe(args[k + 1], args + k + 1, env);
	fprintf(stderr, "vigil-helper: cannot execute %s: %s\n", args[k + 1], strerror(errno));
	return 97;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *arg = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "pause") == 0) {
			for (;;)
				pause();
		}
		if (strcmp(a, "free-port") == 0) {
			struct sockaddr_in sa = {.sin_family = AF_INET};
			socklen_t len = sizeof(sa);
			int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

			sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
			    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
				return 95;
			printf("%d\n", ntohs(sa.sin_port));
			close(fd);
			continue;
		}
		if (strcmp(a, "env-exec") == 0)
			return env_exec(argv + i + 1);
		if (!arg) {
			fprintf(stderr, "vigil-helper: %s needs an argument\n", a);
			return 99;
		}
		i++;
		if (strcmp(a, "record") == 0) {
			append(arg, "%d %lld\n", (int)getpid(), monotonic_ms());
		} else if (strcmp(a, "pidfile") == 0) {
			char buf[32];
			snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
			write_atomically(arg, buf);
		} else if (strcmp(a, "ignore") == 0) {
			signal(signal_from_name(arg), SIG_IGN);
		} else if (strcmp(a, "default") == 0) {
			signal(signal_from_name(arg), SIG_DFL);
		} else if (strcmp(a, "trap") == 0) {
			struct sigaction sa = {.sa_handler = on_trap};
			if (i + 1 >= argc)
				return 99;
			trap_file = argv[++i];
			sigaction(signal_from_name(arg), &sa, NULL);
		} else if (strcmp(a, "sleep") == 0) {
			struct timespec ts = {atol(arg) / 1000, (atol(arg) % 1000) * 1000000};
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		} else if (strcmp(a, "exit") == 0) {
			return atoi(arg);
		} else if (strcmp(a, "kill") == 0) {
			kill(getpid(), signal_from_name(arg));
		} else if (strcmp(a, "fork-pause") == 0) {
			/* The parent writes the pid: it is in FILE before the next action. */
			pid_t p = fork();
			char buf[32];

			if (p == 0)
				for (;;)
					pause();
			snprintf(buf, sizeof(buf), "%d\n", (int)p);
			write_atomically(arg, buf);
		} else if (strcmp(a, "children") == 0) {
			if (i + 1 >= argc)
				return 99;
			fork_children(atoi(arg), atol(argv[++i]));
		} else if (strcmp(a, "orphans") == 0) {
			if (i + 1 >= argc)
				return 99;
			leave_orphans(atoi(arg), argv[++i]);
		} else if (strcmp(a, "describe") == 0) {
			describe(arg);
		} else if (strcmp(a, "out") == 0) {
			printf("%s\n", arg);
		} else if (strcmp(a, "err") == 0) {
			fprintf(stderr, "%s\n", arg);
		} else if (strcmp(a, "notify") == 0) {
			do_notify(arg);
		} else if (strcmp(a, "become") == 0) {
			if (setgroups(0, NULL) < 0 || setgid((gid_t)atol(arg)) < 0 ||
			    setuid((uid_t)atol(arg)) < 0) {
				perror("vigil-helper: become");
				return 96;
			}
		} else if (strcmp(a, "watchdog") == 0) {
			uint64_t usec = 0;
			if (sd_watchdog_enabled(0, &usec) <= 0) {
				fprintf(stderr, "vigil-helper: WATCHDOG_USEC is not set\n");
				return 96;
			}
			for (long k = 0; k < atol(arg); k++) {
				do_notify("WATCHDOG=1");
				sleep_ms((long)(usec / 4000));
			}
		} else if (strcmp(a, "http-serve") == 0) {
			if (i + 1 >= argc)
				return 99;
			http_serve(atoi(arg), argv[i + 1]);
		} else if (strcmp(a, "tcp-listen") == 0) {
			accept_forever(listen_tcp(atoi(arg)));
		} else if (strcmp(a, "unix-listen") == 0) {
			accept_forever(listen_unix(arg));
		} else if (strcmp(a, "partial") == 0) {
			fflush(stdout);
			(void)!write(STDOUT_FILENO, arg, strlen(arg));
		} else if (strcmp(a, "late") == 0) {
			if (i + 1 >= argc)
				return 99;
			late(atol(arg), argv[++i]);
		} else if (strcmp(a, "lines") == 0) {
			if (i + 1 >= argc)
				return 99;
			write_lines(atol(arg), atol(argv[++i]));
		} else if (strcmp(a, "pipe-size") == 0) {
			FILE *f = fopen(arg, "a");

			if (!f)
				return 98;
			fprintf(f, "%d\n", fcntl(STDOUT_FILENO, F_GETPIPE_SZ));
			fclose(f);
		} else if (strcmp(a, "flood") == 0) {
			long n = atol(arg);
			for (long k = 0; k < n; k++)
				fprintf(k % 2 ? stderr : stdout, "line %ld\n", k);
			fflush(stdout);
		} else {
			fprintf(stderr, "vigil-helper: unknown action %s\n", a);
			return 99;
		}
	}
	return 0;
}

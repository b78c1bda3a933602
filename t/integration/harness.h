/* harness.h: a real vigild per test, in its own temp dir, and everything a test
 * needs to watch it: its log, files its children write, its exit. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct vh {
	pid_t pid;      /* vigild, or 0 */
	char dir[128];  /* the test's temp dir */
	char conf[192]; /* DIR/vigil.conf */
	char log[192];  /* vigild's stdout and stderr */
	char sock[192]; /* DIR/control.sock */
	int status;     /* waitpid() status once it exited */
	bool exited;
	int stop_signal; /* what ends @pid: SIGTERM, or SIGKILL for `unshare --fork` */
};

/* A configuration stanza: service "crash" exits 1 at once and is restarted every
 * 100 ms, each run appending a line to a file. Its two %s are vh_helper() and that
 * file; it goes into a vh_write() format. */
#define VH_CRASH_EVERY_100MS                    \
	"service crash {\n"                     \
	"  command = \"%s record %s exit 1\"\n" \
	"  restart-delay = 100ms\n"             \
	"  restart-delay-max = 100ms\n"         \
	"  restart-factor = 1\n"                \
	"  restart-jitter = 0%%\n"              \
	"}\n"

/* Creates the temp dir. Call first; pair with vh_cleanup() in the test's .fini. */
void vh_init(struct vh *v);
/* Stops vigild (TERM, then KILL after 10 s), kills whatever still carries this test's
 * tag, removes the temp dir. Safe to call twice. */
void vh_cleanup(struct vh *v);

/* Skips the running test, cleaning up first: Criterion 2.4 runs no .fini after
 * cr_skip_test(), so the temp dir (and a vigild already started) would stay. */
#define VH_SKIP(v, ...)                    \
	do {                               \
		vh_cleanup(v);             \
		cr_skip_test(__VA_ARGS__); \
	} while (0)

/* Makes sure @program is on PATH for the running test. When it is not: with CI=true
 * (where ./build.sh check installed every package, so a missing one is its bug) the
 * test fails naming the Debian @package; elsewhere it is skipped, saying so. */
void vh_need(struct vh *v, const char *program, const char *package);
/* Makes sure `unshare --fork --pid` works here (vigild in a pid namespace of its
 * own); else skips, saying so. */
void vh_need_pid_namespace(struct vh *v);

/* True under VIGIL_VALGRIND=1 (make check-valgrind): every vigild the harness starts
 * runs under valgrind's memcheck, and a report fails the test at vh_cleanup(). */
bool vh_valgrind(void);
/* @ms times VIGIL_TIMEOUT_SCALE (when above 1): the harness's waits go through it,
 * so that tests keep their deadlines under valgrind. */
int vh_ms(int ms);

/* A path inside the temp dir; the result lives until the next 16 calls. */
const char *vh_path(struct vh *v, const char *name);
/* Writes DIR/NAME with printf-style content. */
void vh_write(struct vh *v, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The helper program (t/helper/vigil-helper) and the built binaries. */
const char *vh_helper(void);
const char *vh_vigild(void);
const char *vh_vigilctl(void);

/* Starts @argv (argv[0] looked up in PATH) as v->pid; stdout and stderr go to
 * v->log. Every process it starts carries VIGIL_TEST_TAG=DIR. When argv[0] is
 * vh_vigild() and vh_valgrind(), it runs under memcheck (same pid). */
void vh_start_program(struct vh *v, const char *const *argv);
/* Like vh_start_program(), with the program's stdout on @stdout_fd (stderr still goes
 * to v->log). */
void vh_start_program_stdout(struct vh *v, const char *const *argv, int stdout_fd);
/* Starts vigild with @args (NULL-terminated, after argv[0]), and `-s DIR/control.sock`
 * unless @args has a -s. */
void vh_start_args(struct vh *v, const char *const *args);
/* Starts `vigild -c DIR/vigil.conf -s DIR/control.sock --log-level debug`. */
void vh_start(struct vh *v);
/* Starts the same vigild through @wrapper (a command that ends by executing the
 * arguments that follow it: unshare, setpriv, `sh -c SCRIPT`), with @tail (NULL or
 * NULL-terminated, `-- COMMAND...`) after vigild's own arguments. `unshare --fork`
 * blocks SIGTERM while it waits: it is ended by SIGKILL, so give it --kill-child to
 * take its pid namespace along. */
void vh_start_under(struct vh *v, const char *const *wrapper, const char *const *tail);

/* Milliseconds of CLOCK_MONOTONIC. */
long long vh_now_ms(void);

/* Waits until v->log holds @needle at least @count times. */
bool vh_wait_log(struct vh *v, const char *needle, int count, int timeout_ms);
int vh_count_log(struct vh *v, const char *needle);
/* Waits until the file holds at least @lines lines. */
bool vh_wait_lines(const char *path, int lines, int timeout_ms);
int vh_count_lines(const char *path);
/* The newlines in @text. */
int vh_count_lines_in(const char *text);
/* Reads a whole file into a new string (NULL if absent). */
char *vh_read(const char *path);
/* Reads the first number in a file, or -1. */
long vh_read_long(const char *path);
/* Waits up to @timeout_ms for the first line of DIR/@name (a pid or a number a
 * helper wrote) and returns it; fails the test when none comes. */
long vh_wait_long(struct vh *v, const char *name, int timeout_ms);
/* Waits for vigild to exit; returns its exit code (128+N for signal N) or -1 on timeout. */
int vh_wait_exit(struct vh *v, int timeout_ms);
/* True while @pid exists (and is not a zombie). */
bool vh_alive(pid_t pid);
/* The parent of @pid, or -1. */
pid_t vh_ppid(pid_t pid);
/* Sleeps @ms milliseconds: for pacing a sequence, never to wait for a condition. */
void vh_msleep(int ms);
/* Runs a command (argv), capturing stdout into *out (may be NULL); returns its exit
 * code, or -1. */
int vh_run(const char *const *argv, char **out, int timeout_ms);

/* A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed). */
int vh_free_port(void);
/* Waits until @pid is gone (or a zombie). */
bool vh_wait_dead(pid_t pid, int timeout_ms);
/* Waits until @pid is gone altogether, a zombie too: its parent (vigild, for its
 * services and the orphans it adopts) reaped it. */
bool vh_wait_reaped(pid_t pid, int timeout_ms);
/* Where @needle first occurs in v->log, or -1: to check the order of two lines. */
long vh_log_offset(struct vh *v, const char *needle);
/* Asserts that @first and @then are both in v->log, @first before @then. */
void vh_expect_log_order(struct vh *v, const char *first, const char *then);

/* fuzz-config.c: config_load() on a main file and its drop-ins, written from the input
 * into a private directory: the bytes before the first NUL are the main file (after an
 * `include-dir = "vigil.d"` line), and each NUL starts the next drop-in, up to three
 * (the last keeps any further NULs). Checks that a loaded configuration holds what
 * config.h promises, that a failure says why, that loading the same files again gives
 * the same answer, and that a drop-in reads the same behind an empty main file:
 * libconfuse's lexer is global state, and nothing of one parse may leak into the next. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmdline.h"
#include "config.h"
#include "env.h"
#include "fuzz.h"
#include "macro.h"

#define DROPINS 3

static char dir[PATH_MAX / 2], main_path[PATH_MAX], dropin_dir[PATH_MAX];
static char dropins[DROPINS][PATH_MAX];
static const char prefix[] = "include-dir = \"vigil.d\"\n";

static void remove_files(void)
{
	for (size_t i = 0; i < DROPINS; i++)
		unlink(dropins[i]);
	rmdir(dropin_dir);
	unlink(main_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	/* Files are written for every input: a tmpfs is much faster than a disk (an ext4
	 * mounted with discard made each O_TRUNC wait for the device). */
	if (!tmp || !*tmp)
		tmp = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof(dir), "%s/vigil-fuzz-config.XXXXXX", tmp);
	if (!mkdtemp(dir)) {
		perror("fuzz-config: mkdtemp");
		exit(1);
	}
	snprintf(main_path, sizeof(main_path), "%s/vigil.conf", dir);
	snprintf(dropin_dir, sizeof(dropin_dir), "%s/vigil.d", dir);
	for (size_t i = 0; i < DROPINS; i++)
		snprintf(dropins[i], sizeof(dropins[i]), "%s/%zu0-dropin.conf", dropin_dir, i + 1);
	if (mkdir(dropin_dir, 0700) < 0) {
		perror("fuzz-config: mkdir");
		exit(1);
	}
	atexit(remove_files);
	return 0;
}

static void write_file(const char *path, const void *head, size_t head_len, const void *data,
		       size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, head, head_len) != (ssize_t)head_len ||
	    write(fd, data, len) != (ssize_t)len || close(fd) < 0) {
		perror(path);
		abort();
	}
}

/* The README's rule for a name, written apart from config.c's on purpose: a second
 * reading of the same rule. */
static bool name_is_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > CONFIG_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (const char *p = name; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && !strchr("_.-", *p))
			return false;
	return true;
}

static void check_probe(const struct service_config *sc, const struct probe_config *pc)
{
	if (pc->type == PROBE_NONE)
		return;
	FUZZ_CHECK(
		pc->type < PROBE_TYPE_COUNT && pc->target, "%s: a probe without target", sc->name);
	FUZZ_CHECK((pc->type == PROBE_EXEC) == !!pc->argv,
		   "%s: argv of a %s probe",
		   sc->name,
		   probe_type_to_string(pc->type));
	FUZZ_CHECK(pc->period > 0 && pc->timeout > 0,
		   "%s: a probe without period or timeout",
		   sc->name);
	FUZZ_CHECK(pc->success_threshold >= 1 && pc->failure_threshold >= 1,
		   "%s: a probe threshold of 0",
		   sc->name);
}

static void check_service(const struct service_config *sc)
{
	char **argv = NULL;
	const char *why = NULL;
	const struct lifecycle_policy *p = &sc->policy;

	FUZZ_CHECK(name_is_valid(sc->name), "service name '%s'", sc->name);
	FUZZ_CHECK(sc->file && sc->file[0] == '/', "%s: defined in '%s'", sc->name, sc->file);
	FUZZ_CHECK(sc->command && sc->argv && sc->argv[0], "%s: no command", sc->name);
	FUZZ_CHECK(cmdline_split(sc->command, &argv, &why) == 0 && strv_eq(argv, sc->argv),
		   "%s: argv is not the command split",
		   sc->name);
	strv_free(argv);
	FUZZ_CHECK(sc->environment && sc->requires, "%s: missing lists", sc->name);
	for (char **e = sc->environment; *e; e++)
		FUZZ_CHECK(env_assignment_is_valid(*e), "%s: environment '%s'", sc->name, *e);
	for (size_t i = 0; i < sc->n_requires; i++)
		FUZZ_CHECK(name_is_valid(sc->requires[i]),
			   "%s requires '%s'",
			   sc->name,
			   sc->requires[i]);
	FUZZ_CHECK(!sc->requires[sc->n_requires], "%s: requires is not terminated", sc->name);
	for (size_t i = 0; i < sc->n_success_codes; i++)
		FUZZ_CHECK(sc->success_codes[i] >= 0 && sc->success_codes[i] <= 255,
			   "%s: success code %d",
			   sc->name,
			   sc->success_codes[i]);
	FUZZ_CHECK(sc->umask >= -1 && sc->umask <= 0777, "%s: umask %o", sc->name, sc->umask);
	FUZZ_CHECK(sc->stop_signal >= 1 && sc->stop_signal < _NSIG,
		   "%s: stop-signal %d",
		   sc->name,
		   sc->stop_signal);
	FUZZ_CHECK(
		p->backoff.delay <= p->backoff.delay_max, "%s: delay above the maximum", sc->name);
	FUZZ_CHECK(p->backoff.factor >= 1.0 && p->backoff.factor <= 1000.0,
		   "%s: factor %g",
		   sc->name,
		   p->backoff.factor);
	FUZZ_CHECK(p->restart_window > 0, "%s: restart-window of 0", sc->name);
	FUZZ_CHECK(sc->log_keep <= 1000, "%s: log-keep %u", sc->name, sc->log_keep);
	FUZZ_CHECK(sc->ready != READY_PROBE || sc->probes[PROBE_READINESS].type != PROBE_NONE,
		   "%s: ready = probe without a readiness probe",
		   sc->name);
	FUZZ_CHECK(sc->type != SERVICE_TYPE_ONESHOT || sc->ready == READY_STARTED,
		   "%s: a oneshot with ready",
		   sc->name);
	for (size_t r = 0; r < PROBE_ROLE_COUNT; r++)
		check_probe(sc, &sc->probes[r]);
}

static void check_config(const struct vigil_config *c)
{
	CLEANUP_FREE bool *placed = calloc(c->n_services + 1, sizeof(bool));
	bool progress = true;

	if (!placed)
		abort();
	FUZZ_CHECK(c->n_services <= CONFIG_SERVICES_MAX, "%zu services", c->n_services);
	for (size_t i = 0; i < c->n_services; i++) {
		const struct service_config *sc = c->services[i];

		check_service(sc);
		FUZZ_CHECK(config_find_service(c, sc->name) == (ssize_t)i,
			   "%s defined twice",
			   sc->name);
		for (size_t k = 0; k < sc->n_requires; k++) {
			ssize_t j = config_find_service(c, sc->requires[k]);

			FUZZ_CHECK(j >= 0,
				   "%s requires '%s', which is not defined",
				   sc->name,
				   sc->requires[k]);
		}
	}
	/* A configuration that loads has no dependency cycle (checked here without the
	 * loader's graph code): placing each service whose requirements are all placed,
	 * over and over, places every one. */
	while (progress) {
		progress = false;
		for (size_t i = 0; i < c->n_services; i++) {
			const struct service_config *sc = c->services[i];
			bool ready = !placed[i];

			for (size_t k = 0; ready && k < sc->n_requires; k++)
				ready = placed[config_find_service(c, sc->requires[k])];
			if (ready)
				placed[i] = progress = true;
		}
	}
	for (size_t i = 0; i < c->n_services; i++)
		FUZZ_CHECK(placed[i], "%s is in a dependency cycle", c->services[i]->name);
}

static void check_errors(const struct config_errors *e)
{
	FUZZ_CHECK(e->n > 0 && e->lines && !e->lines[e->n], "failed without an error");
	for (size_t i = 0; i < e->n; i++)
		/* "FILE:LINE: message" or "FILE: message", FILE an absolute path. */
		FUZZ_CHECK(e->lines[i][0] == '/' && strstr(e->lines[i], ": "),
			   "error '%s'",
			   e->lines[i]);
}

/* The same files must give the same configuration, or the same errors. */
static void check_same(int r1, const struct vigil_config *c1, const struct config_errors *e1,
		       int r2, const struct vigil_config *c2, const struct config_errors *e2)
{
	FUZZ_CHECK(r1 == r2, "loaded twice: %d, then %d", r1, r2);
	if (r1 < 0) {
		FUZZ_CHECK(e1->n == e2->n, "loaded twice: %zu errors, then %zu", e1->n, e2->n);
		for (size_t i = 0; i < e1->n; i++)
			FUZZ_CHECK(STREQ(e1->lines[i], e2->lines[i]),
				   "loaded twice: '%s', then '%s'",
				   e1->lines[i],
				   e2->lines[i]);
		return;
	}
	FUZZ_CHECK(c1->n_services == c2->n_services,
		   "loaded twice: %zu services, then %zu",
		   c1->n_services,
		   c2->n_services);
	for (size_t i = 0; i < c1->n_services; i++)
		FUZZ_CHECK(service_config_equal(c1->services[i], c2->services[i]) &&
				   c1->services[i]->line == c2->services[i]->line,
			   "loaded twice: %s changed",
			   c1->services[i]->name);
}

static bool in_dropin(const char *file)
{
	size_t n = strlen(dropin_dir);

	return strncmp(file, dropin_dir, n) == 0 && file[n] == '/';
}

/* A drop-in reads the same whatever the main file holds: libconfuse's lexer must not
 * carry a state from one file into the next. @r1, @c1 and @e1 come from the input's
 * main file; the drop-ins are loaded again behind an empty main file. Only what one
 * file can do to another may differ: a name defined in both, a cycle through both. */
static void check_dropins_alone(int r1, const struct vigil_config *c1,
				const struct config_errors *e1)
{
	struct config_errors e = {0};
	struct vigil_config *c = NULL;
	size_t k = 0;
	int r;

	write_file(main_path, prefix, sizeof(prefix) - 1, "", 0);
	r = config_load(main_path, NULL, &e, &c);
	if (r == 0 && r1 == 0) {
		for (size_t i = 0; i < c1->n_services; i++) {
			const struct service_config *sc = c1->services[i];

			if (!in_dropin(sc->file))
				continue;
			FUZZ_CHECK(k < c->n_services && service_config_equal(sc, c->services[k]) &&
					   sc->line == c->services[k]->line,
				   "drop-in service %s reads differently after the main file",
				   sc->name);
			k++;
		}
		FUZZ_CHECK(k == c->n_services,
			   "the main file hid %zu drop-in services",
			   c->n_services - k);
	}
	if (r == 0 && r1 < 0)
		for (size_t i = 0; i < e1->n; i++)
			FUZZ_CHECK(!in_dropin(e1->lines[i]) ||
					   strstr(e1->lines[i], "already defined") ||
					   strstr(e1->lines[i], "dependency cycle") ||
					   strstr(e1->lines[i], "more than"),
				   "a drop-in fails after the main file only: %s",
				   e1->lines[i]);
	config_free(c);
	config_errors_clear(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *part = data, *end = data + size;
	const uint8_t *main_end = memchr(data, 0, size);
	struct config_errors e1 = {0}, e2 = {0};
	struct vigil_config *c1 = NULL, *c2 = NULL;
	int r1, r2;

	for (size_t i = 0; i <= DROPINS; i++) {
		const uint8_t *nul =
			i < DROPINS && part ? memchr(part, 0, (size_t)(end - part)) : NULL;
		const uint8_t *stop = nul ? nul : end;

		if (i == 0)
			write_file(
				main_path, prefix, sizeof(prefix) - 1, part, (size_t)(stop - part));
		else if (part)
			write_file(dropins[i - 1], "", 0, part, (size_t)(stop - part));
		else
			unlink(dropins[i - 1]);
		part = nul ? nul + 1 : NULL;
	}

	r1 = config_load(main_path, NULL, &e1, &c1);
	FUZZ_CHECK(r1 == 0 || r1 == -EINVAL, "returned %d", r1);
	if (r1 == 0) {
		FUZZ_CHECK(e1.n == 0 && c1, "loaded with %zu errors", e1.n);
		check_config(c1);
	} else
		check_errors(&e1);
	r2 = config_load(main_path, NULL, &e2, &c2);
	check_same(r1, c1, &e1, r2, c2, &e2);
	/* With drop-ins, and the main file not pointing elsewhere. */
	if (main_end && !memmem(data, (size_t)(main_end - data), "include-dir", 11))
		check_dropins_alone(r1, c1, &e1);

	config_free(c1);
	config_free(c2);
	config_errors_clear(&e1);
	config_errors_clear(&e2);
	return 0;
}

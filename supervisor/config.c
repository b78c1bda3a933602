/* config.c: vigil.conf and its drop-ins, parsed with libconfuse into plain structs.
 * libconfuse is used here and nowhere else; no cfg_t leaves this file. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <confuse.h>

#include "cmdline.h"
#include "depgraph.h"
#include "env.h"
#include "fileio.h"
#include "listen.h"
#include "macro.h"
#include "probe.h"
#include "signame.h"
#include "units.h"

DEFINE_CLEANUP(cfg_t, cfg_free)
DEFINE_CLEANUP(struct service_config, service_config_free)

/* The largest configuration file read, a cap on what one file may cost. */
#define CONFIG_FILE_MAX  (4U << 20)
#define CONFIG_FILES_MAX 4096
/* Sections one file may open: every service with its three probe blocks. */
#define CONFIG_SECTIONS_MAX (CONFIG_SERVICES_MAX * (1 + PROBE_ROLE_COUNT))

/* Where each section opens, found by the comment-blanking pass: libconfuse does not
 * tell where a section starts (notes §6, trap 6). */
struct section_mark {
	unsigned line;
	unsigned depth; /* 0: top level */
	char keyword[32];
	char title[CONFIG_NAME_MAX + 1];
};

/* Lines that libconfuse reports only while parsing, keyed by section. */
struct line_mark {
	const cfg_t *section;
	const char *option;
	unsigned line;
};

/* What a section has set so far, for validate_option(): the line of each option, by
 * its index in the section (0: not set). */
#define SEEN_OPTIONS  48 /* more than any section has */
#define SEEN_SECTIONS 8  /* a service and its probe blocks fit */
struct seen_options {
	const cfg_t *section;
	unsigned line[SEEN_OPTIONS];
};

/* libconfuse callbacks take no user data, and its lexer is global state anyway:
 * one parse at a time, described by this context. */
static struct parse_ctx {
	struct config_errors *errors;
	const char *file;
	struct section_mark *sections;
	size_t n_sections, cap_sections;
	struct line_mark *lines;
	size_t n_lines, cap_lines;
	char **rejected; /* services found but not taken: not "unknown" to requires */
	size_t n_rejected;
	bool failed;          /* the current file has reported an error */
	bool file_failed;     /* the current file could not be parsed */
	bool any_file_failed; /* then its services are unknown to `requires` */
	/* [0]: the root's; then the sections read last, in turn */
	struct seen_options seen[1 + SEEN_SECTIONS];
	unsigned seen_next;
} ctx;

void config_errors_clear(struct config_errors *e)
{
	e->lines = strv_free(e->lines);
	e->n = 0;
}

static int errors_addv(struct config_errors *e, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static int errors_addv(struct config_errors *e, const char *fmt, va_list ap)
{
	char *msg, **nl;

	if (vasprintf(&msg, fmt, ap) < 0)
		return -ENOMEM;
	nl = realloc(e->lines, (e->n + 2) * sizeof(*nl));
	if (!nl) {
		free(msg);
		return -ENOMEM;
	}
	nl[e->n++] = msg;
	nl[e->n] = NULL;
	e->lines = nl;
	return 0;
}

int config_errors_add(struct config_errors *e, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = errors_addv(e, fmt, ap);
	va_end(ap);
	return r;
}

static void on_cfg_error(cfg_t *cfg, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void on_cfg_error(cfg_t *cfg, const char *fmt, va_list ap)
{
	char msg[1024], word[32];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	ctx.failed = true;
	/* Say which name is defined twice in our own words. */
	if (strncmp(msg, "found duplicate title ", 22) == 0)
		config_errors_add(ctx.errors,
				  "%s:%d: service %s is defined twice in this file",
				  ctx.file,
				  cfg ? cfg->line : 0,
				  msg + 22);
	else if (sscanf(msg, "no such option '%31[^']'", word) == 1 && units_is_suffix(word))
		/* `restart-delay = 100 ms`: libconfuse took the unit for the next option. */
		config_errors_add(
			ctx.errors,
			"%s:%d: %s (a unit goes right after its number: 100%s, not 100 %s)",
			ctx.file,
			cfg ? cfg->line : 0,
			msg,
			word,
			word);
	else
		config_errors_add(ctx.errors, "%s:%d: %s", ctx.file, cfg ? cfg->line : 0, msg);
}

static void remember_line(const cfg_t *section, const char *option, unsigned line)
{
	if (ctx.n_lines == ctx.cap_lines) {
		size_t cap = ctx.cap_lines ? ctx.cap_lines * 2 : 64;
		struct line_mark *n = realloc(ctx.lines, cap * sizeof(*n));
		if (!n)
			return; /* a missing line only makes a message say line 0 */
		ctx.lines = n;
		ctx.cap_lines = cap;
	}
	ctx.lines[ctx.n_lines++] = (struct line_mark){section, option, line};
}

static unsigned recalled_line(const cfg_t *section, const char *option)
{
	for (size_t i = ctx.n_lines; i-- > 0;)
		if (ctx.lines[i].section == section && STREQ(ctx.lines[i].option, option))
			return ctx.lines[i].line;
	return 0;
}

/* ---- value parsers: each reports its own error with the option's line ---- */

static int parse_duration(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	uint64_t usec;

	if (units_parse_duration(value, &usec) < 0) {
		cfg_error(cfg,
			  "bad duration '%s' for option '%s' (write e.g. 500ms, 10s, 2m, 1h)",
			  value,
			  opt->name);
		return -1;
	}
	*(long *)result = (long)usec;
	return 0;
}

static int parse_size(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	uint64_t bytes;

	if (units_parse_size(value, &bytes) < 0) {
		cfg_error(cfg,
			  "bad size '%s' for option '%s' (write e.g. 512K, 10M, 1G)",
			  value,
			  opt->name);
		return -1;
	}
	*(long *)result = (long)bytes;
	return 0;
}

static int parse_percent(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	if (units_parse_percent(value, (double *)result) < 0) {
		cfg_error(cfg,
			  "bad percentage '%s' for option '%s' (write e.g. 10%%)",
			  value,
			  opt->name);
		return -1;
	}
	return 0;
}

static int parse_signal(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	int sig = signame_from_string(value);

	if (sig < 0) {
		cfg_error(cfg,
			  "unknown signal '%s' for option '%s' (write e.g. TERM, INT, HUP)",
			  value,
			  opt->name);
		return -1;
	}
	if (sig == SIGSTOP) {
		/* It cannot be caught and only pauses: every stop would wait out
		 * stop-timeout and end in SIGKILL. */
		cfg_error(cfg,
			  "signal STOP for option '%s' pauses a process, it cannot end one "
			  "(write e.g. TERM, INT, HUP)",
			  opt->name);
		return -1;
	}
	*(long *)result = sig;
	return 0;
}

static int parse_umask(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char *end;
	long v = strtol(value, &end, 8);

	if (end == value || *end || v < 0 || v > 0777) {
		cfg_error(cfg, "bad umask '%s' for option '%s' (write e.g. 022)", value, opt->name);
		return -1;
	}
	*(long *)result = v;
	return 0;
}

/* The options whose values are words, and the words. */
static const struct {
	const char *option;
	const char *words[4];
} word_options[] = {
	{"type", {"simple", "oneshot"}},
	{"restart", {"always", "on-failure", "never"}},
	{"on-failed", {"ignore", "shutdown"}},
	{"ready", {"started", "notify", "probe"}},
	{"kill-mode", {"group", "process"}},
	{"log-forward", {"auto", "yes", "no"}},
};

static int parse_word(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	for (size_t i = 0; i < ELEMENTSOF(word_options); i++) {
		const char *const *w = word_options[i].words;

		if (!STREQ(word_options[i].option, opt->name))
			continue;
		for (long k = 0; k < 4 && w[k]; k++)
			if (STREQ(w[k], value)) {
				*(long *)result = k;
				return 0;
			}
		cfg_error(cfg,
			  "bad value '%s' for option '%s' (one of: %s%s%s%s%s)",
			  value,
			  opt->name,
			  w[0],
			  w[1] ? ", " : "",
			  w[1] ? w[1] : "",
			  w[2] ? ", " : "",
			  w[2] ? w[2] : "");
		return -1;
	}
	cfg_error(cfg, "option '%s' takes no words", opt->name);
	return -1;
}

/* ---- validators: called by libconfuse when an option is set ---- */

static long last_int(cfg_opt_t *opt)
{
	return cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);
}

static int check_range(cfg_t *cfg, cfg_opt_t *opt, long lo, long hi)
{
	long v = last_int(opt);

	if (v < lo || v > hi) {
		cfg_error(cfg,
			  "value %ld for option '%s' is out of range (%ld..%ld)",
			  v,
			  opt->name,
			  lo,
			  hi);
		return -1;
	}
	return 0;
}

static int validate_count(cfg_t *cfg, cfg_opt_t *opt)
{
	return check_range(cfg, opt, 0, 1000000);
}

static int validate_threshold(cfg_t *cfg, cfg_opt_t *opt)
{
	return check_range(cfg, opt, 1, 1000000);
}

static int validate_positive_duration(cfg_t *cfg, cfg_opt_t *opt)
{
	if (last_int(opt) <= 0) {
		cfg_error(cfg, "option '%s' must be longer than 0s", opt->name);
		return -1;
	}
	return 0;
}

static int validate_log_keep(cfg_t *cfg, cfg_opt_t *opt)
{
	return check_range(cfg, opt, 0, 1000);
}

static int validate_factor(cfg_t *cfg, cfg_opt_t *opt)
{
	double f = cfg_opt_getnfloat(opt, 0);

	/* Written so that NaN, which libconfuse's strtod reads from "nan" and which
	 * compares false with everything, is out of range too. */
	if (!(f >= 1.0 && f <= 1000.0)) {
		cfg_error(cfg, "value %g for option '%s' is out of range (1..1000)", f, opt->name);
		return -1;
	}
	return 0;
}

/* A user, group, directory or env-file of "" could never work: every start would
 * fail. "-" is an optional env-file with no path. */
static int validate_not_empty(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);

	if (!v || v[0] == '\0' || (STREQ(opt->name, "env-file") && STREQ(v, "-"))) {
		cfg_error(cfg, "option '%s' must not be empty", opt->name);
		return -1;
	}
	return 0;
}

static int validate_command(cfg_t *cfg, cfg_opt_t *opt)
{
	char **argv = NULL;
	const char *why = "out of memory";
	const char *value = cfg_opt_getnstr(opt, 0);

	if (cmdline_split(value ? value : "", &argv, &why) < 0) {
		cfg_error(cfg, "bad command for option '%s': %s", opt->name, why);
		return -1;
	}
	strv_free(argv);
	return 0;
}

static bool name_is_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > CONFIG_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
			return false;
	return name[0] != '.' && name[0] != '-';
}

static int validate_requires(cfg_t *cfg, cfg_opt_t *opt)
{
	remember_line(cfg, "requires", (unsigned)cfg->line);
	for (unsigned i = 0; i < cfg_opt_size(opt); i++) {
		const char *n = cfg_opt_getnstr(opt, i);
		if (!name_is_valid(n)) {
			cfg_error(cfg, "bad service name '%s' in 'requires'", n);
			return -1;
		}
	}
	return 0;
}

static int validate_environment(cfg_t *cfg, cfg_opt_t *opt)
{
	for (unsigned i = 0; i < cfg_opt_size(opt); i++) {
		const char *a = cfg_opt_getnstr(opt, i);
		if (!env_assignment_is_valid(a)) {
			cfg_error(cfg, "bad entry '%s' in 'environment' (write KEY=VALUE)", a);
			return -1;
		}
	}
	return 0;
}

static int validate_exit_codes(cfg_t *cfg, cfg_opt_t *opt)
{
	for (unsigned i = 0; i < cfg_opt_size(opt); i++) {
		long c = cfg_opt_getnint(opt, i);
		if (c < 0 || c > 255) {
			cfg_error(cfg,
				  "exit code %ld in '%s' is out of range (0..255)",
				  c,
				  opt->name);
			return -1;
		}
	}
	return 0;
}

static int validate_tcp(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0), *colon = strrchr(v, ':');
	char *end;
	long port;

	if (!colon || colon == v) {
		cfg_error(cfg, "bad address '%s' for 'tcp' (write host:port)", v);
		return -1;
	}
	port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || port < 1 || port > 65535) {
		cfg_error(cfg, "bad port in '%s' for 'tcp' (1..65535)", v);
		return -1;
	}
	return 0;
}

static int validate_http(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);

	if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
		cfg_error(
			cfg, "bad URL '%s' for 'http' (it must start with http:// or https://)", v);
		return -1;
	}
	return 0;
}

static int validate_unix(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);

	if (v[0] != '/' || strlen(v) >= 108) {
		cfg_error(cfg, "bad socket path '%s' for 'unix' (absolute, under 108 bytes)", v);
		return -1;
	}
	return 0;
}

/* Checked here, not only when vigild binds it: a bad value would pass --check and a
 * reload, then stop the next start of vigild. */
static int validate_http_listen(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);
	char host[256], port[8];

	if (v && listen_parse_address(v, host, sizeof(host), port, sizeof(port)) < 0) {
		cfg_error(
			cfg,
			"bad value '%s' for option 'http-listen' (HOST:PORT, [IPV6]:PORT or :PORT)",
			v);
		return -1;
	}
	return 0;
}

static int validate_include_dir(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);

	/* "" would name the main file's own directory: "." says so when meant. */
	if (!v || v[0] == '\0') {
		cfg_error(cfg,
			  "option 'include-dir' must not be empty (\".\": this file's directory)");
		return -1;
	}
	return 0;
}

/* ---- the schema ---- */

#define DURATION(name, def) CFG_INT_CB(name, (long)(def), CFGF_NONE, parse_duration)
#define WORD(name, def)     CFG_INT_CB(name, (long)(def), CFGF_NONE, parse_word)

static cfg_opt_t probe_opts[] = {
	CFG_STR("exec", NULL, CFGF_NODEFAULT),
	CFG_STR("tcp", NULL, CFGF_NODEFAULT),
	CFG_STR("http", NULL, CFGF_NODEFAULT),
	CFG_STR("unix", NULL, CFGF_NODEFAULT),
	DURATION("initial-delay", 0),
	DURATION("period", 10 * SEC),
	DURATION("timeout", 1 * SEC),
	CFG_INT("success-threshold", 1, CFGF_NONE),
	CFG_INT("failure-threshold", 3, CFGF_NONE),
	CFG_END(),
};

static const char *const probe_kind_options[PROBE_TYPE_COUNT] = {
	[PROBE_EXEC] = "exec",
	[PROBE_TCP] = "tcp",
	[PROBE_HTTP] = "http",
	[PROBE_UNIX] = "unix",
};

static const char *const probe_roles[PROBE_ROLE_COUNT] = {
	[PROBE_STARTUP] = "startup",
	[PROBE_LIVENESS] = "liveness",
	[PROBE_READINESS] = "readiness",
};

const char *probe_role_to_string(enum probe_role r)
{
	return r < PROBE_ROLE_COUNT ? probe_roles[r] : "invalid";
}

const char *probe_type_to_string(enum probe_type t)
{
	return t < PROBE_TYPE_COUNT && probe_kind_options[t] ? probe_kind_options[t] : "none";
}

static char default_exit_codes[] = "{0}"; /* libconfuse wants it writable */

static cfg_opt_t service_opts[] = {
	CFG_STR("command", NULL, CFGF_NODEFAULT),
	CFG_STR("directory", NULL, CFGF_NONE),
	CFG_STR("user", NULL, CFGF_NONE),
	CFG_STR("group", NULL, CFGF_NONE),
	CFG_INT_CB("umask", -1, CFGF_NONE, parse_umask),
	CFG_STR_LIST("environment", NULL, CFGF_NONE),
	CFG_STR("env-file", NULL, CFGF_NONE),
	CFG_BOOL("autostart", cfg_true, CFGF_NONE),
	WORD("type", SERVICE_TYPE_SIMPLE),
	CFG_STR_LIST("requires", NULL, CFGF_NONE),
	WORD("restart", RESTART_ALWAYS),
	CFG_INT_LIST("success-exit-codes", default_exit_codes, CFGF_NONE),
	DURATION("restart-delay", 100 * MSEC),
	DURATION("restart-delay-max", 30 * SEC),
	CFG_FLOAT("restart-factor", 2.0, CFGF_NONE),
	CFG_FLOAT_CB("restart-jitter", 0.1, CFGF_NONE, parse_percent),
	DURATION("stable-after", 30 * SEC),
	CFG_INT("restart-limit", 0, CFGF_NONE),
	DURATION("restart-window", 60 * SEC),
	WORD("on-failed", ON_FAILED_IGNORE),
	WORD("ready", READY_STARTED),
	DURATION("start-timeout", 60 * SEC),
	DURATION("watchdog", 0),
	CFG_INT_CB("stop-signal", SIGTERM, CFGF_NONE, parse_signal),
	DURATION("stop-timeout", 10 * SEC),
	WORD("kill-mode", KILL_MODE_GROUP),
	CFG_INT_CB("log-max-size", 10L << 20, CFGF_NONE, parse_size),
	CFG_INT("log-keep", 5, CFGF_NONE),
	CFG_INT_CB("log-buffer", 256L << 10, CFGF_NONE, parse_size),
	CFG_SEC("startup", probe_opts, CFGF_NODEFAULT),
	CFG_SEC("liveness", probe_opts, CFGF_NODEFAULT),
	CFG_SEC("readiness", probe_opts, CFGF_NODEFAULT),
	CFG_END(),
};

static cfg_opt_t top_opts[] = {
	CFG_STR("control-socket", NULL, CFGF_NONE),
	CFG_STR("control-group", "vigil", CFGF_NONE),
	CFG_STR("include-dir", NULL, CFGF_NONE),
	CFG_STR("log-dir", NULL, CFGF_NONE),
	WORD("log-forward", LOG_FORWARD_AUTO),
	CFG_STR("http-listen", NULL, CFGF_NONE),
	DURATION("shutdown-timeout", 30 * SEC),
	CFG_SEC("service", service_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_END(),
};

/* The checks of the options that have one, by name (no name is used at two levels). */
static const struct {
	const char *option;
	cfg_validate_callback_t fn;
} validators[] = {
	{"include-dir", validate_include_dir},
	{"http-listen", validate_http_listen},
	{"command", validate_command},
	{"user", validate_not_empty},
	{"group", validate_not_empty},
	{"directory", validate_not_empty},
	{"env-file", validate_not_empty},
	{"requires", validate_requires},
	{"environment", validate_environment},
	{"success-exit-codes", validate_exit_codes},
	{"restart-limit", validate_count},
	{"restart-factor", validate_factor},
	{"restart-window", validate_positive_duration},
	{"log-keep", validate_log_keep},
	{"exec", validate_command},
	{"tcp", validate_tcp},
	{"http", validate_http},
	{"unix", validate_unix},
	{"period", validate_positive_duration},
	{"timeout", validate_positive_duration},
	{"success-threshold", validate_threshold},
	{"failure-threshold", validate_threshold},
};

/* The section that holds @opt, and @opt's index in it: @cfg, or a section of @cfg
 * when the option was written `section|option` (libconfuse then passes the section
 * the line is in). NULL if none. */
static cfg_t *option_owner(cfg_t *cfg, const cfg_opt_t *opt, unsigned *index, unsigned depth)
{
	uintptr_t first = (uintptr_t)cfg->opts, p = (uintptr_t)opt;
	unsigned n = cfg_num(cfg);

	if (p >= first && p < first + n * sizeof(*opt)) {
		*index = (unsigned)((p - first) / sizeof(*opt));
		return cfg;
	}
	if (depth >= 2)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		cfg_opt_t *o = &cfg->opts[i];

		if (o->type != CFGT_SEC)
			continue;
		for (unsigned k = 0; k < cfg_opt_size(o); k++) {
			cfg_t *found = option_owner(cfg_opt_getnsec(o, k), opt, index, depth + 1);

			if (found)
				return found;
		}
	}
	return NULL;
}

/* The lines of what @section has set so far. */
static unsigned *seen_lines(const cfg_t *section)
{
	struct seen_options *s = &ctx.seen[0];

	if (!STREQ(section->name, "root")) {
		for (size_t i = 1; i <= SEEN_SECTIONS; i++)
			if (ctx.seen[i].section == section)
				return ctx.seen[i].line;
		s = &ctx.seen[1 + ctx.seen_next++ % SEEN_SECTIONS];
		memset(s, 0, sizeof(*s));
	}
	s->section = section;
	return s->line;
}

/* The line where the top of the file being read set @option (one of top_opts), or 0. */
static unsigned root_line(const char *option)
{
	for (size_t i = 0; i < SEEN_OPTIONS && top_opts[i].name; i++)
		if (STREQ(top_opts[i].name, option))
			return ctx.seen[0].line[i];
	return 0;
}

/* The line of the last @keyword block (a probe block) that opens at or before @line,
 * or 0. */
static unsigned block_at(const char *keyword, unsigned line)
{
	unsigned found = 0;

	for (size_t i = 0; i < ctx.n_sections && ctx.sections[i].line <= line; i++)
		if (ctx.sections[i].depth == 1 && STREQ(ctx.sections[i].keyword, keyword))
			found = ctx.sections[i].line;
	return found;
}

/* Runs for every option as it is read. A value given twice in one section would
 * leave the last one in silence: an error. A list is not checked here: libconfuse
 * calls this for each of its values, and `=` again cannot be told from `+=`
 * (list_assigned() looks at the text). */
static int validate_option(cfg_t *cfg, cfg_opt_t *opt)
{
	unsigned index;
	cfg_t *owner;

	if (!(opt->flags & CFGF_LIST) && (owner = option_owner(cfg, opt, &index, 0)) &&
	    index < SEEN_OPTIONS) {
		unsigned *line = seen_lines(owner);

		if (line[index]) {
			unsigned first = block_at(owner->name, line[index]);

			/* Two blocks of one role: libconfuse makes them one section. */
			if (!STREQ(owner->name, "root") &&
			    block_at(owner->name, (unsigned)cfg->line) > first)
				cfg_error(cfg,
					  "more than one %s block in this service (the first at "
					  "line %u)",
					  owner->name,
					  first);
			else
				cfg_error(cfg,
					  "option '%s' is given twice (first at line %u)",
					  opt->name,
					  line[index]);
			return -1;
		}
		line[index] = (unsigned)cfg->line;
	}
	for (size_t i = 0; i < ELEMENTSOF(validators); i++)
		if (STREQ(validators[i].option, opt->name))
			return validators[i].fn(cfg, opt);
	return 0;
}

/* Sets validate_option() on every option of @opts, a section at @prefix ("" for
 * the top, else "service|" or "service|liveness|"). */
static void validate_options(cfg_t *cfg, const cfg_opt_t *opts, const char *prefix)
{
	char path[64];

	for (const cfg_opt_t *o = opts; o->name; o++) {
		if (o->type == CFGT_SEC)
			continue;
		snprintf(path, sizeof(path), "%s%s", prefix, o->name);
		cfg_set_validate_func(cfg, path, validate_option);
	}
}

static cfg_t *schema_new(void)
{
	cfg_t *cfg = cfg_init(top_opts, CFGF_NONE);
	char prefix[64];

	if (!cfg)
		return NULL;
	cfg_set_error_function(cfg, on_cfg_error);
	validate_options(cfg, top_opts, "");
	validate_options(cfg, service_opts, "service|");
	for (size_t r = 0; r < PROBE_ROLE_COUNT; r++) {
		snprintf(prefix, sizeof(prefix), "service|%s|", probe_roles[r]);
		validate_options(cfg, probe_opts, prefix);
	}
	return cfg;
}

/* ---- reading a file ---- */

/* Copies the word that ends just before @end (skipping blanks back from it) into
 * @out; a quoted word loses its quotes. Returns where the word starts. */
static const char *word_before(const char *start, const char *end, char *out, size_t size)
{
	const char *e = end, *b;

	while (e > start && isspace((unsigned char)e[-1]))
		e--;
	b = e;
	if (b > start && (b[-1] == '"' || b[-1] == '\'')) {
		char q = b[-1];
		b--;
		e = b;
		while (b > start && b[-1] != q)
			b--;
		snprintf(out, size, "%.*s", (int)(e - b), b);
		return b > start ? b - 1 : b;
	}
	while (b > start && !isspace((unsigned char)b[-1]) && !strchr("{}=", b[-1]))
		b--;
	snprintf(out, size, "%.*s", (int)(e - b), b);
	return b;
}

/* Where the last quoted string seen by blank_and_scan() opens and closes (SIZE_MAX:
 * none yet). */
struct string_span {
	size_t open, close;
};

/* The title before the '{' at @i, into @out: the string @str when it ends there (the
 * forward scan knows where it opened, which a backward one cannot tell for "" or an
 * escaped quote inside), else word_before()'s word. *@ret_quoted says which. */
static const char *title_before(const char *buf, size_t i, const struct string_span *str, char *out,
				size_t size, bool *ret_quoted)
{
	size_t e = i;

	while (e > 0 && isspace((unsigned char)buf[e - 1]))
		e--;
	*ret_quoted = str->close != SIZE_MAX && e == str->close + 1;
	if (!*ret_quoted)
		return word_before(buf, buf + i, out, size);
	snprintf(out,
		 size,
		 "%.*s",
		 (int)MIN(str->close - str->open - 1, size - 1),
		 buf + str->open + 1);
	return buf + str->open;
}

/* Length of libconfuse's environment token "${NAME}" at @i, or 0. Its lexer reads one
 * inside double quotes, and outside quotes where a word starts; the token runs to the
 * first '}', across quotes, '#' and newlines, so this pass must skip it as one: taking
 * its '"' for a quote let a string stay open to the end of the file, which libconfuse
 * accepts, swallowing the rest of the file (found by t/fuzz/fuzz-config). */
static size_t env_token_length(const char *buf, size_t len, size_t i, bool in_quotes,
			       size_t *next_close)
{
	if (len - i < 3 || buf[i] != '$' || buf[i + 1] != '{')
		return 0;
	/* Outside quotes, "a${X}" is the word "a$" and a section: no token. */
	if (!in_quotes && i > 0 &&
	    (buf[i - 1] == '\0' || !strchr(" \t\n\r={}()+,*\"'", buf[i - 1])))
		return 0;
	/* Where the next '}' is (len: nowhere) is kept from one call to the next: a file
	 * of "${" without any '}' costs one look, not one per "${". */
	if (*next_close < i + 2) {
		const char *close = memchr(buf + i + 2, '}', len - i - 2);

		*next_close = close ? (size_t)(close - buf) : len;
	}
	return *next_close < len ? *next_close - i + 1 : 0;
}

/* The line where this file defined service @title already, or 0 (blank_and_scan()'s
 * marks). */
static unsigned defined_at(const char *title)
{
	for (size_t i = 0; i < ctx.n_sections; i++)
		if (ctx.sections[i].depth == 0 && STREQ(ctx.sections[i].keyword, "service") &&
		    STREQ(ctx.sections[i].title, title))
			return ctx.sections[i].line;
	return 0;
}

/* The '=' at @at in a service: a list option set with '=' a second time would keep
 * only its last value, without a word (libconfuse checks a list value by value and
 * cannot tell `=` from `+=`), so the text is looked at instead. @lines holds the
 * line where the service first set each list of service_opts. */
static void list_assigned(const char *file, const char *buf, size_t at, unsigned line,
			  unsigned lines[SEEN_OPTIONS])
{
	bool append = at > 0 && buf[at - 1] == '+';
	char name[32];

	word_before(buf, buf + at - append, name, sizeof(name));
	for (size_t k = 0; k < SEEN_OPTIONS && service_opts[k].name; k++) {
		if (!(service_opts[k].flags & CFGF_LIST) || !STREQ(service_opts[k].name, name))
			continue;
		if (lines[k] && !append)
			config_errors_add(ctx.errors,
					  "%s:%u: option '%s' is given twice (first at line %u; to "
					  "add to a list, write +=)",
					  file,
					  line,
					  name,
					  lines[k]);
		else if (!lines[k])
			lines[k] = line;
		return;
	}
}

/* Blanks comments outside quotes (keeping newlines, so libconfuse counts lines
 * right: notes §6, trap 1), notes where each section opens and checks that braces
 * balance (trap 5). Returns 0 or -EINVAL after reporting. */
static int blank_and_scan(const char *file, char *buf, size_t len)
{
	unsigned line = 1, depth = 0, open_lines[64], quote_line = 0, services = 0, first;
	unsigned list_lines[SEEN_OPTIONS] = {0}; /* where this service set each list */
	size_t next_close = 0, dup_from = SIZE_MAX;
	struct string_span str = {SIZE_MAX, SIZE_MAX};
	char quote = 0;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		size_t token = env_token_length(buf, len, i, quote == '"', &next_close);

		if (token > 0 && quote != '\'') {
			for (size_t k = i; k < i + token; k++)
				line += buf[k] == '\n';
			i += token - 1;
			continue;
		}
		if (c == '\n')
			line++;
		if (quote) {
			if (c == '\\' && i + 1 < len && buf[i + 1] != '\n')
				i++;
			else if (c == quote) {
				quote = 0;
				str.close = i;
			}
			continue;
		}
		if (c == '"' || c == '\'') {
			quote = c;
			quote_line = line;
			str.open = i;
		} else if (c == '#' || (c == '/' && i + 1 < len && buf[i + 1] == '/')) {
			for (; i < len && buf[i] != '\n'; i++)
				buf[i] = ' ';
			i--;
		} else if (c == '/' && i + 1 < len && buf[i + 1] == '*') {
			unsigned comment_line = line;

			buf[i] = buf[i + 1] = ' ';
			for (i += 2;
			     i < len && !(buf[i] == '*' && i + 1 < len && buf[i + 1] == '/');
			     i++)
				if (buf[i] == '\n')
					line++;
				else
					buf[i] = ' ';
			if (i < len)
				buf[i] = buf[i + 1] = ' ', i++;
			else {
				/* libconfuse would take the rest of the file as the comment. */
				config_errors_add(ctx.errors,
						  "%s:%u: comment '/*' is never closed with '*/'",
						  file,
						  comment_line);
				return -EINVAL;
			}
		} else if (c == '=' && depth == 1 && dup_from == SIZE_MAX) {
			list_assigned(file, buf, i, line, list_lines);
		} else if (c == '{') {
			char kw[32] = "", title[CONFIG_NAME_MAX + 1] = "";
			bool quoted;
			const char *p = title_before(buf, i, &str, title, sizeof(title), &quoted);
			/* An empty word before '{' is a list's, an empty string a title. */
			bool list = p > buf && (p[-1] == '=' || (title[0] == '\0' && !quoted));

			if (depth < ELEMENTSOF(open_lines))
				open_lines[depth] = line;
			depth++;
			/* Inside a blanked duplicate nothing is noted: libconfuse never
			 * sees its sections. */
			if (list || dup_from != SIZE_MAX)
				continue;
			if (depth == 1) {
				const char *k = word_before(buf, p, kw, sizeof(kw));

				memset(list_lines, 0, sizeof(list_lines));

				/* libconfuse compares each service's title with every
				 * earlier one (10000 took it 3 s here), and so does
				 * defined_at(): stop a file with more than a
				 * configuration may hold before it gets them (a 4 MiB file
				 * holds 170000), duplicates counted. */
				if (STREQ(kw, "service") && ++services > CONFIG_SERVICES_MAX) {
					config_errors_add(ctx.errors,
							  "%s:%u: more than %d services",
							  file,
							  line,
							  CONFIG_SERVICES_MAX);
					return -EINVAL;
				}
				/* A second definition in this file: said here, and blanked
				 * (at its '}') so that libconfuse, which would stop at it,
				 * reads on and the other errors come out in the same run. */
				if (STREQ(kw, "service") && dup_from == SIZE_MAX &&
				    (first = defined_at(title)) > 0) {
					config_errors_add(ctx.errors,
							  "%s:%u: service '%s' is defined twice in "
							  "this file (first at line %u)",
							  file,
							  line,
							  title,
							  first);
					dup_from = (size_t)(k - buf);
					continue;
				}
			} else {
				/* A nested section has a keyword and no title. */
				memcpy(kw, title, sizeof(kw) - 1);
				kw[sizeof(kw) - 1] = '\0';
				title[0] = '\0';
			}
			if (ctx.n_sections >= CONFIG_SECTIONS_MAX) {
				config_errors_add(ctx.errors,
						  "%s:%u: more than %d sections",
						  file,
						  line,
						  CONFIG_SECTIONS_MAX);
				return -EINVAL;
			}
			if (ctx.n_sections == ctx.cap_sections) {
				size_t cap = MAX(ctx.cap_sections * 2, (size_t)64);
				struct section_mark *g = realloc(ctx.sections, cap * sizeof(*g));

				if (!g)
					return -ENOMEM;
				ctx.sections = g;
				ctx.cap_sections = cap;
			}
			struct section_mark *n = ctx.sections;

			n[ctx.n_sections] = (struct section_mark){.line = line, .depth = depth - 1};
			snprintf(n[ctx.n_sections].keyword, sizeof(n->keyword), "%s", kw);
			snprintf(n[ctx.n_sections].title, sizeof(n->title), "%s", title);
			ctx.n_sections++;
		} else if (c == '}') {
			if (depth == 0) {
				config_errors_add(ctx.errors,
						  "%s:%u: '}' without a matching '{'",
						  file,
						  line);
				return -EINVAL;
			}
			depth--;
			if (depth == 0 && dup_from != SIZE_MAX) {
				for (size_t k = dup_from; k <= i; k++)
					if (buf[k] != '\n')
						buf[k] = ' ';
				dup_from = SIZE_MAX;
			}
		}
	}
	if (quote) {
		config_errors_add(ctx.errors, "%s:%u: unterminated string", file, quote_line);
		return -EINVAL;
	}
	if (depth > 0) {
		config_errors_add(ctx.errors,
				  "%s:%u: '{' is never closed",
				  file,
				  open_lines[MIN(depth, ELEMENTSOF(open_lines)) - 1]);
		return -EINVAL;
	}
	return 0;
}

/* Parses one file into a fresh cfg_t. Returns 0, -EINVAL after reporting, or -ENOMEM. */
static int parse_file(const char *path, cfg_t **ret)
{
	CLEANUP(cfg_freep) cfg_t *cfg = NULL;
	CLEANUP_FREE char *buf = NULL;
	size_t len = 0;
	FILE *fp;
	int r;

	ctx.file = path;
	ctx.failed = false;
	free(ctx.sections);
	ctx.sections = NULL;
	ctx.n_sections = ctx.cap_sections = 0;
	ctx.n_lines = 0; /* the previous file's sections are converted by now */
	memset(ctx.seen, 0, sizeof(ctx.seen));
	ctx.seen_next = 0;
	ctx.any_file_failed |= ctx.file_failed;
	ctx.file_failed = true; /* until this parse succeeds */
	r = fileio_read(path, CONFIG_FILE_MAX, &buf, &len);
	if (r < 0) {
		config_errors_add(
			ctx.errors, "%s: cannot read configuration: %s", path, strerror(-r));
		return -EINVAL;
	}
	/* A UTF-8 byte order mark, as some editors write, is not part of the first
	 * word: blanked, so that columns stay where they were. */
	if (len >= 3 && memcmp(buf, UTF8_BOM, 3) == 0)
		memset(buf, ' ', 3);
	r = blank_and_scan(path, buf, len);
	if (r < 0)
		return r;
	cfg = schema_new();
	if (!cfg)
		return -ENOMEM;
	if (len == 0) {
		ctx.file_failed = false;
		*ret = TAKE_PTR(cfg);
		return 0;
	}
	fp = fmemopen(buf, len, "r");
	if (!fp)
		return -errno;
	free(cfg->filename);
	cfg->filename = strdup(path);
	r = cfg_parse_fp(cfg, fp);
	fclose(fp);
	if (r != CFG_SUCCESS || ctx.failed) {
		if (!ctx.failed)
			config_errors_add(ctx.errors, "%s: cannot parse configuration", path);
		return -EINVAL;
	}
	ctx.file_failed = false;
	*ret = TAKE_PTR(cfg);
	return 0;
}

/* ---- converting sections into structs ---- */

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static char **strv_from_list(cfg_t *sec, const char *name, size_t *ret_n)
{
	unsigned n = cfg_size(sec, name);
	char **v = calloc(n + 1, sizeof(*v));

	if (!v)
		return NULL;
	for (unsigned i = 0; i < n; i++)
		if (!(v[i] = strdup(cfg_getnstr(sec, name, i))))
			return strv_free(v);
	if (ret_n)
		*ret_n = n;
	return v;
}

/* The i-th section called @keyword at @depth below the top-level mark @parent
 * (SIZE_MAX: at the top), and how many there are. */
static const struct section_mark *find_mark(size_t parent, const char *keyword, unsigned nth,
					    unsigned *ret_count)
{
	const struct section_mark *found = NULL;
	unsigned count = 0;
	size_t i = parent == SIZE_MAX ? 0 : parent + 1;

	for (; i < ctx.n_sections; i++) {
		const struct section_mark *m = &ctx.sections[i];
		if (parent != SIZE_MAX && m->depth == 0)
			break;
		if (m->depth != (parent == SIZE_MAX ? 0u : 1u) || !STREQ(m->keyword, keyword))
			continue;
		if (count++ == nth)
			found = m;
	}
	if (ret_count)
		*ret_count = count;
	return found;
}

/* The next top-level section called @keyword from mark *@at on, or NULL; moves *@at
 * past it. Sections are converted in file order, so a walk goes on from the last
 * one found (from the start each time, it was quadratic in the services). */
static const struct section_mark *next_top_mark(size_t *at, const char *keyword)
{
	for (; *at < ctx.n_sections; (*at)++) {
		const struct section_mark *m = &ctx.sections[*at];

		if (m->depth == 0 && STREQ(m->keyword, keyword)) {
			(*at)++;
			return m;
		}
	}
	return NULL;
}

static int convert_probe(cfg_t *svc, size_t mark, enum probe_role role, struct probe_config *pc)
{
	const char *name = probe_roles[role];
	const struct section_mark *m;
	unsigned count, kinds = 0;
	cfg_t *sec;

	if (cfg_size(svc, name) == 0)
		return 0;
	m = find_mark(mark, name, 0, &count);
	pc->line = m ? m->line : 0;
	if (count > 1) {
		config_errors_add(ctx.errors,
				  "%s:%u: service '%s' has more than one %s block",
				  ctx.file,
				  find_mark(mark, name, 1, NULL)->line,
				  cfg_title(svc),
				  name);
		return -EINVAL;
	}
	sec = cfg_getsec(svc, name);
	for (enum probe_type t = PROBE_EXEC; t < PROBE_TYPE_COUNT; t++)
		if (cfg_size(sec, probe_kind_options[t]) > 0) {
			kinds++;
			pc->type = t;
		}
	if (kinds != 1) {
		config_errors_add(ctx.errors,
				  "%s:%u: %s probe of service '%s' needs exactly one of exec, tcp, "
				  "http, unix (it has %u)",
				  ctx.file,
				  pc->line,
				  name,
				  cfg_title(svc),
				  kinds);
		pc->type = PROBE_NONE;
		return -EINVAL;
	}
	pc->target = strdup(cfg_getstr(sec, probe_kind_options[pc->type]));
	if (!pc->target)
		return -ENOMEM;
	if (pc->type == PROBE_EXEC) {
		const char *why;
		int r = cmdline_split(pc->target, &pc->argv, &why);
		if (r < 0)
			return r; /* validate_command has accepted it: only -ENOMEM is left */
	}
	pc->initial_delay = (uint64_t)cfg_getint(sec, "initial-delay");
	pc->period = (uint64_t)cfg_getint(sec, "period");
	pc->timeout = (uint64_t)cfg_getint(sec, "timeout");
	pc->success_threshold = (unsigned)cfg_getint(sec, "success-threshold");
	pc->failure_threshold = (unsigned)cfg_getint(sec, "failure-threshold");
	return 0;
}

static bool was_set(cfg_t *sec, const char *name)
{
	return cfg_getopt(sec, name)->flags & CFGF_MODIFIED;
}

/* A problem found after parsing, reported at the service's line. */
static int service_error(const struct service_config *sc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int service_error(const struct service_config *sc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	config_errors_add(ctx.errors, "%s:%u: service '%s': %s", sc->file, sc->line, sc->name, msg);
	return -EINVAL;
}

/* Converts service section @svc, found in the file at @m (NULL: not found). */
static int convert_service(cfg_t *svc, const struct section_mark *m, struct service_config **ret)
{
	CLEANUP(service_config_freep) struct service_config *sc = calloc(1, sizeof(*sc));
	const char *s;
	size_t mark;
	int r, bad = 0;

	if (!sc)
		return -ENOMEM;
	mark = m ? (size_t)(m - ctx.sections) : SIZE_MAX;
	sc->name = strdup(cfg_title(svc));
	sc->file = strdup(ctx.file);
	sc->line = m ? m->line : 0;
	if (!sc->name || !sc->file)
		return -ENOMEM;
	if (!name_is_valid(sc->name))
		return service_error(sc,
				     "bad name (use letters, digits, '_', '.', '-'; at most %d)",
				     CONFIG_NAME_MAX);
	if (cfg_size(svc, "command") == 0)
		return service_error(sc, "'command' is missing");

	sc->command = strdup(cfg_getstr(svc, "command"));
	if (!sc->command)
		return -ENOMEM;
	{
		const char *why;
		r = cmdline_split(sc->command, &sc->argv, &why);
		if (r < 0)
			return r;
	}
	sc->directory = dup_or_null(cfg_getstr(svc, "directory"));
	sc->user = dup_or_null(cfg_getstr(svc, "user"));
	sc->group = dup_or_null(cfg_getstr(svc, "group"));
	sc->umask = (int)cfg_getint(svc, "umask");
	sc->environment = strv_from_list(svc, "environment", NULL);
	sc->requires = strv_from_list(svc, "requires", &sc->n_requires);
	sc->requires_line = recalled_line(svc, "requires");
	if (!sc->environment || !sc->requires)
		return -ENOMEM;
	s = cfg_getstr(svc, "env-file");
	if (s) {
		sc->env_file_optional = s[0] == '-';
		sc->env_file = strdup(s + sc->env_file_optional);
		if (!sc->env_file)
			return -ENOMEM;
	}
	sc->autostart = cfg_getbool(svc, "autostart");
	sc->type = (enum service_type)cfg_getint(svc, "type");
	sc->n_success_codes = cfg_size(svc, "success-exit-codes");
	sc->success_codes = calloc(sc->n_success_codes + 1, sizeof(int));
	if (!sc->success_codes)
		return -ENOMEM;
	for (size_t i = 0; i < sc->n_success_codes; i++)
		sc->success_codes[i] = (int)cfg_getnint(svc, "success-exit-codes", (unsigned)i);

	sc->policy = (struct lifecycle_policy){
		.restart = (enum restart_policy)cfg_getint(svc, "restart"),
		.oneshot = sc->type == SERVICE_TYPE_ONESHOT,
		.backoff =
			{
				.delay = (uint64_t)cfg_getint(svc, "restart-delay"),
				.delay_max = (uint64_t)cfg_getint(svc, "restart-delay-max"),
				.factor = cfg_getfloat(svc, "restart-factor"),
				.jitter = cfg_getfloat(svc, "restart-jitter"),
			},
		.stable_after = (uint64_t)cfg_getint(svc, "stable-after"),
		.restart_limit = (unsigned)cfg_getint(svc, "restart-limit"),
		.restart_window = (uint64_t)cfg_getint(svc, "restart-window"),
		.start_timeout = (uint64_t)cfg_getint(svc, "start-timeout"),
		.stop_timeout = (uint64_t)cfg_getint(svc, "stop-timeout"),
	};
	/* SPEC §3: a oneshot's restart defaults to never. */
	if (sc->type == SERVICE_TYPE_ONESHOT && !was_set(svc, "restart"))
		sc->policy.restart = RESTART_NEVER;
	sc->on_failed = (enum on_failed)cfg_getint(svc, "on-failed");
	sc->ready = (enum ready_mode)cfg_getint(svc, "ready");
	sc->policy.ready_on_spawn = sc->ready == READY_STARTED;
	sc->watchdog = (uint64_t)cfg_getint(svc, "watchdog");
	sc->stop_signal = (int)cfg_getint(svc, "stop-signal");
	sc->kill_mode = (enum kill_mode)cfg_getint(svc, "kill-mode");
	sc->log_max_size = (uint64_t)cfg_getint(svc, "log-max-size");
	sc->log_keep = (unsigned)cfg_getint(svc, "log-keep");
	sc->log_buffer = (uint64_t)cfg_getint(svc, "log-buffer");

	for (enum probe_role role = 0; role < PROBE_ROLE_COUNT; role++) {
		r = convert_probe(svc, mark, role, &sc->probes[role]);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			bad = r;
	}
	if (bad < 0)
		return bad;
	/* An http probe needs libcurl, loaded on first use, and a URL it can use: say so
	 * now, not at run time. */
	for (enum probe_role role = 0; role < PROBE_ROLE_COUNT; role++) {
		char why[300];

		if (sc->probes[role].type != PROBE_NONE &&
		    probe_config_check(&sc->probes[role], why, sizeof(why)) < 0) {
			config_errors_add(ctx.errors,
					  "%s:%u: %s probe of service '%s': %s",
					  ctx.file,
					  sc->probes[role].line,
					  probe_roles[role],
					  sc->name,
					  why);
			bad = -EINVAL;
		}
	}
	if (bad < 0)
		return bad;

	if (sc->policy.backoff.delay_max < sc->policy.backoff.delay)
		return service_error(sc, "restart-delay-max is shorter than restart-delay");
	if (sc->ready == READY_PROBE && sc->probes[PROBE_READINESS].type == PROBE_NONE)
		return service_error(sc, "ready = probe needs a readiness block");
	if (sc->type == SERVICE_TYPE_ONESHOT && sc->ready != READY_STARTED)
		return service_error(sc, "a oneshot is ready when it exits; drop 'ready'");
	/* As systemd refuses Restart=always for Type=oneshot: it would run again and
	 * again, and what requires it would lose it at each run. */
	if (sc->type == SERVICE_TYPE_ONESHOT && sc->policy.restart == RESTART_ALWAYS)
		return service_error(sc,
				     "a oneshot is done once it succeeds: restart = always "
				     "would run it forever (write on-failure or never)");

	*ret = TAKE_PTR(sc);
	return 0;
}

/* ---- the whole configuration ---- */

static int add_service(struct vigil_config *c, struct service_config *sc)
{
	struct service_config **n;

	if (c->n_services >= CONFIG_SERVICES_MAX)
		return -E2BIG;
	n = realloc(c->services, (c->n_services + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	n[c->n_services++] = sc;
	c->services = n;
	return 0;
}

/* The index of service @name among the first @n, or -ENOENT. */
static ssize_t find_among(const struct vigil_config *c, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (STREQ(c->services[i]->name, name))
			return (ssize_t)i;
	return -ENOENT;
}

ssize_t config_find_service(const struct vigil_config *c, const char *name)
{
	return find_among(c, c->n_services, name);
}

static int set_string(char **dst, cfg_t *cfg, const char *name, bool only_if_set)
{
	const char *v;

	if (only_if_set && !was_set(cfg, name))
		return 0;
	v = cfg_getstr(cfg, name);
	free(*dst);
	*dst = dup_or_null(v);
	return v && !*dst ? -ENOMEM : 0;
}

/* Takes the top-level options from @cfg; a drop-in overrides only what it sets. */
static int take_globals(struct vigil_config *c, cfg_t *cfg, bool dropin)
{
	static const char *const names[] = {
		"control-socket", "control-group", "log-dir", "http-listen"};
	char **fields[] = {&c->control_socket, &c->control_group, &c->log_dir, &c->http_listen};
	int r;

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		r = set_string(fields[i], cfg, names[i], dropin);
		if (r < 0)
			return r;
	}
	c->control_group_set |= was_set(cfg, "control-group");
	if (!dropin || was_set(cfg, "log-forward"))
		c->log_forward = (enum log_forward)cfg_getint(cfg, "log-forward");
	if (!dropin || was_set(cfg, "shutdown-timeout"))
		c->shutdown_timeout = (uint64_t)cfg_getint(cfg, "shutdown-timeout");
	if (dropin && was_set(cfg, "include-dir"))
		config_errors_add(ctx.errors,
				  "%s:%u: include-dir may only be set in the main file",
				  ctx.file,
				  root_line("include-dir"));
	return 0;
}

static int reject(const char *name)
{
	char **n = realloc(ctx.rejected, (ctx.n_rejected + 2) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	ctx.rejected = n;
	n[ctx.n_rejected] = strdup(name);
	if (!n[ctx.n_rejected])
		return -ENOMEM;
	n[++ctx.n_rejected] = NULL;
	return 0;
}

static bool was_rejected(const char *name)
{
	for (size_t i = 0; i < ctx.n_rejected; i++)
		if (STREQ(ctx.rejected[i], name))
			return true;
	return false;
}

/* Converts every service of the file just parsed and adds it, reporting a name
 * defined before (in this or an earlier file). */
static int take_services(struct vigil_config *c, cfg_t *cfg)
{
	unsigned n = cfg_size(cfg, "service");
	/* libconfuse refuses a title twice in one file: only earlier files' services
	 * can clash. */
	size_t before = c->n_services, at = 0;
	int r;

	for (unsigned i = 0; i < n; i++) {
		struct service_config *sc = NULL;
		ssize_t k;

		cfg_t *sec = cfg_getnsec(cfg, "service", i);

		r = convert_service(sec, next_top_mark(&at, "service"), &sc);
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			r = reject(cfg_title(sec));
			if (r < 0)
				return r;
			continue;
		}
		k = find_among(c, before, sc->name);
		if (k >= 0) {
			config_errors_add(ctx.errors,
					  "%s:%u: service '%s' is already defined at %s:%u",
					  sc->file,
					  sc->line,
					  sc->name,
					  c->services[k]->file,
					  c->services[k]->line);
			service_config_free(sc);
			continue;
		}
		r = add_service(c, sc);
		if (r == -E2BIG) {
			config_errors_add(ctx.errors,
					  "%s:%u: more than %d services",
					  sc->file,
					  sc->line,
					  CONFIG_SERVICES_MAX);
			service_config_free(sc);
			return -EINVAL;
		}
		if (r < 0) {
			service_config_free(sc);
			return r;
		}
	}
	return 0;
}

static int is_dropin(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return d->d_name[0] != '.' && len > 5 && STREQ(d->d_name + len - 5, ".conf");
}

static int load_dropins(struct vigil_config *c, const char *dir, unsigned dir_line,
			const char *main_file)
{
	struct dirent **list = NULL;
	struct stat main_st = {0};
	int n, r = 0;

	/* include-dir may be the main file's own directory ("."): the main file is read
	 * once, as the main file. */
	(void)stat(main_file, &main_st);
	n = scandir(dir, &list, is_dropin, alphasort);
	if (n < 0) {
		config_errors_add(ctx.errors,
				  "%s:%u: cannot read include-dir '%s': %s",
				  main_file,
				  dir_line,
				  dir,
				  strerror(errno));
		return 0;
	}
	if (n > CONFIG_FILES_MAX) {
		config_errors_add(
			ctx.errors, "%s: more than %d drop-in files", dir, CONFIG_FILES_MAX);
		n = CONFIG_FILES_MAX;
	}
	for (int i = 0; i < n; i++) {
		CLEANUP(cfg_freep) cfg_t *cfg = NULL;
		CLEANUP_FREE char *path = NULL;
		struct stat st;

		if (r >= 0 && asprintf(&path, "%s/%s", dir, list[i]->d_name) < 0)
			r = -ENOMEM;
		if (r >= 0 && stat(path, &st) == 0 && st.st_dev == main_st.st_dev &&
		    st.st_ino == main_st.st_ino) {
			free(list[i]);
			continue;
		}
		if (r >= 0 && parse_file(path, &cfg) == 0) {
			r = take_globals(c, cfg, true);
			if (r >= 0)
				r = take_services(c, cfg);
		}
		free(list[i]);
	}
	free(list);
	return r == -ENOMEM ? r : 0;
}

static void report_cycle(const size_t *cycle, size_t len, void *userdata)
{
	const struct vigil_config *c = userdata;
	const struct service_config *first = c->services[cycle[0]];
	char path[1024];
	size_t off = 0;

	for (size_t i = 0; i <= len && off < sizeof(path); i++)
		off += (size_t)snprintf(path + off,
					sizeof(path) - off,
					"%s%s",
					i ? " -> " : "",
					c->services[cycle[i % len]]->name);
	config_errors_add(ctx.errors,
			  "%s:%u: dependency cycle: %s",
			  first->file,
			  first->requires_line ? first->requires_line : first->line,
			  path);
}

/* Resolves `requires` and looks for cycles, reporting every problem. */
static int check_dependencies(const struct vigil_config *c)
{
	CLEANUP(depgraph_freep) struct depgraph *g = NULL;
	bool unknown = false;
	int r;

	r = depgraph_new(c->n_services, &g);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->n_services; i++) {
		const struct service_config *sc = c->services[i];
		for (size_t k = 0; k < sc->n_requires; k++) {
			ssize_t j = config_find_service(c, sc->requires[k]);
			if (j < 0 && was_rejected(sc->requires[k]))
				continue;
			if (j < 0) {
				config_errors_add(ctx.errors,
						  "%s:%u: service '%s' requires '%s', which is not "
						  "defined",
						  sc->file,
						  sc->requires_line,
						  sc->name,
						  sc->requires[k]);
				unknown = true;
				continue;
			}
			r = depgraph_add_edge(g, i, (size_t)j);
			if (r < 0)
				return r;
		}
	}
	r = depgraph_cycles(g, report_cycle, (void *)c);
	if (r < 0)
		return r;
	return unknown || r > 0 ? -EINVAL : 0;
}

static int config_new(struct vigil_config **ret)
{
	struct vigil_config *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->control_group = strdup("vigil");
	if (!c->control_group) {
		free(c);
		return -ENOMEM;
	}
	c->log_forward = LOG_FORWARD_AUTO;
	c->shutdown_timeout = 30 * SEC;
	*ret = c;
	return 0;
}

DEFINE_CLEANUP(struct vigil_config, config_free)

static char *resolve_include_dir(const char *main_file, const char *dir)
{
	const char *slash = strrchr(main_file, '/');
	char *r = NULL;

	if (dir[0] == '/' || !slash)
		return strdup(dir);
	if (asprintf(&r, "%.*s/%s", (int)(slash - main_file), main_file, dir) < 0)
		return NULL;
	return r;
}

int config_load(const char *path, char *const *main_argv, struct config_errors *errors,
		struct vigil_config **ret)
{
	CLEANUP(config_freep) struct vigil_config *c = NULL;
	CLEANUP(cfg_freep) cfg_t *cfg = NULL;
	size_t errors_before = errors->n;
	int r;

	r = config_new(&c);
	if (r < 0)
		return r;
	ctx = (struct parse_ctx){.errors = errors};
	if (path) {
		r = parse_file(path, &cfg);
		if (r == -ENOMEM)
			goto out;
		if (r == 0) {
			const char *dir = cfg_getstr(cfg, "include-dir");
			unsigned dir_line = root_line("include-dir");

			r = take_globals(c, cfg, false);
			if (r >= 0)
				r = take_services(c, cfg);
			if (r >= 0 && dir) {
				c->include_dir = resolve_include_dir(path, dir);
				r = c->include_dir ? 0 : -ENOMEM;
			}
			/* libconfuse resets its lexer, global state, only when a root cfg_t
			 * is freed: free this one before the drop-ins are parsed, so that
			 * nothing of the main file's parse (a string it left open, say)
			 * carries over into theirs (found by t/fuzz/fuzz-config). */
			cfg_free(TAKE_PTR(cfg));
			if (r >= 0 && c->include_dir)
				r = load_dropins(c, c->include_dir, dir_line, path);
			if (r < 0)
				goto out;
		}
		ctx.any_file_failed |= ctx.file_failed;
	}
	if (main_argv) {
		r = config_add_main(c, main_argv);
		if (r == -EEXIST)
			config_errors_main_taken(c, errors);
		else if (r < 0)
			goto out;
	}
	/* Dependencies can only be judged when every service is known. */
	if (!ctx.any_file_failed) {
		r = check_dependencies(c);
		if (r == -ENOMEM)
			goto out;
	}
	r = errors->n > errors_before ? -EINVAL : 0;
	if (r == 0)
		*ret = TAKE_PTR(c);
out:
	free(ctx.sections);
	free(ctx.lines);
	strv_free(ctx.rejected);
	ctx = (struct parse_ctx){0};
	return r;
}

void config_errors_main_taken(const struct vigil_config *c, struct config_errors *errors)
{
	ssize_t i = config_find_service(c, "main");

	if (i < 0)
		return;
	config_errors_add(errors,
			  "%s:%u: service 'main' is defined here, but with -- COMMAND that name is "
			  "the command's",
			  c->services[i]->file,
			  c->services[i]->line);
}

/* Writes the schema's defaults by hand, as config_new() does: `--` mode starts
 * without libconfuse. test-config checks both against the schema. */
int config_add_main(struct vigil_config *c, char *const *argv)
{
	CLEANUP(service_config_freep) struct service_config *sc = calloc(1, sizeof(*sc));
	size_t n = 0, len = 0;
	int r;

	if (!sc)
		return -ENOMEM;
	if (config_find_service(c, "main") >= 0)
		return -EEXIST;
	while (argv[n])
		len += strlen(argv[n++]) + 1;
	sc->name = strdup("main");
	sc->file = strdup("(command line)");
	sc->command = calloc(1, len + 1);
	sc->argv = calloc(n + 1, sizeof(char *));
	sc->environment = calloc(1, sizeof(char *));
	sc->requires = calloc(1, sizeof(char *));
	sc->success_codes = calloc(1, sizeof(int));
	if (!sc->name || !sc->file || !sc->command || !sc->argv || !sc->environment ||
	    !sc->requires || !sc->success_codes)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		sc->argv[i] = strdup(argv[i]);
		if (!sc->argv[i])
			return -ENOMEM;
		strcat(sc->command, argv[i]);
		if (i + 1 < n)
			strcat(sc->command, " ");
	}
	sc->n_success_codes = 1;
	sc->umask = -1;
	sc->autostart = true;
	sc->main = true;
	sc->ready = READY_STARTED;
	sc->stop_signal = SIGTERM;
	sc->kill_mode = KILL_MODE_GROUP;
	sc->log_max_size = 10 << 20;
	sc->log_keep = 5;
	sc->log_buffer = 256 << 10;
	sc->policy = (struct lifecycle_policy){
		.restart = RESTART_NEVER,
		.ready_on_spawn = true,
		.backoff = {.delay = 100 * MSEC,
			    .delay_max = 30 * SEC,
			    .factor = 2.0,
			    .jitter = 0.1},
		.stable_after = 30 * SEC,
		.restart_window = 60 * SEC,
		.start_timeout = 60 * SEC,
		.stop_timeout = 10 * SEC,
	};
	r = add_service(c, sc);
	if (r < 0)
		return r;
	TAKE_PTR(sc);
	return 0;
}

struct service_config *service_config_free(struct service_config *sc)
{
	if (!sc)
		return NULL;
	free(sc->name);
	free(sc->file);
	free(sc->command);
	strv_free(sc->argv);
	free(sc->directory);
	free(sc->user);
	free(sc->group);
	strv_free(sc->environment);
	free(sc->env_file);
	strv_free(sc->requires);
	free(sc->success_codes);
	for (size_t i = 0; i < PROBE_ROLE_COUNT; i++) {
		free(sc->probes[i].target);
		strv_free(sc->probes[i].argv);
	}
	free(sc);
	return NULL;
}

struct vigil_config *config_free(struct vigil_config *c)
{
	if (!c)
		return NULL;
	free(c->control_socket);
	free(c->control_group);
	free(c->include_dir);
	free(c->log_dir);
	free(c->http_listen);
	for (size_t i = 0; i < c->n_services; i++)
		service_config_free(c->services[i]);
	free(c->services);
	free(c);
	return NULL;
}

static bool probe_config_equal(const struct probe_config *a, const struct probe_config *b)
{
	return a->type == b->type && str_eq(a->target, b->target) &&
	       a->initial_delay == b->initial_delay && a->period == b->period &&
	       a->timeout == b->timeout && a->success_threshold == b->success_threshold &&
	       a->failure_threshold == b->failure_threshold;
}

bool service_config_equal(const struct service_config *a, const struct service_config *b)
{
	const struct lifecycle_policy *p = &a->policy, *q = &b->policy;

	if (!str_eq(a->name, b->name) || !strv_eq(a->argv, b->argv) ||
	    !str_eq(a->directory, b->directory) || !str_eq(a->user, b->user) ||
	    !str_eq(a->group, b->group) || a->umask != b->umask ||
	    !strv_eq(a->environment, b->environment) || !str_eq(a->env_file, b->env_file) ||
	    a->env_file_optional != b->env_file_optional || a->autostart != b->autostart ||
	    a->main != b->main || a->type != b->type || !strv_eq(a->requires, b->requires) ||
	    a->n_success_codes != b->n_success_codes ||
	    memcmp(a->success_codes, b->success_codes, a->n_success_codes * sizeof(int)) != 0)
		return false;
	if (p->restart != q->restart || p->oneshot != q->oneshot ||
	    p->ready_on_spawn != q->ready_on_spawn || p->backoff.delay != q->backoff.delay ||
	    p->backoff.delay_max != q->backoff.delay_max ||
	    p->backoff.factor != q->backoff.factor || p->backoff.jitter != q->backoff.jitter ||
	    p->stable_after != q->stable_after || p->restart_limit != q->restart_limit ||
	    p->restart_window != q->restart_window || p->start_timeout != q->start_timeout ||
	    p->stop_timeout != q->stop_timeout)
		return false;
	if (a->on_failed != b->on_failed || a->ready != b->ready || a->watchdog != b->watchdog ||
	    a->stop_signal != b->stop_signal || a->kill_mode != b->kill_mode ||
	    a->log_max_size != b->log_max_size || a->log_buffer != b->log_buffer ||
	    a->log_keep != b->log_keep)
		return false;
	for (size_t i = 0; i < PROBE_ROLE_COUNT; i++)
		if (!probe_config_equal(&a->probes[i], &b->probes[i]))
			return false;
	return true;
}

/* test-config.c: config.c: every option, the defaults, and each error kind with its
 * exact FILE:LINE. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "config.h"
#include "macro.h"

static char dir[64];
static struct config_errors errors;
static struct vigil_config *cfg;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/vigil-config.XXXXXX");
	cr_assert(mkdtemp(dir));
	errors = (struct config_errors){0};
	cfg = NULL;
}

static void teardown(void)
{
	char cmd[128];

	config_errors_clear(&errors);
	cfg = config_free(cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(config, .init = setup, .fini = teardown);

static const char *path(const char *name)
{
	static char p[4][128];
	static unsigned n;
	char *r = p[n++ % 4];

	snprintf(r, 128, "%s/%s", dir, name);
	return r;
}

static void write_file(const char *name, const char *text)
{
	FILE *f = fopen(path(name), "w");

	cr_assert(f);
	fputs(text, f);
	fclose(f);
}

static int load(const char *text)
{
	write_file("vigil.conf", text);
	return config_load(path("vigil.conf"), NULL, &errors, &cfg);
}

/* Asserts that an error "DIR/FILE:LINE: MESSAGE..." was reported. */
static void expect_error(const char *file, unsigned line, const char *message)
{
	char want[512];

	snprintf(want, sizeof(want), "%s:%u: %s", path(file), line, message);
	for (size_t i = 0; i < errors.n; i++)
		if (strncmp(errors.lines[i], want, strlen(want)) == 0)
			return;
	cr_assert_fail("no error '%s'; got %zu: %s",
		       want,
		       errors.n,
		       errors.n ? errors.lines[0] : "(none)");
}

/* The same, and that it was the only error. */
static void expect_only_error(const char *file, unsigned line, const char *message)
{
	expect_error(file, line, message);
	cr_assert_eq(errors.n, 1, "more errors than one: %s", errors.lines[errors.n - 1]);
}

/* Asserts that @text loads without an error (the first one says why not). */
static void expect_loads(const char *text)
{
	cr_assert_eq(load(text), 0, "%s", errors.n ? errors.lines[0] : "");
}

static const struct service_config *service(const char *name)
{
	ssize_t i = config_find_service(cfg, name);

	cr_assert_geq(i, 0, "no service %s", name);
	return cfg->services[i];
}

Test(config, a_minimal_service_gets_the_documented_defaults)
{
	const struct service_config *s;

	cr_assert_eq(load("service web {\n  command = \"/bin/web --port 80\"\n}\n"), 0);
	cr_assert_eq(cfg->n_services, 1);
	s = service("web");
	cr_assert_str_eq(s->argv[0], "/bin/web");
	cr_assert_str_eq(s->argv[2], "80");
	cr_assert_eq(s->line, 1);
	cr_assert(s->autostart);
	cr_assert_eq(s->type, SERVICE_TYPE_SIMPLE);
	cr_assert_eq(s->policy.restart, RESTART_ALWAYS);
	cr_assert_eq(s->n_success_codes, 1);
	cr_assert_eq(s->success_codes[0], 0);
	cr_assert_eq(s->policy.backoff.delay, 100 * MSEC);
	cr_assert_eq(s->policy.backoff.delay_max, 30 * SEC);
	cr_assert_float_eq(s->policy.backoff.factor, 2.0, 1e-9);
	cr_assert_float_eq(s->policy.backoff.jitter, 0.1, 1e-9);
	cr_assert_eq(s->policy.stable_after, 30 * SEC);
	cr_assert_eq(s->policy.restart_limit, 0);
	cr_assert_eq(s->policy.restart_window, 60 * SEC);
	cr_assert_eq(s->on_failed, ON_FAILED_IGNORE);
	cr_assert_eq(s->ready, READY_STARTED);
	cr_assert(s->policy.ready_on_spawn);
	cr_assert_eq(s->policy.start_timeout, 60 * SEC);
	cr_assert_eq(s->watchdog, 0);
	cr_assert_eq(s->stop_signal, SIGTERM);
	cr_assert_eq(s->policy.stop_timeout, 10 * SEC);
	cr_assert_eq(s->kill_mode, KILL_MODE_GROUP);
	cr_assert_eq(s->log_max_size, 10 << 20);
	cr_assert_eq(s->log_keep, 5);
	cr_assert_eq(s->log_buffer, 256 << 10);
	cr_assert_eq(s->umask, -1);
	for (int r = 0; r < PROBE_ROLE_COUNT; r++)
		cr_assert_eq(s->probes[r].type, PROBE_NONE);
	cr_assert_eq(cfg->shutdown_timeout, 30 * SEC);
	cr_assert_eq(cfg->log_forward, LOG_FORWARD_AUTO);
	cr_assert_str_eq(cfg->control_group, "vigil");
	cr_assert_null(cfg->control_socket);
}

Test(config, every_option_of_the_spec_example_is_read)
{
	const struct service_config *s;

	expect_loads("control-socket = \"/run/x.sock\"\n"
		     "control-group = \"ops\"\n"
		     "log-dir = \"/var/log/v\"\n"
		     "log-forward = no\n"
		     "http-listen = \"127.0.0.1:9100\"\n"
		     "shutdown-timeout = 2m\n"
		     "service db { command = \"db\" }\n"
		     "service web {\n"
		     "  command      = \"/usr/bin/python3 -m http.server 8080\"\n"
		     "  directory    = \"/srv/www\"\n"
		     "  user         = \"www-data\"\n"
		     "  group        = \"www-data\"\n"
		     "  umask        = \"022\"\n"
		     "  environment  = {\"PYTHONUNBUFFERED=1\"}\n"
		     "  env-file     = \"-/etc/default/web\"\n"
		     "  autostart    = false\n"
		     "  type         = simple\n"
		     "  requires     = {\"db\"}\n"
		     "  restart            = on-failure\n"
		     "  success-exit-codes = {0, 3}\n"
		     "  restart-delay      = 250ms\n"
		     "  restart-delay-max  = 1m\n"
		     "  restart-factor     = 1.5\n"
		     "  restart-jitter     = 20%\n"
		     "  stable-after       = 1h\n"
		     "  restart-limit      = 4\n"
		     "  restart-window     = 90s\n"
		     "  on-failed          = shutdown\n"
		     "  ready        = probe\n"
		     "  start-timeout = 5s\n"
		     "  watchdog     = 3s\n"
		     "  stop-signal  = INT\n"
		     "  stop-timeout = 1500ms\n"
		     "  kill-mode    = process\n"
		     "  log-max-size = 1M\n"
		     "  log-keep     = 2\n"
		     "  log-buffer   = 64K\n"
		     "  liveness  { http = \"http://127.0.0.1:8080/\" period = 5s timeout = 1s "
		     "failure-threshold = 3 }\n"
		     "  readiness { tcp = \"127.0.0.1:8080\" period = 1s }\n"
		     "  startup   { exec = \"/usr/local/bin/warm-check --x\" period = 1s "
		     "failure-threshold = 30 initial-delay = 2s success-threshold = 2 }\n"
		     "}\n");
	cr_assert_str_eq(cfg->control_socket, "/run/x.sock");
	cr_assert_str_eq(cfg->control_group, "ops");
	cr_assert_str_eq(cfg->log_dir, "/var/log/v");
	cr_assert_eq(cfg->log_forward, LOG_FORWARD_NO);
	cr_assert_str_eq(cfg->http_listen, "127.0.0.1:9100");
	cr_assert_eq(cfg->shutdown_timeout, 120 * SEC);
	s = service("web");
	cr_assert_str_eq(s->directory, "/srv/www");
	cr_assert_str_eq(s->user, "www-data");
	cr_assert_str_eq(s->group, "www-data");
	cr_assert_eq(s->umask, 022);
	cr_assert_str_eq(s->environment[0], "PYTHONUNBUFFERED=1");
	cr_assert_str_eq(s->env_file, "/etc/default/web");
	cr_assert(s->env_file_optional);
	cr_assert_not(s->autostart);
	cr_assert_eq(s->n_requires, 1);
	cr_assert_str_eq(s->requires[0], "db");
	cr_assert_eq(s->requires_line, 18);
	cr_assert_eq(s->policy.restart, RESTART_ON_FAILURE);
	cr_assert_eq(s->n_success_codes, 2);
	cr_assert_eq(s->success_codes[1], 3);
	cr_assert_eq(s->policy.backoff.delay, 250 * MSEC);
	cr_assert_eq(s->policy.backoff.delay_max, 60 * SEC);
	cr_assert_float_eq(s->policy.backoff.factor, 1.5, 1e-9);
	cr_assert_float_eq(s->policy.backoff.jitter, 0.2, 1e-9);
	cr_assert_eq(s->policy.stable_after, 3600 * SEC);
	cr_assert_eq(s->policy.restart_limit, 4);
	cr_assert_eq(s->policy.restart_window, 90 * SEC);
	cr_assert_eq(s->on_failed, ON_FAILED_SHUTDOWN);
	cr_assert_eq(s->ready, READY_PROBE);
	cr_assert_not(s->policy.ready_on_spawn);
	cr_assert_eq(s->policy.start_timeout, 5 * SEC);
	cr_assert_eq(s->watchdog, 3 * SEC);
	cr_assert_eq(s->stop_signal, SIGINT);
	cr_assert_eq(s->policy.stop_timeout, 1500 * MSEC);
	cr_assert_eq(s->kill_mode, KILL_MODE_PROCESS);
	cr_assert_eq(s->log_max_size, 1 << 20);
	cr_assert_eq(s->log_keep, 2);
	cr_assert_eq(s->log_buffer, 64 << 10);
	cr_assert_eq(s->probes[PROBE_LIVENESS].type, PROBE_HTTP);
	cr_assert_str_eq(s->probes[PROBE_LIVENESS].target, "http://127.0.0.1:8080/");
	cr_assert_eq(s->probes[PROBE_LIVENESS].period, 5 * SEC);
	cr_assert_eq(s->probes[PROBE_LIVENESS].failure_threshold, 3);
	cr_assert_eq(s->probes[PROBE_LIVENESS].line, 38);
	cr_assert_eq(s->probes[PROBE_READINESS].type, PROBE_TCP);
	cr_assert_eq(s->probes[PROBE_READINESS].period, 1 * SEC);
	cr_assert_eq(s->probes[PROBE_READINESS].timeout, 1 * SEC);
	cr_assert_eq(s->probes[PROBE_READINESS].success_threshold, 1);
	cr_assert_eq(s->probes[PROBE_STARTUP].type, PROBE_EXEC);
	cr_assert_str_eq(s->probes[PROBE_STARTUP].argv[1], "--x");
	cr_assert_eq(s->probes[PROBE_STARTUP].initial_delay, 2 * SEC);
	cr_assert_eq(s->probes[PROBE_STARTUP].success_threshold, 2);
	cr_assert_eq(s->probes[PROBE_STARTUP].failure_threshold, 30);
}

Test(config, a_oneshot_restarts_never_unless_told_otherwise)
{
	cr_assert_eq(load("service a { command = \"a\" type = oneshot }\n"
			  "service b { command = \"b\" type = oneshot restart = on-failure }\n"),
		     0);
	cr_assert_eq(service("a")->policy.restart, RESTART_NEVER);
	cr_assert(service("a")->policy.oneshot);
	cr_assert_eq(service("b")->policy.restart, RESTART_ON_FAILURE);
}

Test(config, an_unknown_option_names_its_line_after_every_kind_of_comment)
{
	cr_assert_eq(load("# a comment\n"
			  "// another\n"
			  "/* a block\n"
			  "   over two lines */\n"
			  "service web { # trailing\n"
			  "  command = \"a # not a comment\" // trailing\n"
			  "  restrat = always\n"
			  "}\n"),
		     -EINVAL);
	expect_only_error("vigil.conf", 7, "no such option 'restrat'");
}

Test(config, a_hash_inside_a_string_is_kept)
{
	cr_assert_eq(load("service web {\n  command = \"echo '#1' //x\"\n}\n"), 0);
	cr_assert_str_eq(service("web")->argv[1], "#1");
	cr_assert_str_eq(service("web")->argv[2], "//x");
}

/* libconfuse reads "${NAME}" as one token up to its '}', quotes and all; the comment
 * pass took its quote for one and let a string run to the end of the file, which
 * libconfuse accepts: the service after it vanished. Found by t/fuzz/fuzz-config. */
Test(config, a_quote_inside_an_environment_token_opens_no_string)
{
	cr_assert_eq(load("log-dir = ${X\"}\"}\nservice web { command = \"w\" }\n"), -EINVAL);
	expect_only_error("vigil.conf", 2, "unterminated string");
}

Test(config, a_hash_inside_an_environment_token_starts_no_comment)
{
	expect_loads("service web {\n  command = \"echo ${NO#SUCH} x\"\n}\n");
	cr_assert_str_eq(service("web")->command, "echo  x");
}

/* The string the text above leaves open spilled into the next file parsed while the
 * main file's cfg_t lived: the drop-in failed with a bogus "no sub-section
 * title/index for 'service x { command '". Found by t/fuzz/fuzz-config
 * (corpus/config/regress-string-open-into-a-dropin). */
Test(config, what_the_main_file_leaves_open_does_not_reach_a_dropin)
{
	mkdir(path("d"), 0755);
	write_file("d/10-a.conf", "service x { command = \"a\" }\n");
	cr_assert_eq(load("include-dir = \"d\"\nlog-dir = ${X\"}\"}\n"), -EINVAL);
	expect_only_error("vigil.conf", 2, "unterminated string");
}

/* libconfuse compares each title with every earlier one: 40000 services took it a
 * minute, and the cap of 10000 came after. */
Test(config, more_services_than_a_configuration_holds_stop_before_libconfuse, .timeout = 10)
{
	size_t size = 4 * CONFIG_SERVICES_MAX * 40 + 1, len = 0;
	char *text = malloc(size);

	cr_assert(text);
	for (int i = 0; i < 4 * CONFIG_SERVICES_MAX; i++)
		len += (size_t)snprintf(text + len, size - len, "service s%d { command = x }\n", i);
	cr_assert_eq(load(text), -EINVAL);
	free(text);
	expect_only_error("vigil.conf", CONFIG_SERVICES_MAX + 1, "more than 10000 services");
}

/* Each "${" looked for its '}' to the end of the file: the largest file read (4 MiB)
 * took minutes. */
Test(config, a_file_of_unclosed_environment_tokens_is_read_at_once, .timeout = 10)
{
	size_t size = (4 << 20) - 1;
	char *text = malloc(size + 1);

	cr_assert(text);
	memcpy(text, "log-dir = \"", 11);
	for (size_t i = 11; i + 1 < size; i += 2)
		memcpy(text + i, "${", 2);
	text[size - 1] = '\n';
	text[size] = '\0';
	cr_assert_eq(load(text), -EINVAL);
	free(text);
	expect_only_error("vigil.conf", 1, "unterminated string");
}

Test(config, a_bad_word_value_lists_the_choices)
{
	cr_assert_eq(load("service web {\n\n  command = \"a\"\n  restart = sometimes\n}\n"),
		     -EINVAL);
	expect_only_error(
		"vigil.conf",
		4,
		"bad value 'sometimes' for option 'restart' (one of: always, on-failure, never)");
}

Test(config, a_bad_duration_names_its_line)
{
	cr_assert_eq(load("service web {\n  command = \"a\"\n  stop-timeout = 10lightyears\n}\n"),
		     -EINVAL);
	expect_only_error("vigil.conf", 3, "bad duration '10lightyears' for option 'stop-timeout'");
}

Test(config, a_bad_size_names_its_line)
{
	cr_assert_eq(load("service web {\n  command = \"a\"\n  log-max-size = 10Q\n}\n"), -EINVAL);
	expect_only_error("vigil.conf", 3, "bad size '10Q' for option 'log-max-size'");
}

Test(config, a_bad_http_listen_names_its_line)
{
	cr_assert_eq(load("# metrics\nhttp-listen = \"127.0.0.1:99999\"\n"), -EINVAL);
	expect_error("vigil.conf", 2, "bad value '127.0.0.1:99999' for option 'http-listen'");
	config_free(cfg);
	cfg = NULL;
	config_errors_clear(&errors);
	cr_assert_eq(load("http-listen = \"nohost\"\n"), -EINVAL);
	expect_error("vigil.conf", 1, "bad value 'nohost' for option 'http-listen'");
	config_free(cfg);
	cfg = NULL;
	config_errors_clear(&errors);
	cr_assert_eq(load("http-listen = \"[::1]:9100\"\n"), 0);
}

Test(config, a_bad_signal_umask_percentage_and_exit_code_are_errors)
{
	cr_assert_eq(load("service a {\n  command = \"a\"\n  stop-signal = NOPE\n}\n"), -EINVAL);
	expect_error("vigil.conf", 3, "unknown signal 'NOPE'");
	config_errors_clear(&errors);
	cr_assert_eq(load("service a {\n  command = \"a\"\n  stop-signal = SIGSTOP\n}\n"), -EINVAL);
	expect_error("vigil.conf", 3, "signal STOP for option 'stop-signal' pauses a process");
	config_errors_clear(&errors);
	cr_assert_eq(load("service a {\n  command = \"a\"\n  umask = \"999\"\n}\n"), -EINVAL);
	expect_error("vigil.conf", 3, "bad umask '999'");
	config_errors_clear(&errors);
	cr_assert_eq(load("service a {\n  command = \"a\"\n  restart-jitter = 150%\n}\n"), -EINVAL);
	expect_error("vigil.conf", 3, "bad percentage '150%'");
	config_errors_clear(&errors);
	cr_assert_eq(load("service a {\n  command = \"a\"\n  success-exit-codes = {0, 300}\n}\n"),
		     -EINVAL);
	expect_error("vigil.conf", 3, "exit code 300 in 'success-exit-codes' is out of range");
}

Test(config, an_empty_user_group_directory_or_env_file_is_an_error_at_its_line)
{
	static const char *const options[] = {"user", "group", "directory", "env-file"};
	char text[256];

	for (size_t i = 0; i < ELEMENTSOF(options); i++) {
		snprintf(text,
			 sizeof(text),
			 "service a {\n  command = \"a\"\n  %s = \"\"\n}\n",
			 options[i]);
		cr_assert_eq(load(text), -EINVAL, "%s = \"\" was accepted", options[i]);
		snprintf(text, sizeof(text), "option '%s' must not be empty", options[i]);
		expect_only_error("vigil.conf", 3, text);
		config_errors_clear(&errors);
	}
	/* An optional env-file without a path is as empty. */
	cr_assert_eq(load("service a {\n  command = \"a\"\n\n  env-file = \"-\"\n}\n"), -EINVAL);
	expect_only_error("vigil.conf", 4, "option 'env-file' must not be empty");
}

Test(config, a_restart_factor_that_is_not_a_number_is_out_of_range)
{
	static const char *const values[] = {"nan", "-nan", "NAN", "inf", "0.5", "-2"};
	char text[256];

	for (size_t i = 0; i < ELEMENTSOF(values); i++) {
		snprintf(text,
			 sizeof(text),
			 "service a {\n  command = \"a\"\n  restart-factor = %s\n}\n",
			 values[i]);
		cr_assert_eq(load(text), -EINVAL, "restart-factor = %s was accepted", values[i]);
		expect_only_error("vigil.conf", 3, "value ");
		cr_assert(strstr(errors.lines[0],
				 "for option 'restart-factor' is out of range (1..1000)"),
			  "%s",
			  errors.lines[0]);
		config_errors_clear(&errors);
	}
	/* The jitter is read by vigil's own parser, which takes digits only. */
	cr_assert_eq(load("service a {\n  command = \"a\"\n  restart-jitter = nan\n}\n"), -EINVAL);
	expect_only_error("vigil.conf", 3, "bad percentage 'nan' for option 'restart-jitter'");
}

Test(config, a_command_with_an_unterminated_quote_is_an_error)
{
	cr_assert_eq(load("service a {\n  command = \"sh -c 'oops\"\n}\n"), -EINVAL);
	expect_only_error(
		"vigil.conf", 2, "bad command for option 'command': unterminated single quote");
}

Test(config, a_service_without_command_is_an_error_at_its_line)
{
	cr_assert_eq(load("\n\nservice idle {\n  autostart = false\n}\n"), -EINVAL);
	expect_only_error("vigil.conf", 3, "service 'idle': 'command' is missing");
}

Test(config, a_section_that_is_never_closed_is_an_error)
{
	cr_assert_eq(load("service a {\n  command = \"a\"\n"), -EINVAL);
	expect_only_error("vigil.conf", 1, "'{' is never closed");
}

Test(config, a_comment_that_is_never_closed_is_an_error_at_its_line)
{
	cr_assert_eq(load("service a {\n  command = \"x\"\n}\n/* off for now\nservice b {\n"
			  "  command = \"y\"\n}\n"),
		     -EINVAL);
	expect_only_error("vigil.conf", 4, "comment '/*' is never closed with '*/'");
}

Test(config, a_service_defined_twice_in_one_file_is_an_error)
{
	cr_assert_eq(load("service a { command = \"a\" }\n\nservice a { command = \"b\" }\n"),
		     -EINVAL);
	expect_only_error(
		"vigil.conf", 3, "service 'a' is defined twice in this file (first at line 1)");
}

Test(config, a_duplicate_in_one_file_does_not_hide_the_other_semantic_errors)
{
	cr_assert_eq(load("service a {\n  command = \"x\"\n  requires = {\"nope\"}\n}\n"
			  "service b {\n  command = \"x\"\n  requires = {\"c\"}\n}\n"
			  "service c {\n  command = \"x\"\n  requires = {\"b\"}\n}\n"
			  "service a {\n  command = \"y\"\n"
			  "  liveness { exec = \"/bin/true\" }\n}\n"
			  "service d {\n  command = \"x\"\n  requires = {\"ghost\"}\n}\n"),
		     -EINVAL);
	expect_error("vigil.conf", 13, "service 'a' is defined twice in this file");
	expect_error("vigil.conf", 3, "service 'a' requires 'nope', which is not defined");
	expect_error("vigil.conf", 7, "dependency cycle");
	/* Lines after the blanked duplicate still count right. */
	expect_error("vigil.conf", 19, "service 'd' requires 'ghost', which is not defined");
}

Test(config, a_service_defined_in_two_files_names_both)
{
	char text[256];

	mkdir(path("d"), 0755);
	write_file("d/10-a.conf", "\n\nservice web { command = \"b\" }\n");
	snprintf(text, sizeof(text), "include-dir = \"d\"\nservice web { command = \"a\" }\n");
	cr_assert_eq(load(text), -EINVAL);
	{
		char want[256];
		snprintf(want,
			 sizeof(want),
			 "service 'web' is already defined at %s:2",
			 path("vigil.conf"));
		expect_only_error("d/10-a.conf", 3, want);
	}
}

Test(config, dropins_are_read_in_lexical_order_and_may_override_globals)
{
	mkdir(path("d"), 0755);
	write_file("d/20-b.conf", "shutdown-timeout = 7s\nservice b { command = \"b\" }\n");
	write_file("d/10-a.conf", "shutdown-timeout = 5s\nservice a { command = \"a\" }\n");
	write_file("d/.hidden.conf", "service hidden { command = \"h\" }\n");
	write_file("d/notes.txt", "this is not configuration\n");
	expect_loads("include-dir = \"d\"\nservice main-file { command = \"m\" }\n");
	cr_assert_eq(cfg->n_services, 3);
	cr_assert_str_eq(cfg->services[0]->name, "main-file");
	cr_assert_str_eq(cfg->services[1]->name, "a");
	cr_assert_str_eq(cfg->services[2]->name, "b");
	cr_assert_eq(cfg->shutdown_timeout, 7 * SEC);
	cr_assert_str_eq(cfg->include_dir, path("d"));
}

Test(config, include_dir_in_a_dropin_is_an_error)
{
	mkdir(path("d"), 0755);
	write_file("d/a.conf", "\ninclude-dir = \"/etc\"\n");
	cr_assert_eq(load("include-dir = \"d\"\n"), -EINVAL);
	expect_only_error("d/a.conf", 2, "include-dir may only be set in the main file");
}

/* include-dir = "." reads the main file's directory: the main file itself is not a
 * drop-in (it was read twice, every service a duplicate of itself). */
Test(config, an_include_dir_holding_the_main_file_reads_it_once)
{
	write_file("other.conf", "service b { command = \"b\" }\n");
	expect_loads("include-dir = \".\"\nservice a { command = \"a\" }\n");
	cr_assert_eq(cfg->n_services, 2);
	cr_assert_str_eq(cfg->services[1]->name, "b");
}

Test(config, an_empty_include_dir_is_an_error_at_its_line)
{
	cr_assert_eq(load("\ninclude-dir = \"\"\n"), -EINVAL);
	expect_only_error("vigil.conf", 2, "option 'include-dir' must not be empty");
}

Test(config, a_missing_include_dir_is_an_error_at_its_line)
{
	cr_assert_eq(load("\ninclude-dir = \"nowhere\"\n"), -EINVAL);
	expect_only_error("vigil.conf", 2, "cannot read include-dir");
}

Test(config, an_unknown_requirement_names_the_requires_line)
{
	cr_assert_eq(load("service a {\n  command = \"a\"\n\n  requires = {\"ghost\"}\n}\n"),
		     -EINVAL);
	expect_only_error("vigil.conf", 4, "service 'a' requires 'ghost', which is not defined");
}

Test(config, a_dependency_cycle_is_reported_with_its_path)
{
	cr_assert_eq(load("service a {\n  command = \"a\"\n  requires = {\"b\"}\n}\n"
			  "service b {\n  command = \"b\"\n  requires = {\"c\"}\n}\n"
			  "service c {\n  command = \"c\"\n  requires = {\"a\"}\n}\n"
			  "service d {\n  command = \"d\"\n  requires = {\"d\"}\n}\n"),
		     -EINVAL);
	expect_error("vigil.conf", 3, "dependency cycle: a -> b -> c -> a");
	expect_error("vigil.conf", 15, "dependency cycle: d -> d");
	cr_assert_eq(errors.n, 2);
}

Test(config, three_semantic_errors_are_all_reported_in_one_run)
{
	cr_assert_eq(load("service a {\n  command = \"a\"\n  requires = {\"x\"}\n}\n"
			  "service b {\n  command = \"b\"\n  requires = {\"y\"}\n}\n"
			  "service c {\n  command = \"c\"\n  ready = probe\n}\n"),
		     -EINVAL);
	expect_error("vigil.conf", 3, "service 'a' requires 'x'");
	expect_error("vigil.conf", 7, "service 'b' requires 'y'");
	expect_error("vigil.conf", 9, "service 'c': ready = probe needs a readiness block");
	cr_assert_eq(errors.n, 3);
}

Test(config, a_requirement_on_a_rejected_service_is_not_also_unknown)
{
	cr_assert_eq(load("service a {\n  command = \"a\"\n  requires = {\"b\"}\n}\n"
			  "service b {\n  ready = probe\n  command = \"b\"\n}\n"),
		     -EINVAL);
	expect_only_error("vigil.conf", 5, "service 'b': ready = probe needs a readiness block");
}

Test(config, a_oneshot_that_would_restart_always_is_an_error)
{
	cr_assert_lt(load("service job {\n  command = \"/bin/job\"\n  type = oneshot\n"
			  "  restart = always\n}\n"),
		     0);
	expect_only_error("vigil.conf",
			  1,
			  "service 'job': a oneshot is done once it succeeds: restart = always "
			  "would run it forever (write on-failure or never)");
}

Test(config, a_unit_written_apart_from_its_number_is_explained)
{
	cr_assert_lt(load("service a {\n  command = \"/bin/a\"\n  restart-delay = 100 ms\n}\n"), 0);
	expect_only_error("vigil.conf",
			  3,
			  "no such option 'ms' (a unit goes right after its number: 100ms, not "
			  "100 ms)");
}

Test(config, a_list_set_twice_with_equals_is_an_error_and_plus_equals_adds)
{
	cr_assert_lt(
		load("service a {\n  command = \"a\"\n}\n"
		     "service b {\n  command = \"b\"\n  requires = {\"a\"}\n"
		     "  requires += {\"c\"}\n  environment = {\"X=1\"}\n  requires = \"a\"\n}\n"
		     "service c {\n  command = \"c\"\n  requires = {\"a\"}\n}\n"),
		0);
	expect_only_error("vigil.conf",
			  9,
			  "option 'requires' is given twice (first at line 6; to add to a list, "
			  "write +=)");
	config_errors_clear(&errors);
	expect_loads("service a {\n  command = \"a\"\n}\n"
		     "service b {\n  command = \"b\"\n  requires={\"a\"}\n"
		     "  environment = {\"X=1\"}\n  environment+={\"Y=2\"}\n}\n");
	cr_assert_eq(strv_length(service("b")->environment), 2);
	cr_assert_eq(service("b")->n_requires, 1);
}

Test(config, a_probe_needs_exactly_one_kind)
{
	cr_assert_eq(
		load("service a {\n  command = \"a\"\n  liveness {\n    period = 1s\n  }\n}\n"),
		-EINVAL);
	expect_error("vigil.conf",
		     3,
		     "liveness probe of service 'a' needs exactly one of exec, tcp, http, unix (it "
		     "has 0)");
	config_errors_clear(&errors);
	cr_assert_eq(load("service a {\n  command = \"a\"\n\n  readiness { tcp = \"h:1\" http = "
			  "\"http://x/\" }\n}\n"),
		     -EINVAL);
	expect_error("vigil.conf", 4, "readiness probe of service 'a' needs exactly one");
}

Test(config, a_probe_block_given_twice_is_an_error)
{
	cr_assert_eq(load("service a {\n  command = \"a\"\n  liveness { tcp = \"h:1\" }\n"
			  "  liveness { period = 1s }\n}\n"),
		     -EINVAL);
	expect_only_error("vigil.conf", 4, "service 'a' has more than one liveness block");
	/* The same option in both: that is what is said first. */
	config_errors_clear(&errors);
	cr_assert_eq(load("service a {\n  command = \"a\"\n  liveness { tcp = \"h:1\" }\n"
			  "  liveness { tcp = \"h:2\" }\n}\n"),
		     -EINVAL);
	expect_only_error("vigil.conf",
			  4,
			  "more than one liveness block in this service (the first at line 3)");
}

/* libconfuse keeps the last of two values without a word; a list may grow by +=. */
Test(config, an_option_given_twice_in_one_section_is_an_error_at_its_second_line)
{
	cr_assert_eq(load("service a {\n  command = \"a\"\n  restart-delay = 1s\n"
			  "  stop-timeout = 5s\n  restart-delay = 2s\n}\n"),
		     -EINVAL);
	expect_only_error(
		"vigil.conf", 5, "option 'restart-delay' is given twice (first at line 3)");
	config_errors_clear(&errors);
	cr_assert_eq(
		load("log-dir = \"/tmp\"\nservice a { command = \"a\" }\nlog-dir = \"/var\"\n"),
		-EINVAL);
	expect_only_error("vigil.conf", 3, "option 'log-dir' is given twice (first at line 1)");
	config_errors_clear(&errors);
	cr_assert_eq(
		load("service a {\n  command = \"a\"\n"
		     "  readiness { tcp = \"h:1\"\n    period = 1s\n    period = 2s\n  }\n}\n"),
		-EINVAL);
	expect_only_error("vigil.conf", 5, "option 'period' is given twice (first at line 4)");
	config_errors_clear(&errors);
	/* Once per section: two services, and a list given then extended. */
	expect_loads("service a {\n  command = \"a\"\n  restart-delay = 1s\n"
		     "  environment = {\"A=1\"}\n  environment += {\"B=2\"}\n}\n"
		     "service b {\n  command = \"b\"\n  restart-delay = 1s\n}\n");
	cr_assert_eq(strv_length(service("a")->environment), 2);
	/* libconfuse's `block|option` names the block's option, not the service's. */
	config_free(cfg);
	cfg = NULL;
	expect_loads("service a {\n  command = \"a\"\n  liveness { tcp = \"h:1\" }\n"
		     "  readiness { tcp = \"h:2\" }\n  liveness|period = 1s\n"
		     "  readiness|period = 2s\n}\n");
	config_free(cfg);
	cfg = NULL;
	cr_assert_eq(load("service a {\n  command = \"a\"\n  liveness { tcp = \"h:1\" }\n"
			  "  liveness|tcp = \"h:3\"\n}\n"),
		     -EINVAL);
	expect_only_error("vigil.conf", 4, "option 'tcp' is given twice (first at line 3)");
}

Test(config, probe_targets_are_checked)
{
	cr_assert_eq(load("service a {\n  command = \"a\"\n  liveness { tcp = \"nohost\" }\n}\n"),
		     -EINVAL);
	expect_error("vigil.conf", 3, "bad address 'nohost' for 'tcp'");
	config_errors_clear(&errors);
	cr_assert_eq(load("service a {\n  command = \"a\"\n  liveness { http = \"ftp://x\" }\n}\n"),
		     -EINVAL);
	expect_error("vigil.conf", 3, "bad URL 'ftp://x'");
	config_errors_clear(&errors);
	cr_assert_eq(
		load("service a {\n  command = \"a\"\n  liveness { unix = \"rel/sock\" }\n}\n"),
		-EINVAL);
	expect_error("vigil.conf", 3, "bad socket path 'rel/sock'");
	config_errors_clear(&errors);
	cr_assert_eq(load("service a {\n  command = \"a\"\n  liveness { tcp = \"h:1\" period = 0s "
			  "}\n}\n"),
		     -EINVAL);
	expect_error("vigil.conf", 3, "option 'period' must be longer than 0s");
}

/* Checked with libcurl's URL parser, the one each check uses: what passes works. */
Test(config, malformed_http_urls_are_errors_with_their_line)
{
	static const char *const bad[][2] = {
		{"http://", "bad URL 'http://' for 'http': "},
		{"http://127.0.0.1:99999/",
		 "bad port in 'http://127.0.0.1:99999/' for 'http' (1..65535)"},
		{"http://127.0.0.1:0/", "bad port in 'http://127.0.0.1:0/' for 'http' (1..65535)"},
		{"http://[::1:80/", "bad URL 'http://[::1:80/' for 'http': "},
		{"http://a b/", "bad URL 'http://a b/' for 'http': "},
	};
	char text[256], want[256];

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		snprintf(text,
			 sizeof(text),
			 "service a {\n  command = \"a\"\n\n  readiness { http = \"%s\" }\n}\n",
			 bad[i][0]);
		config_errors_clear(&errors);
		cr_assert_eq(load(text), -EINVAL, "%s", bad[i][0]);
		snprintf(want, sizeof(want), "readiness probe of service 'a': %s", bad[i][1]);
		expect_only_error("vigil.conf", 4, want);
	}
	config_errors_clear(&errors);
	cr_assert_eq(load("service a {\n  command = \"a\"\n"
			  "  liveness { http = \"http://[::1]:8080/healthz?x=1\" }\n"
			  "  readiness { http = \"https://localhost/\" }\n}\n"),
		     0);
}

Test(config, a_bad_service_name_is_an_error)
{
	cr_assert_eq(load("service \"we b\" {\n  command = \"a\"\n}\n"), -EINVAL);
	expect_only_error("vigil.conf", 1, "service 'we b': bad name");
}

Test(config, an_empty_title_or_one_with_an_escaped_quote_is_reported_at_its_line)
{
	cr_assert_eq(
		load("service ok { command = \"a\" }\n\nservice \"\" {\n  command = \"a\"\n}\n"),
		-EINVAL);
	expect_only_error("vigil.conf", 3, "service '': bad name");
	config_errors_clear(&errors);
	cr_assert_eq(load("service ok { command = \"a\" }\n\nservice \"we\\\"ird\" {\n  command = "
			  "\"a\"\n}\n"),
		     -EINVAL);
	expect_only_error("vigil.conf", 3, "service 'we\"ird': bad name");
	config_errors_clear(&errors);
	/* First in the file, it takes no other service's line either. */
	cr_assert_eq(load("service '' {\n  command = \"a\"\n}\nservice b {\n  command = \"a\"\n  "
			  "readiness {}\n}\n"),
		     -EINVAL);
	expect_error("vigil.conf", 1, "service '': bad name");
	expect_error("vigil.conf", 6, "readiness probe of service 'b' needs exactly one of");
	cr_assert_eq(errors.n, 2);
}

Test(config, a_bad_environment_entry_is_an_error)
{
	cr_assert_eq(load("service a {\n  command = \"a\"\n  environment = {\"NOEQUALS\"}\n}\n"),
		     -EINVAL);
	expect_only_error("vigil.conf", 3, "bad entry 'NOEQUALS' in 'environment'");
}

Test(config, an_unreadable_file_names_the_file_and_the_reason)
{
	cr_assert_eq(config_load(path("absent.conf"), NULL, &errors, &cfg), -EINVAL);
	cr_assert_eq(errors.n, 1);
	{
		char want[256];
		snprintf(want,
			 sizeof(want),
			 "%s: cannot read configuration: No such file or directory",
			 path("absent.conf"));
		cr_assert_str_eq(errors.lines[0], want);
	}
}

Test(config, no_file_gives_the_defaults_and_main_can_be_added)
{
	char *const argv[] = {(char *)"/bin/app", (char *)"--flag", NULL};

	cr_assert_eq(config_load(NULL, NULL, &errors, &cfg), 0);
	cr_assert_eq(cfg->n_services, 0);
	cr_assert_eq(config_add_main(cfg, argv), 0);
	cr_assert_str_eq(service("main")->command, "/bin/app --flag");
	cr_assert(service("main")->main);
	cr_assert_eq(service("main")->policy.restart, RESTART_NEVER);
	cr_assert_eq(config_add_main(cfg, argv), -EEXIST);
}

Test(config, a_service_called_main_beside_a_command_is_named_by_file_and_line)
{
	char *const argv[] = {(char *)"/bin/app", NULL};

	cr_assert_eq(load("# sidecars\nservice main {\n  command = \"x\"\n}\n"), 0);
	cr_assert_eq(config_add_main(cfg, argv), -EEXIST);
	config_errors_main_taken(cfg, &errors);
	expect_only_error("vigil.conf", 2, "service 'main' is defined here, but with -- COMMAND");
}

/* With -- COMMAND, main is known before the dependencies are judged: a sidecar may
 * require it, and a service called main beside it is reported with the rest. */
Test(config, with_a_command_a_service_may_require_main)
{
	char *const argv[] = {(char *)"/bin/app", NULL};

	write_file("vigil.conf",
		   "service shipper {\n  command = \"x\"\n  requires = {\"main\"}\n}\n");
	cr_assert_eq(config_load(path("vigil.conf"), argv, &errors, &cfg), 0);
	cr_assert_str_eq(service("main")->command, "/bin/app");
	cfg = config_free(cfg);
	cr_assert_eq(load("service shipper {\n  command = \"x\"\n  requires = {\"main\"}\n}\n"),
		     -EINVAL);
	expect_only_error(
		"vigil.conf", 3, "service 'shipper' requires 'main', which is not defined");
}

Test(config, a_service_called_main_beside_a_command_is_reported_by_config_load)
{
	char *const argv[] = {(char *)"/bin/app", NULL};

	write_file("vigil.conf",
		   "service main {\n  command = \"x\"\n}\nservice b {\n  command = \"x\"\n"
		   "  requires = {\"nope\"}\n}\n");
	cr_assert_eq(config_load(path("vigil.conf"), argv, &errors, &cfg), -EINVAL);
	expect_error("vigil.conf", 1, "service 'main' is defined here, but with -- COMMAND");
	expect_error("vigil.conf", 6, "service 'b' requires 'nope', which is not defined");
}

/* `--` mode builds its configuration without libconfuse (start-up speed): what it
 * writes by hand must be what the schema gives a file that says only this much. */
Test(config, the_command_line_main_has_the_defaults_a_file_would_give_it)
{
	char *const argv[] = {(char *)"/bin/app", (char *)"--flag", NULL};
	struct vigil_config *bare = NULL;
	struct service_config *from_file;

	cr_assert_eq(load("service main {\n  command = \"/bin/app --flag\"\n"
			  "  restart = never\n}\n"),
		     0);
	cr_assert_eq(config_load(NULL, NULL, &errors, &bare), 0);
	cr_assert_eq(config_add_main(bare, argv), 0);

	cr_assert_str_eq(bare->control_group, cfg->control_group);
	cr_assert_eq(bare->control_group_set, cfg->control_group_set);
	cr_assert_eq(bare->log_forward, cfg->log_forward);
	cr_assert_eq(bare->shutdown_timeout, cfg->shutdown_timeout);
	from_file = cfg->services[0];
	from_file->main = true; /* the one difference meant */
	cr_assert(service_config_equal(bare->services[0], from_file),
		  "config_add_main() and the schema disagree on a default");
	config_free(bare);
}

/* Loads "service b" and "service a" with @line added to a's block (where it holds
 * no liveness block, a has `liveness { tcp = "h:1" }`, and where it holds no command,
 * `command = "a b"`) from @file, after @prefix; returns a's definition (the
 * configuration in *@ret, for config_free()). */
static const struct service_config *load_a_with(const char *file, const char *prefix,
						const char *line, struct vigil_config **ret)
{
	char text[1024];

	snprintf(text,
		 sizeof(text),
		 "%sservice b {\n command = \"b\"\n}\n"
		 "service a {\n%s\n%s\n%s\n}\n",
		 prefix,
		 strncmp(line, "command", 7) == 0 ? "" : " command = \"a b\"",
		 strstr(line, "liveness") ? "" : " liveness { tcp = \"h:1\" }",
		 line);
	write_file(file, text);
	cr_assert_eq(config_load(path(file), NULL, &errors, ret),
		     0,
		     "'%s': %s",
		     line,
		     errors.n ? errors.lines[0] : "");
	return (*ret)->services[1];
}

Test(config, equal_definitions_compare_equal_and_any_change_differs)
{
	/* Each pair sets one option away from its default or from the first line (the
	 * last ones change the probe): a reload must see every one as a change. */
	static const char *const changes[][2] = {
		{"", "command = \"a c\""},
		{"", "directory = \"/tmp\""},
		{"", "user = \"nobody\""},
		{"", "group = \"nogroup\""},
		{"", "umask = \"027\""},
		{"", "environment = {\"A=1\"}"},
		{"", "env-file = \"/etc/a\""},
		{"env-file = \"/etc/a\"", "env-file = \"-/etc/a\""},
		{"", "autostart = false"},
		{"", "type = oneshot"},
		{"", "requires = {\"b\"}"},
		{"", "restart = on-failure"},
		{"", "success-exit-codes = {0, 3}"},
		{"success-exit-codes = {0, 3}", "success-exit-codes = {0, 4}"},
		{"", "restart-delay = 1s"},
		{"", "restart-delay-max = 1m"},
		{"", "restart-factor = 3"},
		{"", "restart-jitter = 50%"},
		{"", "stable-after = 1m"},
		{"", "restart-limit = 5"},
		{"", "restart-window = 2m"},
		{"", "on-failed = shutdown"},
		{"", "ready = notify"},
		{"", "start-timeout = 5s"},
		{"ready = notify", "ready = notify\n watchdog = 5s"},
		{"", "stop-signal = INT"},
		{"", "stop-timeout = 5s"},
		{"", "kill-mode = process"},
		{"", "log-max-size = 1M"},
		{"", "log-keep = 2"},
		{"", "log-buffer = 64K"},
		{"", "readiness { tcp = \"h:1\" }"},
		{"", "startup { tcp = \"h:1\" }"},
		{"", "liveness { tcp = \"h:2\" }"},
		{"", "liveness { exec = \"h:1\" }"},
		{"", "liveness { tcp = \"h:1\" initial-delay = 1s }"},
		{"", "liveness { tcp = \"h:1\" period = 1s }"},
		{"", "liveness { tcp = \"h:1\" timeout = 2s }"},
		{"", "liveness { tcp = \"h:1\" success-threshold = 2 }"},
		{"", "liveness { tcp = \"h:1\" failure-threshold = 5 }"},
	};
	struct vigil_config *base = NULL, *other = NULL;

	/* Another file, and every line two further down. */
	cr_assert(service_config_equal(load_a_with("vigil.conf", "", "", &base),
				       load_a_with("other.conf", "\n\n", "", &other)),
		  "file and line must not matter");
	for (size_t i = 0; i < ELEMENTSOF(changes); i++) {
		config_free(base);
		config_free(other);
		base = other = NULL;
		cr_assert_not(
			service_config_equal(load_a_with("vigil.conf", "", changes[i][0], &base),
					     load_a_with("other.conf", "", changes[i][1], &other)),
			"'%s' after '%s' went unseen",
			changes[i][1],
			changes[i][0]);
	}
	config_free(base);
	config_free(other);
}

static void load_example(const char *name)
{
	char p[512];
	const char *src = getenv("VIGIL_SRCDIR");

	snprintf(p, sizeof(p), "%s/etc/%s", src ? src : "..", name);
	cr_assert_eq(config_load(p, NULL, &errors, &cfg),
		     0,
		     "%s: %s",
		     name,
		     errors.n ? errors.lines[0] : "");
}

Test(config, the_example_host_configuration_and_its_dropins_parse)
{
	load_example("vigil.conf");
	cr_assert_eq(cfg->n_services, 4);
	cr_assert_str_eq(cfg->services[1]->name, "db");
	cr_assert_str_eq(service("web")->requires[0], "db");
	cr_assert_eq(service("worker")->policy.restart, RESTART_ON_FAILURE);
}

Test(config, the_demo_configuration_parses)
{
	load_example("demo.conf");
	cr_assert_eq(cfg->n_services, 2);
	cr_assert_eq(service("web")->probes[PROBE_LIVENESS].type, PROBE_HTTP);
	cr_assert_eq(service("worker")->policy.backoff.delay, 200 * MSEC);
}

Test(config, a_utf8_byte_order_mark_at_the_start_of_a_file_is_passed_over)
{
	expect_loads("\xEF\xBB\xBF"
		     "service web {\n  command = \"w\"\n}\n");
	cr_assert_str_eq(service("web")->argv[0], "w");
	/* Its columns stay: an error on that line still names it. */
	cr_assert_neq(load("\xEF\xBB\xBF"
			   "servic web {\n  command = \"w\"\n}\n"),
		      0);
	expect_error("vigil.conf", 1, "no such option 'servic'");
}

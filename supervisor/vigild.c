/* vigild.c: main: parse argv, block signals, load the configuration, build the
 * manager, run the loop, map the result to SPEC §2's exit codes. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "listen.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "sdnotify.h"

#define DEFAULT_CONFIG "/etc/vigil/vigil.conf"

static void help(void)
{
	printf("Usage: vigild [-c FILE] [-s SOCKET] [--log-level LEVEL] [-- COMMAND [ARG...]]\n"
	       "       vigild --check [-c FILE]\n"
	       "       vigild --version | --help\n"
	       "\n"
	       "Supervises the services of FILE (default " DEFAULT_CONFIG " when it exists)\n"
	       "and, after --, COMMAND as the service 'main': vigild then exits with its status.\n"
	       "\n"
	       "  -c, --config FILE     configuration file\n"
	       "  -s, --socket SOCKET   control socket path (overrides control-socket)\n"
	       "      --log-level LEVEL debug, info, warn or error (default info)\n"
	       "      --check           validate the configuration, print every error, exit 0 or "
	       "1\n"
	       "      --version         print the version\n"
	       "  -h, --help            print this help\n");
}

/* Blocks every signal vigild takes through its loop, before anything can start a
 * thread (notes §1). In `--` mode without a configuration that is every signal it
 * forwards; SIGTTOU too, so that a child may take the terminal's foreground. */
static void block_signals(void)
{
	sigset_t ss;

	sigfillset(&ss);
	/* Synchronous signals report our own faults: not blocked here (`--` mode
	 * blocks them to forward them, manager.c). */
	sigdelset(&ss, SIGSEGV);
	sigdelset(&ss, SIGBUS);
	sigdelset(&ss, SIGILL);
	sigdelset(&ss, SIGFPE);
	sigdelset(&ss, SIGABRT);
	sigdelset(&ss, SIGTRAP);
	sigdelset(&ss, SIGSYS);
	sigprocmask(SIG_BLOCK, &ss, NULL);
}

/* Gives every signal its default disposition but SIGPIPE, which vigild ignores:
 * spawn.c relies on that to reset only SIGPIPE in children. */
static void reset_signal_dispositions(void)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL}, ign = {.sa_handler = SIG_IGN};

	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &dfl, NULL);
	(void)sigaction(SIGPIPE, &ign, NULL);
}

/* Children get exactly fds 0-2 and pipes are dup2'ed onto 1 and 2: make sure 0-2
 * are open, so that no pipe is created with one of those numbers. */
static int open_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (n < 0)
			return -errno;
		if (n != fd) {
			dup2(n, fd);
			close(n);
		}
	}
	return 0;
}

enum { OPT_LOG_LEVEL = 256, OPT_CHECK, OPT_VERSION };

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},
		{"socket", required_argument, NULL, 's'},
		{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
		{"check", no_argument, NULL, OPT_CHECK},
		{"version", no_argument, NULL, OPT_VERSION},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct manager_options mo = {0};
	struct config_errors errors = {0};
	struct vigil_config *config = NULL;
	struct manager *m = NULL;
	struct control *ctl = NULL;
	struct sdnotify *sn = NULL;
	CLEANUP_FREE char *socket_path = NULL;
	bool check = false, level_set = false, explicit_socket;
	int c, r;

	block_signals();
	reset_signal_dispositions();
	log_setup();
	if (open_std_fds() < 0)
		return MANAGER_EXIT_STARTUP;

	while ((c = getopt_long(argc, argv, "+c:s:h", options, NULL)) >= 0) {
		switch (c) {
		case 'c':
			mo.config_path = optarg;
			break;
		case 's':
			mo.socket_path = optarg;
			break;
		case OPT_LOG_LEVEL:
			r = log_level_from_string(optarg);
			if (r < 0) {
				fprintf(stderr,
					"vigild: bad --log-level '%s' (debug, info, warn, error)\n",
					optarg);
				return MANAGER_EXIT_STARTUP;
			}
			log_max_level = r;
			level_set = true;
			break;
		case OPT_CHECK:
			check = true;
			break;
		case OPT_VERSION:
			printf("vigild %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			help();
			return 0;
		default:
			fprintf(stderr, "Try 'vigild --help'.\n");
			return MANAGER_EXIT_STARTUP;
		}
	}
	/* `--` with nothing after it: a COMMAND was meant (the `--check -- cmd` form
	 * without the cmd too). */
	if (optind == argc && optind > 0 && STREQ(argv[optind - 1], "--")) {
		fprintf(stderr, "vigild: -- needs a COMMAND after it\n");
		return MANAGER_EXIT_STARTUP;
	}
	if (optind < argc) {
		if (optind == 0 || !STREQ(argv[optind - 1], "--")) {
			fprintf(stderr,
				"vigild: unexpected argument '%s' (a command goes after --)\n",
				argv[optind]);
			return MANAGER_EXIT_STARTUP;
		}
		mo.main_argv = argv + optind;
		/* As a container's init, be as quiet as tini unless asked. */
		if (!mo.config_path && !level_set)
			log_max_level = LOG_WARNING;
	}
	if (!mo.config_path && !mo.main_argv) {
		if (access(DEFAULT_CONFIG, F_OK) < 0) {
			fprintf(stderr,
				"vigild: no configuration: %s: %s (use -c FILE, or -- COMMAND)\n",
				DEFAULT_CONFIG,
				strerror(errno));
			return MANAGER_EXIT_STARTUP;
		}
		mo.config_path = DEFAULT_CONFIG;
	}

	r = config_load(mo.config_path, mo.main_argv, &errors, &config);
	if (r < 0) {
		for (size_t i = 0; i < errors.n; i++)
			fprintf(stderr, "%s\n", errors.lines[i]);
		if (r == -ENOMEM)
			fprintf(stderr, "vigild: out of memory\n");
		config_errors_clear(&errors);
		config_free(config);
		return MANAGER_EXIT_STARTUP;
	}
	if (check) {
		printf("%s: OK (%zu services)\n",
		       mo.config_path ? mo.config_path : "(no file)",
		       config->n_services);
		config_free(config);
		return 0;
	}

	explicit_socket = mo.socket_path || config->control_socket;
	r = listen_socket_path(mo.socket_path, config->control_socket, &socket_path);
	if (r < 0) {
		log_error_errno(r, "Failed to choose the control socket's path");
		config_free(config);
		return MANAGER_EXIT_STARTUP;
	}
	mo.socket_path = socket_path;

	r = manager_new(&mo, config, &m);
	if (r < 0)
		return MANAGER_EXIT_STARTUP;
	r = control_new(m,
			&(struct control_options){
				.socket_path = socket_path,
				.group = manager_get_config(m)->control_group,
				.group_nss = manager_get_config(m)->control_group_set,
				.http_listen = manager_get_config(m)->http_listen,
			},
			&ctl);
	if (r < 0) {
		/* As a container's init (tini's job) the default socket is a convenience:
		 * a read-only /run must not keep the container from starting. */
		if (!(mo.main_argv && !mo.config_path && !explicit_socket)) {
			manager_free(m);
			return MANAGER_EXIT_STARTUP;
		}
		log_warning("Running without the control socket");
	}
	r = sdnotify_new(m, &sn);
	if (r < 0)
		log_warning_errno(r, "Failed to set up notifications to systemd, ignoring");
	r = manager_run(m);
	sdnotify_free(sn);
	control_free(ctl);
	manager_free(m);
	return r;
}

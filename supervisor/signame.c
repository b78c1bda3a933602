/* signame.c: signal names as users write them ("TERM", "SIGTERM", "15"). */
#include "signame.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <strings.h>

#include "macro.h"

static const char *const names[] = {
	[SIGHUP] = "HUP",   [SIGINT] = "INT",       [SIGQUIT] = "QUIT", [SIGILL] = "ILL",
	[SIGTRAP] = "TRAP", [SIGABRT] = "ABRT",     [SIGBUS] = "BUS",   [SIGFPE] = "FPE",
	[SIGKILL] = "KILL", [SIGUSR1] = "USR1",     [SIGSEGV] = "SEGV", [SIGUSR2] = "USR2",
	[SIGPIPE] = "PIPE", [SIGALRM] = "ALRM",     [SIGTERM] = "TERM", [SIGSTKFLT] = "STKFLT",
	[SIGCHLD] = "CHLD", [SIGCONT] = "CONT",     [SIGSTOP] = "STOP", [SIGTSTP] = "TSTP",
	[SIGTTIN] = "TTIN", [SIGTTOU] = "TTOU",     [SIGURG] = "URG",   [SIGXCPU] = "XCPU",
	[SIGXFSZ] = "XFSZ", [SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF", [SIGWINCH] = "WINCH",
	[SIGIO] = "IO",     [SIGPWR] = "PWR",       [SIGSYS] = "SYS",
};

const char *signame_to_string(int signo)
{
	if (signo <= 0 || (size_t)signo >= ELEMENTSOF(names))
		return NULL;
	return names[signo];
}

int signame_from_string(const char *s)
{
	char *end;
	long n;

	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 1; i < ELEMENTSOF(names); i++)
		if (names[i] && strcasecmp(names[i], s) == 0)
			return (int)i;
	n = strtol(s, &end, 10);
	if (end == s || *end || n < 1 || n >= _NSIG)
		return -EINVAL;
	return (int)n;
}

/* log.c: vigild's own diagnostics on stderr. */
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"

int log_max_level = LOG_INFO;
static bool to_journal;

static const char *const level_names[] = {
	[LOG_DEBUG] = "debug",
	[LOG_INFO] = "info",
	[LOG_WARNING] = "warn",
	[LOG_ERR] = "error",
};

void log_setup(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	to_journal = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 &&
		     fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

int log_level_from_string(const char *s)
{
	for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
		if (level_names[i] && STREQ(level_names[i], s))
			return (int)i;
	return -EINVAL;
}

int log_internal(int level, int err, const char *fmt, ...)
{
	/* One buffer and one write per line, so lines from vigild never interleave
	 * with each other; errno is saved because callers log on error paths. */
	char line[2048];
	int saved = errno;
	const char *prefix = level <= LOG_ERR ? "error: " : level == LOG_WARNING ? "warning: " : "";
	va_list ap;
	int n;

	if (to_journal)
		n = snprintf(line, sizeof(line), "<%d>", level);
	else
		n = snprintf(line, sizeof(line), "vigild: %s", prefix);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	if (err != 0)
		n += snprintf(line + n, sizeof(line) - (size_t)n, ": %s", strerror(-err));
	if (n >= (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
	errno = saved;
	return err;
}

/* test-fileio.c: reading a whole small file, whatever its size says. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fileio.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/vigil-fileio.XXXXXX");
	cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
}

TestSuite(fileio, .init = setup, .fini = teardown, .timeout = 10);

static const char *path_of(const char *name)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void write_text(const char *name, const char *text)
{
	FILE *f = fopen(path_of(name), "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(fileio, a_regular_file_comes_whole_and_nul_terminated)
{
	char *text = NULL;
	size_t len = 0;

	write_text("a", "A=1\nB=2\n");
	cr_assert_eq(fileio_read(path_of("a"), 100, &text, &len), 0);
	cr_assert_eq(len, 8);
	cr_assert_str_eq(text, "A=1\nB=2\n");
	free(text);
}

/* A /proc file says it is empty; a fifo has no size at all: both are read to EOF. */
Test(fileio, a_file_that_says_it_is_empty_is_read_to_its_end)
{
	char *text = NULL;
	size_t len = 0;
	pid_t pid;

	cr_assert_eq(fileio_read("/proc/self/status", 1 << 20, &text, &len), 0);
	cr_assert_gt(len, 0);
	cr_assert_not_null(strstr(text, "Pid:"));
	free(text);

	cr_assert_eq(mkfifo(path_of("fifo"), 0600), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(path_of("fifo"), O_WRONLY);

		for (int i = 0; i < 1000; i++)
			(void)!write(fd, "KEY=value\n", 10);
		_exit(0);
	}
	cr_assert_eq(fileio_read(path_of("fifo"), 1 << 20, &text, &len), 0);
	cr_assert_eq(len, 10000);
	cr_assert_eq(strncmp(text + 9990, "KEY=value\n", 10), 0);
	cr_assert_eq(text[len], '\0');
	free(text);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
}

Test(fileio, more_than_max_is_refused_by_size_or_by_content)
{
	char *text = NULL;
	size_t len = 0;

	write_text("big", "0123456789");
	cr_assert_eq(fileio_read(path_of("big"), 9, &text, &len), -EFBIG);
	cr_assert_eq(fileio_read(path_of("big"), 10, &text, &len), 0);
	free(text);
	/* No size to go by: the content decides. */
	cr_assert_eq(fileio_read("/proc/self/status", 16, &text, &len), -EFBIG);
	cr_assert_eq(fileio_read(dir, 100, &text, &len), -EISDIR);
	cr_assert_eq(fileio_read(path_of("missing"), 100, &text, &len), -ENOENT);
}

Test(fileio, a_fifo_nobody_writes_to_is_an_error_after_a_while_not_a_hang)
{
	char *text = NULL;
	size_t len = 0;

	cr_assert_eq(mkfifo(path_of("lonely"), 0600), 0);
	cr_assert_eq(fileio_read(path_of("lonely"), 1 << 20, &text, &len), -ENODATA);
	cr_assert_null(text);
}

/* test-spawn.c: what spawn.c does in vigild itself: marking its fds close-on-exec for
 * kernels where a child cannot (the children's side is in the integration tests). */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "spawn.h"

static bool cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	cr_assert_geq(flags, 0, "fd %d is not open", fd);
	return flags & FD_CLOEXEC;
}

Test(spawn, marking_sets_close_on_exec_above_2_and_leaves_0_to_2)
{
	int low = open("/dev/null", O_RDONLY), high;

	cr_assert_geq(low, 3);
	high = dup2(low, 900);
	cr_assert_eq(high, 900);
	cr_assert_eq(fcntl(2, F_SETFD, 0), 0);
	cr_assert_not(cloexec(low));
	cr_assert_not(cloexec(high));

	spawn_mark_fds_cloexec();
	cr_assert(cloexec(low));
	cr_assert(cloexec(high));
	cr_assert_not(cloexec(2), "fds 0-2 are the program's: never close-on-exec");
	close(low);
	close(high);
}

static const char *interpreter(const char *text)
{
	static char buf[32];

	return spawn_script_interpreter(text, strlen(text), buf, sizeof(buf)) ? buf : NULL;
}

Test(spawn, a_scripts_interpreter_is_read_as_the_kernel_reads_it)
{
	cr_assert_str_eq(interpreter("#!/bin/sh\necho\n"), "/bin/sh");
	cr_assert_str_eq(interpreter("#! \t/usr/bin/env python3\n"), "/usr/bin/env");
	cr_assert_str_eq(interpreter("#!/bin/bash"), "/bin/bash");
	cr_assert_str_eq(interpreter("#!/a/very/long/interpreter/path/cut/to/fit\n"),
			 "/a/very/long/interpreter/path/c");
	cr_assert_null(interpreter("\x7f"
				   "ELF"));
	cr_assert_null(interpreter("#!\n"));
	cr_assert_null(interpreter("#! \n"));
	cr_assert_null(interpreter("#"));
	cr_assert_null(interpreter(""));
}

/* test-check.c: `vigild --check` and start-up errors, from the built binary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "harness.h"

static struct vh v;

static void setup(void)
{
	vh_init(&v);
}

static void teardown(void)
{
	vh_cleanup(&v);
}

TestSuite(check, .init = setup, .fini = teardown, .timeout = 30);

static int check(const char *conf, char **out)
{
	char cmd[1024];
	const char *sh[] = {"sh", "-c", cmd, NULL};

	/* vh_run captures stdout only: run through sh to merge stderr. */
	snprintf(cmd, sizeof(cmd), "%s --check -c %s 2>&1", vh_vigild(), conf);
	return vh_run(sh, out, 10000);
}

Test(check, reports_every_semantic_error_in_one_run_and_exits_1)
{
	char *out = NULL;

	vh_write(&v,
		 "vigil.conf",
		 "# three mistakes\n"
		 "service a {\n"
		 "  command = \"true\"\n"
		 "  requires = {\"ghost\"}\n"
		 "}\n"
		 "service b {\n"
		 "  command = \"true\"\n"
		 "  requires = {\"c\"}\n"
		 "}\n"
		 "service c {\n"
		 "  command = \"true\"\n"
		 "  requires = {\"b\"}\n"
		 "}\n"
		 "service d {\n"
		 "  command = \"true\"\n"
		 "  ready = probe\n"
		 "}\n");
	cr_assert_eq(check(v.conf, &out), 1);
	{
		char want[3][512];
		snprintf(want[0],
			 512,
			 "%s:4: service 'a' requires 'ghost', which is not defined",
			 v.conf);
		snprintf(want[1], 512, "%s:8: dependency cycle: b -> c -> b", v.conf);
		snprintf(want[2],
			 512,
			 "%s:14: service 'd': ready = probe needs a readiness block",
			 v.conf);
		for (int i = 0; i < 3; i++)
			cr_assert(strstr(out, want[i]), "missing '%s' in:\n%s", want[i], out);
	}
	free(out);
}

Test(check, a_valid_configuration_exits_0_and_starts_nothing)
{
	char *out = NULL;

	vh_write(&v,
		 "vigil.conf",
		 "control-socket = \"%s\"\n"
		 "service a {\n  command = \"%s pidfile %s pause\"\n}\n",
		 vh_path(&v, "sock"),
		 vh_helper(),
		 vh_path(&v, "pid"));
	cr_assert_eq(check(v.conf, &out), 0, "%s", out);
	{
		struct stat st;
		cr_assert_neq(stat(vh_path(&v, "pid"), &st), 0, "--check started a service");
		cr_assert_neq(stat(vh_path(&v, "sock"), &st), 0, "--check created the socket");
	}
	free(out);
}

Test(check, a_missing_configuration_names_the_file_and_the_reason)
{
	char *out = NULL;

	cr_assert_eq(check(vh_path(&v, "absent.conf"), &out), 1);
	cr_assert(strstr(out, "absent.conf: cannot read configuration: No such file or directory"),
		  "%s",
		  out);
	free(out);
}

Test(check, a_syntax_error_names_its_line_after_comments)
{
	char *out = NULL;
	char want[512];

	vh_write(&v,
		 "vigil.conf",
		 "# one\n"
		 "# two\n"
		 "/* three\n   four */\n"
		 "service a {\n"
		 "  command = \"true\" // five\n"
		 "  restrat = always\n"
		 "}\n");
	cr_assert_eq(check(v.conf, &out), 1);
	snprintf(want, sizeof(want), "%s:7: no such option 'restrat'", v.conf);
	cr_assert(strstr(out, want), "missing '%s' in:\n%s", want, out);
	free(out);
}

Test(check, an_option_given_twice_names_both_lines)
{
	char *out = NULL;
	char want[512];

	vh_write(&v,
		 "vigil.conf",
		 "service a {\n"
		 "  command = \"true\"\n"
		 "  stop-timeout = 5s\n"
		 "  command = \"false\"\n"
		 "}\n");
	cr_assert_eq(check(v.conf, &out), 1);
	snprintf(want,
		 sizeof(want),
		 "%s:4: option 'command' is given twice (first at line 2)",
		 v.conf);
	cr_assert(strstr(out, want), "missing '%s' in:\n%s", want, out);
	free(out);
}

Test(check, a_service_defined_in_two_files_names_both)
{
	char *out = NULL;
	char want[1024], cmd[512];

	snprintf(cmd, sizeof(cmd), "mkdir -p %s", vh_path(&v, "d"));
	cr_assert_eq(system(cmd), 0);
	vh_write(&v, "vigil.conf", "include-dir = \"d\"\nservice web {\n  command = \"true\"\n}\n");
	vh_write(&v, "d/10-web.conf", "\nservice web {\n  command = \"false\"\n}\n");
	cr_assert_eq(check(v.conf, &out), 1);
	snprintf(want,
		 sizeof(want),
		 "%s/d/10-web.conf:2: service 'web' is already defined at %s:2",
		 v.dir,
		 v.conf);
	cr_assert(strstr(out, want), "missing '%s' in:\n%s", want, out);
	free(out);
}

Test(check, a_fifo_among_the_dropins_is_an_error_not_a_hang)
{
	char *out = NULL;
	long long t0;

	vh_write(&v, "vigil.conf", "include-dir = \"d\"\nservice a {\n  command = \"true\"\n}\n");
	cr_assert_eq(mkdir(vh_path(&v, "d"), 0755), 0);
	cr_assert_eq(mkfifo(vh_path(&v, "d/x.conf"), 0600), 0);
	t0 = vh_now_ms();
	cr_assert_eq(check(v.conf, &out), 1, "%s", out);
	cr_assert_lt(vh_now_ms() - t0, 8000);
	cr_assert(strstr(out, "d/x.conf: cannot read configuration: No data available"), "%s", out);
	free(out);
}

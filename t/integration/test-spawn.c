/* test-spawn.c: what a child gets from vigild (SPEC §11): fds, environment,
 * directory, umask, user, session, signals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

TestSuite(spawn, .init = setup, .fini = teardown, .timeout = 30);

/* Writes a service that describes itself; starts vigild under @wrapper (NULL: none),
 * which ends by executing the rest of its arguments, vigild's. */
static char *describe_service_under(const char *extra, const char *const *wrapper)
{
	vh_write(&v,
		 "vigil.conf",
		 "service d {\n"
		 "  command = \"%s describe %s pause\"\n"
		 "%s"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "desc.tmp"),
		 extra);
	if (wrapper)
		vh_start_under(&v, wrapper, NULL);
	else
		vh_start(&v);
	cr_assert(vh_wait_log(&v, "d: starting -> running", 1, 5000), "%s", vh_read(v.log));
	for (int i = 0; i < 500; i++) {
		char *s = vh_read(vh_path(&v, "desc.tmp"));
		if (s && strstr(s, "\nenv: "))
			return s;
		free(s);
		vh_msleep(10);
	}
	cr_assert_fail("the child never described itself");
	return NULL;
}

static char *describe_service(const char *extra)
{
	return describe_service_under(extra, NULL);
}

Test(spawn, a_child_gets_exactly_fds_0_1_2_and_stdin_from_dev_null)
{
	char *d = describe_service("");

	cr_assert(strstr(d, "fds: 0 1 2\n"), "open fds: %s", d);
	cr_assert(strstr(d, "stdin: eof\n"), "%s", d);
	free(d);
}

Test(spawn, fds_vigild_inherited_open_do_not_reach_a_child)
{
	/* A low one (below vigild's own) and a high one (above them). */
	static const int inherited[] = {7, 900};
	char script[64];
	const char *const bash[] = {"/bin/bash", "-c", script, NULL};

	for (size_t i = 0; i < sizeof(inherited) / sizeof(inherited[0]); i++) {
		char *d;

		if (i > 0) {
			vh_cleanup(&v);
			vh_init(&v);
		}
		/* vigild started with that fd open and not close-on-exec, as a careless
		 * parent would leave it. */
		snprintf(script,
			 sizeof(script),
			 "exec %d</dev/null; exec \"$0\" \"$@\"",
			 inherited[i]);
		d = describe_service_under("", bash);
		cr_assert(strstr(d, "fds: 0 1 2\n"), "with fd %d inherited: %s", inherited[i], d);
		free(d);
	}
}

Test(spawn, a_child_leads_its_own_session_with_no_signal_blocked)
{
	char *d = describe_service("");
	int pid = 0, pgid = 0, sid = 0;

	sscanf(strstr(d, "pid: "), "pid: %d\npgid: %d\nsid: %d", &pid, &pgid, &sid);
	cr_assert(pid > 0 && pid == pgid && pid == sid, "pid %d pgid %d sid %d", pid, pgid, sid);
	cr_assert(strstr(d, "blocked: 0\n"), "%s", d);
	free(d);
}

Test(spawn, environment_overrides_env_file_which_overrides_the_inherited)
{
	char extra[1024];
	char *d;

	/* As if an outer systemd had started vigild: its variables must not leak. */
	setenv("NOTIFY_SOCKET", "/outer/notify", 1);
	setenv("LISTEN_FDS", "1", 1);
	vh_write(&v, "env", "# comment\nFROM_FILE=file\nexport QUOTED=\"a b\"\nBOTH=file\n");
	snprintf(extra,
		 sizeof(extra),
		 "  environment = {\"BOTH=conf\", \"HOME=/override\"}\n"
		 "  env-file = \"%s\"\n",
		 vh_path(&v, "env"));
	d = describe_service(extra);
	cr_assert(strstr(d, "env: FROM_FILE=file\n"), "%s", d);
	cr_assert(strstr(d, "env: QUOTED=a b\n"), "%s", d);
	cr_assert(strstr(d, "env: BOTH=conf\n"), "%s", d);
	cr_assert(strstr(d, "env: HOME=/override\n"), "%s", d);
	cr_assert(strstr(d, "env: VIGIL_TEST_TAG="), "inherited variables are kept: %s", d);
	cr_assert_null(strstr(d, "env: NOTIFY_SOCKET=/outer"), "%s", d);
	cr_assert_null(strstr(d, "env: LISTEN_FDS="), "%s", d);
	free(d);
}

/* SIG_IGN survives exec: what vigild's parent ignored must not reach services (a
 * shell's background job starts with INT and QUIT ignored, nohup ignores HUP). */
Test(spawn, signals_ignored_where_vigild_starts_are_not_ignored_in_a_child)
{
	const char *const bash[] = {
		"/bin/bash",
		"-c",
		"trap '' HUP INT QUIT TERM USR1 USR2 PIPE RTMIN RTMIN+5 RTMAX; exec \"$0\" \"$@\"",
		NULL};
	char *d = describe_service_under("", bash);

	cr_assert(strstr(d, "\nignored:\n"), "%s", d);
	free(d);
}

Test(spawn, a_variable_set_twice_where_vigild_starts_reaches_a_child_once_with_its_last_value)
{
	const char *const twice[] = {
		vh_helper(), "env-exec", "VIGIL_TWICE=first", "VIGIL_TWICE=last", "--", NULL};
	char *d = describe_service_under("", twice);

	cr_assert(strstr(d, "env: VIGIL_TWICE=last\n"), "%s", d);
	cr_assert_null(strstr(d, "env: VIGIL_TWICE=first\n"), "%s", d);
	free(d);
}

Test(spawn, a_missing_optional_env_file_is_fine)
{
	char extra[512];
	char *d;

	snprintf(extra, sizeof(extra), "  env-file = \"-%s\"\n", vh_path(&v, "absent"));
	d = describe_service(extra);
	cr_assert(strstr(d, "fds: 0 1 2\n"));
	free(d);
}

Test(spawn, a_missing_required_env_file_fails_the_run)
{
	vh_write(&v,
		 "vigil.conf",
		 "service e {\n"
		 "  command = \"%s pause\"\n"
		 "  env-file = \"%s\"\n"
		 "  restart = never\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "absent"));
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "e: starting -> failed (cannot read env-file", 1, 5000));
}

Test(spawn, directory_umask_and_user_apply)
{
	char extra[512];
	char *d;

	mkdir(vh_path(&v, "work"), 0777);
	chmod(v.dir, 0755);
	chmod(vh_path(&v, "work"), 0777);
	snprintf(extra,
		 sizeof(extra),
		 "  directory = \"%s\"\n"
		 "  umask = \"027\"\n"
		 "  user = \"nobody\"\n",
		 vh_path(&v, "work"));
	/* nobody must be able to write its description. */
	vh_write(&v, "vigil.conf", "\n");
	{
		char cmd[1024];
		snprintf(cmd, sizeof(cmd), "%s/desc.tmp", vh_path(&v, "work"));
		vh_write(&v,
			 "vigil.conf",
			 "service d {\n"
			 "  command = \"%s describe %s pause\"\n"
			 "%s"
			 "}\n",
			 vh_helper(),
			 cmd,
			 extra);
		vh_start(&v);
		cr_assert(vh_wait_log(&v, "d: starting -> running", 1, 5000));
		for (int i = 0; i < 500 && !(d = vh_read(cmd)); i++)
			vh_msleep(10);
		for (int i = 0; i < 500 && d && !strstr(d, "\nenv: "); i++) {
			free(d);
			vh_msleep(10);
			d = vh_read(cmd);
		}
	}
	cr_assert(d);
	cr_assert(strstr(d, "umask: 027\n"), "%s", d);
	cr_assert(strstr(d, "uid: 65534\n"), "%s", d);
	/* nobody's own group and groups, none of root's left. */
	cr_assert(strstr(d, "gid: 65534\n"), "%s", d);
	cr_assert(strstr(d, "groups: 65534\n"), "%s", d);
	{
		char want[300];
		snprintf(want, sizeof(want), "\ncwd: %s\n", vh_path(&v, "work"));
		cr_assert(strstr(d, want), "%s", d);
	}
	free(d);
}

Test(spawn, a_directory_the_user_may_not_enter_fails_the_run)
{
	mkdir(vh_path(&v, "private"), 0700);
	chmod(v.dir, 0755);
	vh_write(&v,
		 "vigil.conf",
		 "service d {\n"
		 "  command = \"%s pause\"\n"
		 "  directory = \"%s\"\n"
		 "  user = \"nobody\"\n"
		 "  restart = never\n"
		 "}\n",
		 vh_helper(),
		 vh_path(&v, "private"));
	vh_start(&v);
	/* Entered as root, it used to run there, unable to read its own directory. */
	cr_assert(vh_wait_log(&v, "d: starting -> failed (cannot enter directory", 1, 5000));
	cr_assert(vh_wait_log(&v, "private': Permission denied", 1, 5000));
}

/* Waits for the description the helper writes at @path, whole. */
static char *wait_description(const char *path)
{
	char *d = NULL;

	for (int i = 0; i < 500; i++) {
		d = vh_read(path);
		if (d && strstr(d, "\nenv: "))
			return d;
		free(d);
		d = NULL;
		vh_msleep(10);
	}
	return d;
}

Test(spawn, a_user_and_group_may_be_numbers_with_or_without_an_entry)
{
	char *d;

	/* vigild's own user's variables, which a bare uid must not get. */
	setenv("USER", "vigild-user", 1);
	setenv("LOGNAME", "vigild-user", 1);
	setenv("SHELL", "/bin/vigild-shell", 1);
	mkdir(vh_path(&v, "work"), 0777);
	chmod(v.dir, 0755);
	chmod(vh_path(&v, "work"), 0777);
	vh_write(
		&v,
		"vigil.conf",
		"service known {\n  command = \"%s describe %s/known pause\"\n  user = "
		"\"65534\"\n}\n"
		"service bare {\n  command = \"%s describe %s/bare pause\"\n  user = \"54321\"\n}\n"
		"service both {\n  command = \"%s describe %s/both pause\"\n  user = \"54321\"\n"
		"  group = \"54322\"\n}\n"
		"service named {\n  command = \"%s describe %s/named pause\"\n  user = \"nobody\"\n"
		"  environment = {\"SHELL=/bin/sh\"}\n}\n",
		vh_helper(),
		vh_path(&v, "work"),
		vh_helper(),
		vh_path(&v, "work"),
		vh_helper(),
		vh_path(&v, "work"),
		vh_helper(),
		vh_path(&v, "work"));
	vh_start(&v);
	/* A uid with a passwd entry (nobody): its group and groups, and its home. */
	d = wait_description(vh_path(&v, "work/known"));
	cr_assert(d && strstr(d, "uid: 65534\ngid: 65534\ngroups: 65534\n"), "%s", d);
	cr_assert(strstr(d, "\nenv: HOME=/nonexistent\n") && strstr(d, "\nenv: USER=nobody\n") &&
			  strstr(d, "\nenv: LOGNAME=nobody\n"),
		  "%s",
		  d);
	free(d);
	/* `environment` still has the last word. */
	d = wait_description(vh_path(&v, "work/named"));
	cr_assert(d && strstr(d, "\nenv: SHELL=/bin/sh\n") && strstr(d, "\nenv: USER=nobody\n"),
		  "%s",
		  d);
	free(d);
	/* One without: group 0, as container runtimes give it. */
	d = wait_description(vh_path(&v, "work/bare"));
	cr_assert(d && strstr(d, "uid: 54321\ngid: 0\ngroups: 0\n"), "%s", d);
	/* ... with HOME=/ as they give it, and not vigild's user's variables. */
	cr_assert(strstr(d, "\nenv: HOME=/\n") && !strstr(d, "env: USER=") &&
			  !strstr(d, "env: LOGNAME=") && !strstr(d, "env: SHELL="),
		  "%s",
		  d);
	free(d);
	d = wait_description(vh_path(&v, "work/both"));
	cr_assert(d && strstr(d, "uid: 54321\ngid: 54322\ngroups: 54322\n"), "%s", d);
	free(d);
}

Test(spawn, a_command_is_split_like_a_shell_without_expansion)
{
	vh_write(&v,
		 "vigil.conf",
		 "log-forward = yes\n"
		 "service q {\n"
		 "  command = \"%s out '$HOME and spaces' out \\\"two  words\\\" pause\"\n"
		 "}\n",
		 vh_helper());
	vh_start(&v);
	cr_assert(vh_wait_log(&v, "$HOME and spaces\n", 1, 5000));
	cr_assert(vh_wait_log(&v, "two  words\n", 1, 5000));
}

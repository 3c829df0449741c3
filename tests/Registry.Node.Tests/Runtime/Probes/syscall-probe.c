/*
 * syscall-probe: attempts system calls that busybox has no applet for, from inside a container,
 * and prints one line per attempt: "NAME: ok" or "NAME: errno N". Built static by the test
 * project (Registry.Node.Tests.csproj), so it runs in the busybox test image as it is.
 *
 *   syscall-probe keyctl        add_key, then keyctl(KEYCTL_JOIN_SESSION_KEYRING)
 *   syscall-probe personality   personality(ADDR_NO_RANDOMIZE), then the query personality(0xffffffff)
 *   syscall-probe clone3        clone3 with no flags (the child exits at once)
 *   syscall-probe ids           "uid=U euid=E": the real and effective user ids (for a setuid copy)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/keyctl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *name, long result)
{
	if (result < 0)
		printf("%s: errno %d\n", name, errno);
	else
		printf("%s: ok\n", name);
}

/* A child made by clone3 exits at once; the parent reaps it and reports. */
static void report_child(const char *name, long pid)
{
	if (pid == 0)
		_exit(0);
	int error = errno;
	if (pid > 0)
		waitpid((pid_t)pid, NULL, __WALL);
	errno = error;
	report(name, pid);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: syscall-probe keyctl|personality|clone3|ids\n");
		return 2;
	}
	const char *what = argv[1];
	if (!strcmp(what, "keyctl")) {
		report("add_key", syscall(SYS_add_key, "user", "probe", "secret", 6, KEY_SPEC_PROCESS_KEYRING));
		report("keyctl", syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL));
	} else if (!strcmp(what, "personality")) {
		report("personality-addr-no-randomize", syscall(SYS_personality, ADDR_NO_RANDOMIZE));
		report("personality-query", syscall(SYS_personality, 0xffffffffUL));
	} else if (!strcmp(what, "clone3")) {
		struct clone_args args;
		memset(&args, 0, sizeof args);
		args.exit_signal = SIGCHLD;
		report_child("clone3", syscall(SYS_clone3, &args, sizeof args));
	} else if (!strcmp(what, "ids")) {
		printf("uid=%d euid=%d\n", (int)getuid(), (int)geteuid());
	} else {
		fprintf(stderr, "syscall-probe: unknown probe %s\n", what);
		return 2;
	}
	return 0;
}

/*
 * rn-init: registry-node's container init helper.
 *
 * Why a helper of our own. The CLR is multithreaded; fork() from it may only be followed by
 * exec, so the namespace and mount set-up has to run in a separate single-threaded process
 * (runc has the same problem with Go and solves it with nsexec, C that runs before the Go
 * runtime). util-linux's unshare/nsenter would do part of it, but:
 *   - order of operations: the container needs join-cgroup -> new namespaces -> private mounts
 *     -> overlay -> /proc,/dev,/sys -> pivot_root -> hostname -> masked paths -> read-only root
 *     -> no_new_privs -> seccomp -> user and capabilities -> exec, in that order, in one process that then IS pid 1;
 *     unshare(1) would need a chain of further programs (mount, pivot_root, setpriv, ...) each
 *     with its own exec, and every one of them would have to exist on the host;
 *   - startup cost: one small C process (about 3.5 ms here) instead of several execs;
 *   - error reporting: a failure before exec comes back to registry-node as one message with a
 *     docker exit code (125 set-up, 126 cannot invoke, 127 not found) through a close-on-exec
 *     pipe; exec success is the pipe closing without a message. With a chain of tools a failure
 *     is only an exit status and some text mixed into the container's stderr.
 *
 * Usage: rn-init [--supervise DIR [--restart no|always|on-failure[:N]] [--hold-fd FD]
 *                 [--report-first-exit yes] [--then-arg ARG]...] SPEC_FILE STATUS_FD
 *        rn-init --exec SPEC_FILE
 *
 * --supervise makes the monitor a detached container's supervisor (rn-supervise.c and
 * docs/runtime.md); --exec runs a process in a running container (rn-exec.c).
 *
 * SPEC_FILE: see rn-spec.c. Other modes (rn-net.c): rn-init --bridge NETNS BRIDGE ADDR/PREFIX,
 * rn-init --forward NETNS STATUS_FD PORT=IP:PORT...
 *
 * Processes: this process stays as the container's monitor (outside every new namespace but
 * the ones it never enters); its child becomes pid 1 of a new pid namespace and execs the
 * image's command. The monitor forwards signals to it, waits for it and reports on STATUS_FD,
 * one line each:
 *   "started <host pid>"   exec succeeded
 *   "error <code> <text>"  set-up or exec failed; the monitor exits with <code>
 *   "exited <code>"        the container's process returned <code>; the monitor exits with it
 *   "signaled <signal>"    it was killed by <signal>; the monitor exits with 128 + <signal>
 *
 * The files, one step each:
 *   rn-init.c       this: the modes, and the monitor of a foreground container
 *   rn-spec.c       SPEC_FILE, read and validated before anything is touched
 *   rn-report.c     the status pipe to registry-node and a child's error pipe
 *   rn-container.c  the init sequence (cgroup, namespaces, ... exec) and starting pid 1
 *   rn-rootfs.c     the overlay root, /proc, /dev, /sys, volumes, pivot_root, masked paths
 *   rn-process.c    no_new_privs, capabilities, user and groups, exec
 *   rn-seccomp.c    the system call filter (libseccomp)
 *   rn-supervise.c  a detached container's supervisor: restarts, state.json
 *   rn-log.c        container.log in docker's json-file format
 *   rn-exec.c       --exec: a process in a running container
 *   rn-sealed.c     rn-init runs from a sealed copy of itself (CVE-2019-5736), not dumpable
 *   rn-userns.c     user-namespace remapping
 *   rn-net.c        the bridge, a container's veth, the port forwarder
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rn-init.h"

/*
 * A foreground container: this process is its monitor. It reports on STATUS_FD, passes signals
 * on to pid 1 and exits as the container did.
 */
static int run_foreground(const struct spec *s)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		status("error %d pipe: %s", EXIT_SETUP, strerror(errno));
		return EXIT_SETUP;
	}
	/* Before the pid namespace: the helper that makes them is a child too (rn-userns.c). */
	char problem[256];
	if (s->userns_count && userns_create(s, &container_userns, problem, sizeof problem)) {
		status("error %d %s", EXIT_SETUP, problem);
		return EXIT_SETUP;
	}
	/* The new pid namespace applies to the children of this process: the next fork is pid 1. */
	if (unshare(CLONE_NEWPID) < 0) {
		status("error %d create the pid namespace: %s", EXIT_SETUP, strerror(errno));
		return EXIT_SETUP;
	}
	sigset_t old;
	block_forwarded(&old);

	pid_t pid = fork();
	if (pid < 0) {
		status("error %d fork: %s", EXIT_SETUP, strerror(errno));
		return EXIT_SETUP;
	}
	if (pid == 0) {
		close(pipefd[0]);
		close(status_fd);
		error_fd = pipefd[1];
		container_init(s);
	}
	close(pipefd[1]);
	userns_close(&container_userns);
	child_pid = pid;
	install_forwarding();
	sigprocmask(SIG_SETMASK, &old, NULL);

	char message[4096];
	size_t got = read_failure(pipefd[0], message, sizeof message);
	close(pipefd[0]);

	int wstatus;
	if (got > 0) {
		while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
			;
		char *text;
		int code = failure_code(message, &text);
		for (char *c = text; *c; c++)
			if (*c == '\n')
				*c = ' ';
		status("error %d %s", code, text);
		return code;
	}
	status("started %d", (int)pid);
	while (waitpid(pid, &wstatus, 0) < 0) {
		if (errno != EINTR) {
			status("error %d wait: %s", EXIT_SETUP, strerror(errno));
			return EXIT_SETUP;
		}
	}
	if (WIFSIGNALED(wstatus)) {
		status("signaled %d", WTERMSIG(wstatus));
		return 128 + WTERMSIG(wstatus);
	}
	status("exited %d", WEXITSTATUS(wstatus));
	return WEXITSTATUS(wstatus);
}

static int usage(void)
{
	fprintf(stderr, "usage: rn-init [--supervise DIR [--restart no|always|on-failure[:N]] [--hold-fd FD]\n"
			"                [--report-first-exit yes] [--then-arg ARG]...] SPEC_FILE STATUS_FD\n"
			"       rn-init --exec SPEC_FILE\n(started by registry-node)\n");
	return EXIT_SETUP;
}

int main(int argc, char **argv)
{
	/* The modes whose processes enter a container run from a sealed copy, not dumpable (rn-sealed.c). */
	if (argc < 2 || (strcmp(argv[1], "--bridge") && strcmp(argv[1], "--forward"))) {
		run_from_sealed_copy(argv);
		make_undumpable();
	}
	if (argc == 3 && !strcmp(argv[1], "--exec"))
		return exec_main(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "--bridge")) {
		if (rn_bridge_up(argv[2], argv[3], argv[4]) == 0)
			return 0;
		fprintf(stderr, "rn-init: %s\n", rn_net_error());
		return EXIT_SETUP;
	}
	if (argc >= 5 && !strcmp(argv[1], "--forward")) {
		unsigned long forward_status;
		if (parse_number(argv[3], INT_MAX, &forward_status) || fcntl((int)forward_status, F_SETFD, FD_CLOEXEC) < 0)
			return EXIT_SETUP;
		return rn_forward(argv[2], (int)forward_status, argc - 4, argv + 4);
	}
	struct supervision sup = {.dir = NULL, .restart = RESTART_NO, .max_restarts = 0, .hold_fd = -1};
	int arg = 1;
	for (; arg + 1 < argc && !strncmp(argv[arg], "--", 2); arg += 2) {
		const char *value = argv[arg + 1];
		unsigned long max;
		if (!strcmp(argv[arg], "--supervise"))
			sup.dir = value;
		else if (!strcmp(argv[arg], "--restart") && !strcmp(value, "no"))
			sup.restart = RESTART_NO;
		else if (!strcmp(argv[arg], "--restart") && !strcmp(value, "always"))
			sup.restart = RESTART_ALWAYS;
		else if (!strcmp(argv[arg], "--restart") && !strcmp(value, "on-failure"))
			sup.restart = RESTART_ON_FAILURE;
		else if (!strcmp(argv[arg], "--restart") && !strncmp(value, "on-failure:", 11) && !parse_number(value + 11, INT_MAX, &max))
			sup.restart = RESTART_ON_FAILURE, sup.max_restarts = max;
		else if (!strcmp(argv[arg], "--hold-fd") && !parse_number(value, INT_MAX, &max) && fcntl((int)max, F_SETFD, FD_CLOEXEC) == 0)
			sup.hold_fd = (int)max; /* held, never written: it closes when the supervisor ends, however it ends */
		else if (!strcmp(argv[arg], "--report-first-exit") && !strcmp(value, "yes"))
			sup.report_first_exit = 1;
		else if (!strcmp(argv[arg], "--then-arg") && sup.then_argc < 16)
			sup.then_argv[sup.then_argc++] = (char *)value;
		else
			return usage();
	}
	if (argc - arg != 2)
		return usage();
	const char *spec_path = argv[arg];
	unsigned long fd;
	if (parse_number(argv[arg + 1], INT_MAX, &fd) || fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0) {
		fprintf(stderr, "rn-init: bad status descriptor %s\n", argv[arg + 1]);
		return EXIT_SETUP;
	}
	status_fd = (int)fd;
	/* Its own process group: a terminal's ^C reaches registry-node, which forwards it once.
	 * (A supervisor makes a session of its own instead, which a group leader cannot.) */
	if (!sup.dir)
		setpgid(0, 0);

	static struct spec s;
	const char *problem = read_spec(spec_path, &s);
	if (!problem && s.exec_pid)
		problem = "a container spec has no pid";
	if (problem) {
		status("error %d invalid container spec %s: %s", EXIT_SETUP, spec_path, problem);
		return EXIT_SETUP;
	}
	/* Built here, once: a supervisor's restarts load the same filter. */
	if ((problem = seccomp_prepare(&s))) {
		status("error %d %s", EXIT_SETUP, problem);
		return EXIT_SETUP;
	}
	s.env[s.nenv] = NULL;
	s.argv[s.nargv] = NULL;
	if (sup.dir)
		return supervise(&s, &sup);
	return run_foreground(&s);
}

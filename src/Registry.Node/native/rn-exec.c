/* rn-init --exec SPEC: a process in a running container's namespaces and cgroup (registry-node exec). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rn-init.h"

/*
 * rn-init --exec SPEC: joins the namespaces of the container's pid 1 (the spec's "pid"), as
 * runc exec does: the pid namespace here (it applies to children), then the child joins the
 * cgroup and the other namespaces, mount last, takes the user and capabilities and execs. The
 * child inherits this process's stdin, stdout and stderr; this process waits and exits as it did.
 */
int exec_main(const char *spec_path)
{
	static struct spec s;
	const char *problem = read_spec(spec_path, &s);
	if (!problem && !s.exec_pid)
		problem = "the spec has no pid";
	if (problem) {
		fprintf(stderr, "rn-init: invalid exec spec %s: %s\n", spec_path, problem);
		return EXIT_SETUP;
	}
	if ((problem = seccomp_prepare(&s))) {
		fprintf(stderr, "rn-init: %s\n", problem);
		return EXIT_SETUP;
	}
	s.env[s.nenv] = NULL;
	s.argv[s.nargv] = NULL;

	/* Opened before any setns: /proc is the host's only until the mount namespace changes. */
	static const struct {
		const char *name;
		int type;
	} namespaces[] = {
		{"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
		{"net", CLONE_NEWNET}, {"mnt", CLONE_NEWNS}, {"pid", CLONE_NEWPID},
	};
	int fds[6];
	for (int i = 0; i < 6; i++) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)s.exec_pid, namespaces[i].name);
		if ((fds[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			fprintf(stderr, "rn-init: the container is not running (%s: %s)\n", path, strerror(errno));
			return EXIT_SETUP;
		}
	}
	/* Remapped, the process joins the container's user namespace last, as pid 1 did. */
	if (s.userns_count) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/ns/user", (int)s.exec_pid);
		if ((userns_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			fprintf(stderr, "rn-init: the container is not running (%s: %s)\n", path, strerror(errno));
			return EXIT_SETUP;
		}
	}
	if (setns(fds[5], CLONE_NEWPID) < 0) {
		fprintf(stderr, "rn-init: join the pid namespace: %s\n", strerror(errno));
		return EXIT_SETUP;
	}
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		fprintf(stderr, "rn-init: pipe: %s\n", strerror(errno));
		return EXIT_SETUP;
	}
	sigset_t old;
	block_forwarded(&old);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "rn-init: fork: %s\n", strerror(errno));
		return EXIT_SETUP;
	}
	if (pid == 0) {
		close(pipefd[0]);
		error_fd = pipefd[1];
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
			FAIL_ERRNO("set the parent-death signal");
		join_cgroups(&s); /* through the host's /sys/fs/cgroup: before the mount namespace changes */
		for (int i = 0; i < 5; i++)
			if (setns(fds[i], namespaces[i].type) < 0)
				FAIL_ERRNO("join the container's %s namespace", namespaces[i].name);
		set_user_and_capabilities(&s);
		exec_command(&s);
	}
	close(pipefd[1]);
	child_pid = pid;
	install_forwarding();
	sigprocmask(SIG_SETMASK, &old, NULL);

	char message[4096];
	size_t got = read_failure(pipefd[0], message, sizeof message);
	int wstatus;
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	if (got > 0) {
		char *text;
		int code = failure_code(message, &text);
		fprintf(stderr, "registry-node: exec failed: %s\n", text);
		return code;
	}
	return WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : WEXITSTATUS(wstatus);
}


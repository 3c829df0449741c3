/*
 * User-namespace remapping (userns_uid, userns_gid, userns_count in the spec): the container's
 * uid and gid 0 .. count-1 are the host's userns_uid.. and userns_gid.., so its root is an
 * unprivileged user on the host.
 *
 * How the namespaces are made. The monitor forks a helper that unshares a user namespace; the
 * monitor, root on the host, writes its uid_map and gid_map; the helper then unshares network,
 * UTS and IPC namespaces, which the new user namespace owns, and the monitor keeps descriptors of
 * all four. The container's process, still the host's root, joins those three (so capabilities the
 * container holds count there: binding port 80, raw sockets), makes its mount and cgroup
 * namespaces and sets up everything as before — the pid namespace, the mounts, the bridge's veth
 * and the hostname need the host's root — and joins the user namespace last, right before it takes
 * its user and capabilities, which then mean what they mean inside.
 *
 * The image's files. The snapshots stay as they are on disk (owned by the host's 0 and image
 * users): each lower layer is an idmapped mount (open_tree + mount_setattr MOUNT_ATTR_IDMAP with
 * the container's user namespace, Linux 5.19 for overlayfs), which shows it shifted into the
 * range, and the overlay is made of those. The upper directory is not idmapped: what the
 * container writes is owned on disk by the host ids it runs as, as with docker's userns-remap.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rn-init.h"

int userns_fd = -1;

static const char *failed_errno(char *out, size_t size, const char *what)
{
	snprintf(out, size, "user namespace: %s: %s", what, strerror(errno));
	return out;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

const char *userns_create(const struct spec *s, struct userns_set *out, char *error, size_t size)
{
	int to_helper[2], from_helper[2];
	if (pipe2(to_helper, O_CLOEXEC) < 0 || pipe2(from_helper, O_CLOEXEC) < 0)
		return failed_errno(error, size, "pipe");
	pid_t helper = fork();
	if (helper < 0)
		return failed_errno(error, size, "fork");
	if (helper == 0) {
		char go;
		close(to_helper[1]);
		close(from_helper[0]);
		int ok = unshare(CLONE_NEWUSER) == 0;
		if (!ok || write(from_helper[1], "u", 1) != 1 || read(to_helper[0], &go, 1) != 1)
			_exit(1);
		int flags = CLONE_NEWUTS | CLONE_NEWIPC | (s->network && strcmp(s->network, "host") ? CLONE_NEWNET : 0);
		if (unshare(flags) < 0 || write(from_helper[1], "n", 1) != 1)
			_exit(1);
		(void)!read(to_helper[0], &go, 1); /* until the monitor holds the namespaces */
		_exit(0);
	}
	close(to_helper[0]);
	close(from_helper[1]);
	const char *problem = NULL;
	char step, path[64], map[96];
	if (read(from_helper[0], &step, 1) != 1)
		problem = "the helper could not unshare a user namespace (are user namespaces enabled?)";
	snprintf(map, sizeof map, "0 %lu %lu\n", (unsigned long)s->userns_uid, (unsigned long)s->userns_count);
	snprintf(path, sizeof path, "/proc/%d/uid_map", (int)helper);
	if (!problem && write_file(path, map) < 0)
		problem = failed_errno(error, size, "write uid_map");
	snprintf(map, sizeof map, "0 %lu %lu\n", (unsigned long)s->userns_gid, (unsigned long)s->userns_count);
	snprintf(path, sizeof path, "/proc/%d/gid_map", (int)helper);
	if (!problem && write_file(path, map) < 0)
		problem = failed_errno(error, size, "write gid_map");
	if (!problem && (write(to_helper[1], "m", 1) != 1 || read(from_helper[0], &step, 1) != 1))
		problem = "the helper could not unshare its namespaces";
	static const char *names[] = {"user", "net", "uts", "ipc"};
	int *fds[] = {&out->user, &out->net, &out->uts, &out->ipc};
	for (int i = 0; i < 4; i++) {
		*fds[i] = -1;
		if (problem || (i == 1 && s->network && !strcmp(s->network, "host")))
			continue;
		snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)helper, names[i]);
		if ((*fds[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			problem = failed_errno(error, size, path);
	}
	close(to_helper[1]); /* the helper reads EOF and exits */
	close(from_helper[0]);
	while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
		;
	if (problem)
		userns_close(out);
	return problem;
}

void userns_close(struct userns_set *set)
{
	int *fds[] = {&set->user, &set->net, &set->uts, &set->ipc};
	for (int i = 0; i < 4; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* In the container's process: its network, UTS and IPC namespaces are the user namespace's. */
void userns_join_namespaces(const struct userns_set *set)
{
	if (set->net >= 0 && setns(set->net, CLONE_NEWNET) < 0)
		FAIL_ERRNO("join the container's network namespace");
	if (setns(set->uts, CLONE_NEWUTS) < 0 || setns(set->ipc, CLONE_NEWIPC) < 0)
		FAIL_ERRNO("join the container's UTS and IPC namespaces");
	userns_fd = set->user;
}

void userns_enter(void)
{
	if (userns_fd < 0)
		return;
	if (setns(userns_fd, CLONE_NEWUSER) < 0)
		FAIL_ERRNO("join the container's user namespace");
	close(userns_fd);
	userns_fd = -1;
}

/*
 * Mounts each lower layer, idmapped with the container's user namespace, on DIR/0, DIR/1, ...
 * (DIR a fresh tmpfs in the container's mount namespace); the overlay is then made of those.
 */
void userns_idmapped_lowers(const struct spec *s, const char *dir)
{
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=700,size=64k") < 0)
		FAIL_ERRNO("mount the layers' staging tmpfs");
	int staging = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int base = open(s->overlay_base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (staging < 0 || base < 0)
		FAIL_ERRNO("open the layers");
	struct mount_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.attr_set = MOUNT_ATTR_IDMAP;
	attr.userns_fd = (uint64_t)userns_fd;
	for (int i = 0; i < s->nlowers; i++) {
		char name[16];
		snprintf(name, sizeof name, "%d", i);
		int tree = (int)syscall(SYS_open_tree, base, s->lowers[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (tree < 0)
			FAIL_ERRNO("clone the mount of layer %s", s->lowers[i]);
		if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
			FAIL_ERRNO("idmap layer %s (needs Linux 5.19 or later and a file system that supports idmapped mounts)", s->lowers[i]);
		if (mkdirat(staging, name, 0700) < 0 ||
		    syscall(SYS_move_mount, tree, "", staging, name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			FAIL_ERRNO("mount the idmapped layer %s", s->lowers[i]);
		close(tree);
	}
	close(base);
	close(staging);
}

/*
 * The container's file system, built inside its new mount namespace: the overlay root, /proc,
 * /dev, /sys, the volumes, pivot_root, the masked paths and the working directory. Every mount
 * target is opened one component at a time with O_NOFOLLOW from the root filesystem: the image
 * owns that tree, and a symlink in it must never make us mount over the host's directories.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rn-init.h"

/*
 * Opens RELATIVE (e.g. "dev/pts") under ROOTFD one component at a time with O_NOFOLLOW,
 * creating missing directories. The image owns the root filesystem: a "proc -> /" symlink in a
 * layer must not make us mount over the host's directories, so mounts go to the directory this
 * returns (through /proc/self/fd/N), never to a path the kernel would resolve through symlinks.
 */
static int open_dir_in_root(int rootfd, const char *relative)
{
	char copy[PATH_MAX];
	snprintf(copy, sizeof copy, "%s", relative);
	int dir = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
	char *save = NULL;
	for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		if (!strcmp(part, "..") || !strcmp(part, "."))
			fail(EXIT_SETUP, "mount target %s has a '.' or '..' component", relative);
		int next = openat(dir, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(dir, part, 0755) < 0 && errno != EEXIST)
				FAIL_ERRNO("create /%s in the root filesystem", relative);
			next = openat(dir, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0)
			fail(EXIT_SETUP, "/%s in the image is not a directory (a symlink or a file?): %s", relative, strerror(errno));
		close(dir);
		dir = next;
	}
	return dir;
}

static void mount_in_root(int rootfd, const char *target, const char *source, const char *type,
			  unsigned long flags, const char *data)
{
	int fd = open_dir_in_root(rootfd, target);
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	if (mount(source, path, type, flags, data) < 0)
		FAIL_ERRNO("mount %s on /%s", type, target);
	close(fd);
}

/*
 * The minimal devices, bind-mounted from the host onto empty files in the container's /dev.
 * Binds rather than mknod because /dev and the root filesystem are mounted nodev: there is no
 * devices cgroup here to stop a container with CAP_MKNOD (docker's default set keeps it) from
 * making /dev/sda and reading the host's disk, so device nodes made inside must not open.
 * A bind mount is a mount of its own, without the parent's nodev, so these six still work.
 */
static void make_devices(int rootfd)
{
	static const char *devices[] = {"null", "zero", "full", "random", "urandom", "tty"};
	static const struct {
		const char *name, *target;
	} links[] = {
		{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
		{"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"}, {"core", "/proc/kcore"},
	};
	int dev = open_dir_in_root(rootfd, "dev");
	for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) {
		char host[64], target[64];
		int fd = openat(dev, devices[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd < 0)
			FAIL_ERRNO("create /dev/%s", devices[i]);
		snprintf(host, sizeof host, "/dev/%s", devices[i]);
		snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
		if (mount(host, target, NULL, MS_BIND, NULL) < 0)
			FAIL_ERRNO("bind the host's %s", host);
		close(fd);
	}
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
		if (symlinkat(links[i].target, dev, links[i].name) < 0)
			FAIL_ERRNO("create /dev/%s", links[i].name);
	close(dev);
}

/* ---- volumes: -v NAME:/path, -v /host:/path[:ro], --tmpfs /path ---------------------------- */

/* Like open_dir_in_root, for a file target (a bind-mounted file such as /etc/hosts): created
 * empty when missing, refused when the image made it a symlink or anything but a regular file. */
static int open_file_in_root(int rootfd, const char *relative)
{
	char parent[PATH_MAX];
	snprintf(parent, sizeof parent, "%s", relative);
	char *slash = strrchr(parent, '/');
	const char *name = slash ? slash + 1 : parent;
	int dir = slash ? (*slash = '\0', open_dir_in_root(rootfd, parent)) : fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
	if (!strcmp(name, "..") || !strcmp(name, "."))
		fail(EXIT_SETUP, "mount target /%s has a '.' or '..' component", relative);
	int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		int created = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (created < 0)
			FAIL_ERRNO("create /%s in the root filesystem", relative);
		close(created);
		fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	}
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		fail(EXIT_SETUP, "/%s in the image is not a regular file (a symlink?), cannot mount a file on it", relative);
	close(dir);
	return fd;
}

static int has_option(const char *options, const char *wanted)
{
	size_t len = strlen(wanted);
	for (const char *p = options; *p;) {
		size_t n = strcspn(p, ",");
		if (n == len && !strncmp(p, wanted, len))
			return 1;
		p += n + (p[n] == ',');
	}
	return 0;
}

/* OWNER: "" or ",uid=U,gid=G", the tmpfs' owner for a remapped container. */
static void mount_volume(int root, const struct volume_mount *m, const char *owner)
{
	const char *target = m->target + strspn(m->target, "/");
	int readonly = has_option(m->options, "ro");
	char path[64];
	if (!strcmp(m->kind, "tmpfs")) {
		/* The options other than ro are tmpfs' own (size=, mode=); registry-node allows only those. */
		char data[256];
		size_t used = 0;
		data[0] = '\0';
		for (const char *p = m->options; *p;) {
			size_t n = strcspn(p, ",");
			if (!(n == 2 && !strncmp(p, "ro", 2)))
				used += (size_t)snprintf(data + used, sizeof data - used, "%s%.*s", used ? "," : "", (int)n, p);
			p += n + (p[n] == ',');
			if (used >= sizeof data)
				fail(EXIT_SETUP, "tmpfs options for %s are too long", m->target);
		}
		used += (size_t)snprintf(data + used, sizeof data - used, "%s", used ? owner : owner + (*owner == ','));
		if (used >= sizeof data)
			fail(EXIT_SETUP, "tmpfs options for %s are too long", m->target);
		int fd = open_dir_in_root(root, target);
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | (readonly ? MS_RDONLY : 0), data) < 0)
			FAIL_ERRNO("mount a tmpfs on %s", m->target);
		close(fd);
		return;
	}
	/* The source is the host's (a path given to -v, or a volume of the node's): resolved as given. */
	struct stat st;
	if (stat(m->source, &st) < 0)
		FAIL_ERRNO("bind source path %s", m->source);
	int directory = S_ISDIR(st.st_mode);
	int fd = directory ? open_dir_in_root(root, target) : open_file_in_root(root, target);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	if (mount(m->source, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		FAIL_ERRNO("bind-mount %s on %s", m->source, m->target);
	close(fd);
	/* Always nodev: the bind keeps the host mount's flags, and with CAP_MKNOD and no devices cgroup
	 * a node made in a volume (mknod sda) would open the host's device. Flags other than MS_REC are
	 * ignored on the bind itself: remount the new mount (keeping its nosuid, noexec, ro), reached by
	 * opening the target again (the old descriptor still names the directory underneath). */
	fd = directory ? open_dir_in_root(root, target) : open_file_in_root(root, target);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct statvfs sv;
	if (fstatvfs(fd, &sv) < 0)
		FAIL_ERRNO("inspect the mount on %s", m->target);
	unsigned long kept = (sv.f_flag & ST_NOSUID ? MS_NOSUID : 0) | (sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0) |
			     (sv.f_flag & ST_RDONLY ? MS_RDONLY : 0);
	if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_NODEV | kept | (readonly ? MS_RDONLY | MS_NOSUID : 0), NULL) < 0)
		FAIL_ERRNO("make %s nodev%s", m->target, readonly ? " and read-only" : "");
	close(fd);
}

void setup_rootfs(const struct spec *s)
{
	/* Lower dirs relative to overlay_base keep the option string short for many layers; remapped,
	 * the layers are idmapped mounts on 0, 1, ... in a staging tmpfs on the mount point itself. */
	static char options[65536];
	size_t used = (size_t)snprintf(options, sizeof options, "lowerdir=");
	for (int i = 0; i < s->nlowers; i++) {
		if (s->userns_count)
			used += (size_t)snprintf(options + used, sizeof options - used, "%s%d", i ? ":" : "", i);
		else
			used += (size_t)snprintf(options + used, sizeof options - used, "%s%s", i ? ":" : "", s->lowers[i]);
	}
	used += (size_t)snprintf(options + used, sizeof options - used, ",upperdir=%s,workdir=%s", s->upper, s->work);
	if (used >= sizeof options)
		fail(EXIT_SETUP, "overlay options too long");
	if (s->userns_count) {
		userns_idmapped_lowers(s, s->rootfs);
		/* The container's root directory is the upper one's: its root owns it, as with docker's userns-remap. */
		if (chown(s->upper, s->userns_uid, s->userns_gid) < 0)
			FAIL_ERRNO("give the upper directory to the container's root");
	}
	if (chdir(s->userns_count ? s->rootfs : s->overlay_base) < 0)
		FAIL_ERRNO("chdir to the layers");
	if (mount("overlay", s->rootfs, "overlay", MS_NODEV, options) < 0)
		FAIL_ERRNO("mount the overlay root filesystem (is overlayfs available?)");

	/* Remapped, the tmpfs mounts belong to the container's root and /dev/pts' tty group is its 5. */
	char owner[64] = "", dev_options[128], pts_options[128];
	if (s->userns_count)
		snprintf(owner, sizeof owner, ",uid=%lu,gid=%lu", (unsigned long)s->userns_uid, (unsigned long)s->userns_gid);
	snprintf(dev_options, sizeof dev_options, "mode=755,size=65536k%s", owner);
	snprintf(pts_options, sizeof pts_options, "newinstance,ptmxmode=0666,mode=0620,gid=%lu",
		 (unsigned long)(s->userns_count ? s->userns_gid + 5 : 5));

	int root = open(s->rootfs, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0)
		FAIL_ERRNO("open the root filesystem");
	unsigned long common = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	mount_in_root(root, "proc", "proc", "proc", common, NULL);
	mount_in_root(root, "dev", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV | MS_STRICTATIME, dev_options);
	make_devices(root);
	mount_in_root(root, "dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC, pts_options);
	mount_in_root(root, "dev/shm", "shm", "tmpfs", common, "mode=1777,size=65536k");
	mount_in_root(root, "dev/mqueue", "mqueue", "mqueue", common, NULL);
	/* A fresh sysfs shows the container's network namespace (or the host's with --network host). */
	mount_in_root(root, "sys", "sysfs", "sysfs", common | MS_RDONLY, NULL);
	for (int i = 0; i < s->nmounts; i++)
		mount_volume(root, &s->mounts[i], owner);
	close(root);
}

void enter_rootfs(const struct spec *s)
{
	/* pivot_root, not chroot: the host's tree is unmounted from this namespace, not just hidden. */
	if (chdir(s->rootfs) < 0)
		FAIL_ERRNO("chdir to the root filesystem");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		FAIL_ERRNO("pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		FAIL_ERRNO("detach the old root");
	if (chdir("/") < 0)
		FAIL_ERRNO("chdir /");
}

/* The paths runc masks and makes read-only by default (kernel internals, host information). */
void mask_paths(void)
{
	static const char *masked[] = {
		"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware", "/sys/devices/virtual/powercap",
	};
	static const char *readonly[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
	for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++) {
		struct stat st;
		if (lstat(masked[i], &st) < 0)
			continue; /* not on this kernel */
		int r = S_ISDIR(st.st_mode)
				? mount("tmpfs", masked[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0")
				: mount("/dev/null", masked[i], NULL, MS_BIND, NULL);
		if (r < 0)
			FAIL_ERRNO("mask %s", masked[i]);
	}
	for (size_t i = 0; i < sizeof readonly / sizeof readonly[0]; i++) {
		if (access(readonly[i], F_OK) < 0)
			continue;
		if (mount(readonly[i], readonly[i], NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount(readonly[i], readonly[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
			FAIL_ERRNO("make %s read-only", readonly[i]);
	}
}

void make_workdir(const struct spec *s)
{
	/* Like docker: a WORKDIR the image lacks is created (as root, before the user changes; remapped,
	 * owned by the container's root). */
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s", s->cwd);
	for (char *p = path + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;
			*p = '\0';
			if (mkdir(path, 0755) == 0) {
				if (s->userns_count && chown(path, s->userns_uid, s->userns_gid) < 0)
					FAIL_ERRNO("give the working directory %s to the container's root", path);
			} else if (errno != EEXIST) {
				FAIL_ERRNO("create the working directory %s", path);
			}
			*p = saved;
			if (!saved)
				break;
		}
	}
}

/*
 * --read-only: the root mount becomes read-only, after the working directory and every mount target
 * were made. A bind remount sets all of the mount's flags, so its others (nodev, ...) are kept.
 * /dev, /dev/shm, /proc, /sys, the volumes and tmpfs mounts are mounts of their own: unchanged.
 */
void make_rootfs_readonly(void)
{
	static const struct {
		unsigned long st, ms;
	} kept[] = {
		{ST_NOSUID, MS_NOSUID}, {ST_NODEV, MS_NODEV}, {ST_NOEXEC, MS_NOEXEC},
		{ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME},
	};
	struct statvfs st;
	if (statvfs("/", &st) < 0)
		FAIL_ERRNO("read the root filesystem's mount flags");
	unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
	for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
		if (st.f_flag & kept[i].st)
			flags |= kept[i].ms;
	if (mount(NULL, "/", NULL, flags, NULL) < 0)
		FAIL_ERRNO("make the root filesystem read-only");
}

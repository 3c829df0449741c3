/*
 * rn-init: registry-node's container init helper.
 *
 * Why a helper of our own. The CLR is multithreaded; fork() from it may only be followed by
 * exec, so the namespace and mount set-up has to run in a separate single-threaded process
 * (runc has the same problem with Go and solves it with nsexec, C that runs before the Go
 * runtime). util-linux's unshare/nsenter would do part of it, but:
 *   - order of operations: the container needs join-cgroup -> new namespaces -> private mounts
 *     -> overlay -> /proc,/dev,/sys -> pivot_root -> hostname -> masked paths -> no_new_privs
 *     -> user and capabilities -> exec, in that order, in one process that then IS pid 1;
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
 * --supervise makes the monitor a detached container's supervisor (see "detached containers"
 * below and docs/runtime.md); --exec runs a process in a running container (see "exec" below).
 *
 * SPEC_FILE holds NUL-terminated "key=value" entries written by registry-node (Runtime/InitSpec.cs):
 *   rootfs, overlay_base, lower (repeated, top layer first, relative to overlay_base), upper, work,
 *   hostname, uid, gid, group (repeated), env (repeated), cwd, arg (repeated), cap (repeated,
 *   the capabilities kept), network (none|host|bridge), cgroup (repeated: cgroup directories to join);
 *   with network=bridge: bridge_netns, bridge_name, bridge_veth, bridge_address, bridge_gateway
 *   (rn-net.c); volumes: mount (bind|tmpfs; starts an entry) followed by its mount_source,
 *   mount_target and mount_options (comma-separated: "ro", and for tmpfs its size= and mode=);
 *   for --exec: pid (the container's pid 1 on the host), uid, gid, group, env, cwd, arg, cap, cgroup.
 *
 * Other modes (rn-net.c): rn-init --bridge NETNS BRIDGE ADDR/PREFIX, rn-init --forward NETNS STATUS_FD PORT=IP:PORT...
 *
 * Processes: this process stays as the container's monitor (outside every new namespace but
 * the ones it never enters); its child becomes pid 1 of a new pid namespace and execs the
 * image's command. The monitor forwards signals to it, waits for it and reports on STATUS_FD,
 * one line each:
 *   "started <host pid>"   exec succeeded
 *   "error <code> <text>"  set-up or exec failed; the monitor exits with <code>
 *   "exited <code>"        the container's process returned <code>; the monitor exits with it
 *   "signaled <signal>"    it was killed by <signal>; the monitor exits with 128 + <signal>
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rn-net.h"

#define EXIT_SETUP 125
#define EXIT_CANNOT_INVOKE 126
#define EXIT_NOT_FOUND 127

#define MAX_LOWERS 500
#define MAX_LIST 4096
#define MAX_GROUPS 256
#define MAX_CGROUPS 32
#define MAX_MOUNTS 128

struct volume_mount {
	const char *kind, *source, *target, *options;
};

struct spec {
	const char *rootfs, *overlay_base, *upper, *work, *hostname, *cwd, *network;
	const char *lowers[MAX_LOWERS];
	int nlowers;
	char *env[MAX_LIST + 1];
	int nenv;
	char *argv[MAX_LIST + 1];
	int nargv;
	gid_t groups[MAX_GROUPS];
	int ngroups;
	const char *cgroups[MAX_CGROUPS];
	int ncgroups;
	uid_t uid;
	gid_t gid;
	uint64_t keep_caps;
	pid_t exec_pid; /* --exec: the container's pid 1 whose namespaces to join */
	struct rn_bridge_attach bridge;
	struct volume_mount mounts[MAX_MOUNTS];
	int nmounts;
};

/* ---- reporting ------------------------------------------------------------------------- */

static int status_fd = -1;
static int error_fd = -1; /* in the child: the write end of the error pipe */

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void status(const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	write_all(status_fd, line, (size_t)n);
}

/* The child's failure: "<code>\t<message>" on the error pipe, then exit. */
static void fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void fail(int code, const char *fmt, ...)
{
	char message[3000], line[3100];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	int n = snprintf(line, sizeof line, "%d\t%s", code, message);
	if (n > 0)
		write_all(error_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
	_exit(code);
}

#define FAIL_ERRNO(what, ...) fail(EXIT_SETUP, what ": %s", ##__VA_ARGS__, strerror(errno))

/* ---- spec ------------------------------------------------------------------------------ */

static int parse_number(const char *text, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long value = strtoul(text, &end, 10);
	if (errno || end == text || *end || value > max)
		return -1;
	*out = value;
	return 0;
}

static const char *check_exec_spec(const struct spec *s);

/* Returns NULL or a description of what is wrong. */
static const char *read_spec(const char *path, struct spec *s)
{
	static char buf[1 << 20];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return "cannot open the spec file";
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return "cannot read the spec file";
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof buf - 1) {
			close(fd);
			return "the spec file is too large";
		}
	}
	close(fd);
	buf[len] = '\0';

	memset(s, 0, sizeof *s);
	s->uid = (uid_t)-1;
	s->gid = (gid_t)-1;
	for (char *p = buf, *next; p < buf + len; p = next) {
		next = p + strlen(p) + 1;
		char *eq = strchr(p, '=');
		if (!eq)
			return "a spec entry has no '='";
		*eq = '\0';
		char *v = eq + 1;
		unsigned long n;
		if (!strcmp(p, "rootfs"))
			s->rootfs = v;
		else if (!strcmp(p, "overlay_base"))
			s->overlay_base = v;
		else if (!strcmp(p, "upper"))
			s->upper = v;
		else if (!strcmp(p, "work"))
			s->work = v;
		else if (!strcmp(p, "hostname"))
			s->hostname = v;
		else if (!strcmp(p, "cwd"))
			s->cwd = v;
		else if (!strcmp(p, "network"))
			s->network = v;
		else if (!strcmp(p, "lower")) {
			if (s->nlowers == MAX_LOWERS)
				return "too many layers";
			s->lowers[s->nlowers++] = v;
		} else if (!strcmp(p, "env")) {
			if (s->nenv == MAX_LIST)
				return "too many environment variables";
			s->env[s->nenv++] = v;
		} else if (!strcmp(p, "arg")) {
			if (s->nargv == MAX_LIST)
				return "too many arguments";
			s->argv[s->nargv++] = v;
		} else if (!strcmp(p, "cgroup")) {
			if (s->ncgroups == MAX_CGROUPS)
				return "too many cgroup directories";
			s->cgroups[s->ncgroups++] = v;
		} else if (!strcmp(p, "bridge_netns")) {
			s->bridge.netns = v;
		} else if (!strcmp(p, "bridge_name")) {
			s->bridge.bridge = v;
		} else if (!strcmp(p, "bridge_veth")) {
			s->bridge.host_veth = v;
		} else if (!strcmp(p, "bridge_address")) {
			s->bridge.address = v;
		} else if (!strcmp(p, "bridge_gateway")) {
			s->bridge.gateway = v;
		} else if (!strcmp(p, "mount")) {
			if (s->nmounts == MAX_MOUNTS)
				return "too many mounts";
			s->mounts[s->nmounts++] = (struct volume_mount){.kind = v, .options = ""};
		} else if (!strncmp(p, "mount_", 6)) {
			if (s->nmounts == 0)
				return "a mount_ entry before its mount";
			struct volume_mount *m = &s->mounts[s->nmounts - 1];
			if (!strcmp(p, "mount_source"))
				m->source = v;
			else if (!strcmp(p, "mount_target"))
				m->target = v;
			else if (!strcmp(p, "mount_options"))
				m->options = v;
			else
				return "unknown spec key";
		} else if (!strcmp(p, "uid")) {
			if (parse_number(v, UINT32_MAX - 1, &n))
				return "bad uid";
			s->uid = (uid_t)n;
		} else if (!strcmp(p, "gid")) {
			if (parse_number(v, UINT32_MAX - 1, &n))
				return "bad gid";
			s->gid = (gid_t)n;
		} else if (!strcmp(p, "group")) {
			if (s->ngroups == MAX_GROUPS || parse_number(v, UINT32_MAX - 1, &n))
				return "bad or too many additional groups";
			s->groups[s->ngroups++] = (gid_t)n;
		} else if (!strcmp(p, "pid")) {
			if (parse_number(v, INT_MAX, &n) || n < 2)
				return "bad pid";
			s->exec_pid = (pid_t)n;
		} else if (!strcmp(p, "cap")) {
			if (parse_number(v, 63, &n))
				return "bad capability number";
			s->keep_caps |= 1ULL << n;
		} else {
			return "unknown spec key";
		}
	}
	/* Validate everything before touching the system. */
	if (s->exec_pid)
		return check_exec_spec(s);
	if (!s->rootfs || !s->overlay_base || !s->upper || !s->work || s->nlowers == 0)
		return "the spec lacks the root filesystem";
	if (!s->hostname || !s->cwd || s->cwd[0] != '/' || s->nargv == 0)
		return "the spec lacks hostname, an absolute cwd or the command";
	if (s->uid == (uid_t)-1 || s->gid == (gid_t)-1)
		return "the spec lacks uid or gid";
	if (!s->network || (strcmp(s->network, "none") && strcmp(s->network, "host") && strcmp(s->network, "bridge")))
		return "network must be none, host or bridge";
	if (!strcmp(s->network, "bridge") &&
	    (!s->bridge.netns || !s->bridge.bridge || !s->bridge.host_veth || !s->bridge.address || !s->bridge.gateway))
		return "network bridge lacks its namespace, bridge, veth, address or gateway";
	for (int i = 0; i < s->nmounts; i++) {
		const struct volume_mount *m = &s->mounts[i];
		if (!m->target || m->target[0] != '/' || !m->target[strspn(m->target, "/")])
			return "a mount lacks an absolute target other than /";
		if (strcmp(m->kind, "tmpfs") && (strcmp(m->kind, "bind") || !m->source || m->source[0] != '/'))
			return "a mount is neither tmpfs nor a bind mount of an absolute source";
	}
	return NULL;
}

static const char *spec_env(const struct spec *s, const char *name)
{
	size_t len = strlen(name);
	for (int i = 0; i < s->nenv; i++)
		if (!strncmp(s->env[i], name, len) && s->env[i][len] == '=')
			return s->env[i] + len + 1;
	return NULL;
}

/* ---- container init: the steps, in order ----------------------------------------------- */

static void join_cgroups(const struct spec *s)
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

static void mount_volume(int root, const struct volume_mount *m)
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

static void setup_rootfs(const struct spec *s)
{
	/* Lower dirs relative to overlay_base keep the option string short for many layers. */
	static char options[65536];
	size_t used = (size_t)snprintf(options, sizeof options, "lowerdir=");
	for (int i = 0; i < s->nlowers; i++)
		used += (size_t)snprintf(options + used, sizeof options - used, "%s%s", i ? ":" : "", s->lowers[i]);
	used += (size_t)snprintf(options + used, sizeof options - used, ",upperdir=%s,workdir=%s", s->upper, s->work);
	if (used >= sizeof options)
		fail(EXIT_SETUP, "overlay options too long");
	if (chdir(s->overlay_base) < 0)
		FAIL_ERRNO("chdir to %s", s->overlay_base);
	if (mount("overlay", s->rootfs, "overlay", MS_NODEV, options) < 0)
		FAIL_ERRNO("mount the overlay root filesystem (is overlayfs available?)");

	int root = open(s->rootfs, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0)
		FAIL_ERRNO("open the root filesystem");
	unsigned long common = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	mount_in_root(root, "proc", "proc", "proc", common, NULL);
	mount_in_root(root, "dev", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV | MS_STRICTATIME, "mode=755,size=65536k");
	make_devices(root);
	mount_in_root(root, "dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
		      "newinstance,ptmxmode=0666,mode=0620,gid=5");
	mount_in_root(root, "dev/shm", "shm", "tmpfs", common, "mode=1777,size=65536k");
	mount_in_root(root, "dev/mqueue", "mqueue", "mqueue", common, NULL);
	/* A fresh sysfs shows the container's network namespace (or the host's with --network host). */
	mount_in_root(root, "sys", "sysfs", "sysfs", common | MS_RDONLY, NULL);
	for (int i = 0; i < s->nmounts; i++)
		mount_volume(root, &s->mounts[i]);
	close(root);
}

static void enter_rootfs(const struct spec *s)
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
static void mask_paths(void)
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

static void make_workdir(const char *cwd)
{
	/* Like docker: a WORKDIR the image lacks is created (as root, before the user changes). */
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s", cwd);
	for (char *p = path + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;
			*p = '\0';
			if (mkdir(path, 0755) < 0 && errno != EEXIST)
				FAIL_ERRNO("create the working directory %s", path);
			*p = saved;
			if (!saved)
				break;
		}
	}
}

static void set_user_and_capabilities(const struct spec *s)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		FAIL_ERRNO("set no_new_privs");
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

static void exec_command(const struct spec *s)
{
	if (chdir(s->cwd) < 0)
		FAIL_ERRNO("chdir to the working directory %s", s->cwd);
	char buf[PATH_MAX];
	const char *file = find_executable(s, buf, sizeof buf);
	umask(022);
	execve(file, s->argv, s->env);
	int code = errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_INVOKE;
	fail(code, "exec: \"%s\": %s", file, strerror(errno));
}

static void container_init(const struct spec *s)
{
	/* Back to defaults: the monitor's signal dispositions must not leak into the container. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		FAIL_ERRNO("set the parent-death signal");
	umask(0);

	join_cgroups(s); /* first, so that everything after is accounted */
	int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
	if (strcmp(s->network, "host"))
		flags |= CLONE_NEWNET;
	if (unshare(flags) < 0)
		FAIL_ERRNO("create namespaces");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		FAIL_ERRNO("make mounts private");
	if (flags & CLONE_NEWNET)
		loopback_up();
	if (!strcmp(s->network, "bridge") && rn_attach_veth(&s->bridge) < 0)
		fail(EXIT_SETUP, "bridge network: %s", rn_net_error());
	setup_rootfs(s);
	enter_rootfs(s);
	if (sethostname(s->hostname, strlen(s->hostname)) < 0)
		FAIL_ERRNO("sethostname");
	mask_paths();
	make_workdir(s->cwd);
	set_user_and_capabilities(s);
	exec_command(s);
}

/* ---- the monitor ----------------------------------------------------------------------- */

static volatile sig_atomic_t child_pid;

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

/* ---- detached containers: the supervising monitor (run -d, start) ------------------------ */

/*
 * With --supervise DIR the monitor is the container's supervisor, as conmon or containerd's
 * shim are for runc: it leaves registry-node's session (setsid, stdio on /dev/null), writes the
 * container's stdout and stderr into DIR/container.log itself, owns DIR/state.json while it
 * lives, restarts the container as the policy says, and removes the cgroup when it is done.
 * With --hold-fd FD it keeps FD, the write end of the port forwarder's stdin, open across
 * restarts and never writes to it: when the supervisor ends (the container's end, stop, rm -f,
 * a SIGKILL) the kernel closes it and the forwarder, reading EOF, ends too.
 * registry-node only waits for the first "started" (or "error") line and returns; with
 * --report-first-exit (a foreground run -i with a restart policy, as docker run attaches until
 * the first exit) the supervisor also writes "log-end LENGTH" (the log's length after that run's
 * last line) and the first "exited N" or "signaled S" line, after the state and the log. With --then-arg ARG... the supervisor, once it is done and
 * has written its last state, execs that command (registry-node rm ID: run -d --rm).
 */

enum restart_policy { RESTART_NO, RESTART_ON_FAILURE, RESTART_ALWAYS };

struct supervision {
	const char *dir;
	enum restart_policy restart;
	unsigned long max_restarts; /* on-failure: 0 = no limit */
	int hold_fd; /* --hold-fd: the write end of the port forwarder's stdin, -1 if none */
	int report_first_exit;
	char *then_argv[17]; /* --then-arg: the command to exec at the end, NULL-terminated */
	int then_argc;
};

/*
 * The first exit's line on the status pipe, then the pipe closes. registry-node may be gone (a
 * ^C, a kill): the write then fails with EPIPE, and the SIGPIPE it raises is taken here, blocked
 * and discarded, rather than ignored for good, which the container's processes would inherit.
 */
static void report_first_exit(int fd, int wstatus, int log_fd)
{
	char line[128];
	long long log_end = log_fd >= 0 ? (long long)lseek(log_fd, 0, SEEK_END) : -1;
	int n = snprintf(line, sizeof line, "log-end %lld\n", log_end);
	n += WIFSIGNALED(wstatus) ? snprintf(line + n, sizeof line - n, "signaled %d\n", WTERMSIG(wstatus))
				  : snprintf(line + n, sizeof line - n, "exited %d\n", WEXITSTATUS(wstatus));
	sigset_t pipe_signal, old;
	sigemptyset(&pipe_signal);
	sigaddset(&pipe_signal, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_signal, &old);
	write_all(fd, line, (size_t)n);
	struct timespec none = {0, 0};
	sigtimedwait(&pipe_signal, NULL, &none);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(fd);
}

struct run_state {
	const char *status; /* Running, Restarting, Exited */
	pid_t pid;
	struct timespec started, finished;
	int has_exit, exit_code, oom_killed;
	const char *reason; /* Exited, Oom, Killed, StartFailed */
	const char *error;
	unsigned long restarts;
};

static unsigned long long monitor_start_time;
static char boot_id[64];

static void format_time(const struct timespec *t, char *out, size_t size)
{
	struct tm tm;
	gmtime_r(&t->tv_sec, &tm);
	size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, size - n, ".%07ldZ", t->tv_nsec / 100);
}

/*
 * TEXT as the inside of a JSON string. Invalid UTF-8 becomes U+FFFD, as docker's encoder does,
 * so that every reader of the log can parse every line. OUT must hold 6 bytes per input byte.
 */
static size_t json_escape(const unsigned char *text, size_t len, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		unsigned char c = text[i];
		if (c < 0x80) {
			if (c == '"' || c == '\\') {
				out[o++] = '\\';
				out[o++] = (char)c;
			} else if (c == '\n') {
				out[o++] = '\\';
				out[o++] = 'n';
			} else if (c == '\t') {
				out[o++] = '\\';
				out[o++] = 't';
			} else if (c == '\r') {
				out[o++] = '\\';
				out[o++] = 'r';
			} else if (c < 0x20) {
				o += (size_t)sprintf(out + o, "\\u%04x", c);
			} else {
				out[o++] = (char)c;
			}
			i++;
			continue;
		}
		/* The length of a well-formed sequence starting here, or 0. */
		size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
		if (n && i + n <= len) {
			unsigned char c1 = text[i + 1];
			int ok = (c1 & 0xC0) == 0x80 && !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 > 0x9F) &&
				 !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 > 0x8F);
			for (size_t k = 2; ok && k < n; k++)
				ok = (text[i + k] & 0xC0) == 0x80;
			if (ok) {
				memcpy(out + o, text + i, n);
				o += n;
				i += n;
				continue;
			}
		}
		o += (size_t)sprintf(out + o, "\\ufffd");
		i++;
	}
	return o;
}

#define MAX_LOG_LINE 16384 /* docker splits longer lines at 16 KiB too */

struct log_stream {
	const char *name;
	int fd;
	size_t len;
	unsigned char buf[MAX_LOG_LINE];
};

/* One line of container.log in docker's json-file format: {"log":"…","stream":"…","time":"…"}. */
static void log_line(int log_fd, struct log_stream *st)
{
	static char line[MAX_LOG_LINE * 6 + 128];
	if (st->len == 0)
		return;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char time[64];
	format_time(&now, time, sizeof time);
	size_t n = (size_t)sprintf(line, "{\"log\":\"");
	n += json_escape(st->buf, st->len, line + n);
	n += (size_t)sprintf(line + n, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", st->name, time);
	if (log_fd >= 0)
		write_all(log_fd, line, n);
	st->len = 0;
}

static void log_append(int log_fd, struct log_stream *st, const unsigned char *chunk, size_t len)
{
	while (len > 0) {
		const unsigned char *newline = memchr(chunk, '\n', len);
		size_t take = newline ? (size_t)(newline - chunk) + 1 : len;
		if (take > MAX_LOG_LINE - st->len)
			take = MAX_LOG_LINE - st->len;
		memcpy(st->buf + st->len, chunk, take);
		st->len += take;
		chunk += take;
		len -= take;
		if (st->len == MAX_LOG_LINE || st->buf[st->len - 1] == '\n')
			log_line(log_fd, st);
	}
}

/* Copies the container's stdout and stderr into the log until both are closed (pid 1's
 * namespace is gone: every process that could hold them is dead). */
static void pump_logs(int out_fd, int err_fd, int log_fd)
{
	static struct log_stream streams[2];
	streams[0].name = "stdout";
	streams[0].fd = out_fd;
	streams[0].len = 0;
	streams[1].name = "stderr";
	streams[1].fd = err_fd;
	streams[1].len = 0;
	int open_streams = 2;
	while (open_streams > 0) {
		struct pollfd fds[2];
		for (int i = 0; i < 2; i++) {
			fds[i].fd = streams[i].fd;
			fds[i].events = POLLIN;
			fds[i].revents = 0;
		}
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (streams[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			unsigned char chunk[16384];
			ssize_t n = read(streams[i].fd, chunk, sizeof chunk);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				log_line(log_fd, &streams[i]);
				close(streams[i].fd);
				streams[i].fd = -1;
				open_streams--;
				continue;
			}
			log_append(log_fd, &streams[i], chunk, (size_t)n);
		}
	}
}

/* Field 22 of /proc/PID/stat: with the pid, it names a process across pid reuse. */
static unsigned long long process_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

static void read_boot_id(void)
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, boot_id, sizeof boot_id - 1);
	if (fd >= 0)
		close(fd);
	boot_id[n > 0 ? n : 0] = '\0';
	for (char *c = boot_id; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') || *c == '-'))
			*c = '\0';
}

/* state.json, replaced whole (temp file + rename) as registry-node does; see Runtime/ContainerState.cs. */
static void write_state(const struct supervision *sup, const struct run_state *st)
{
	static char json[8192];
	char time[64], escaped[3000 * 6];
	size_t n = (size_t)snprintf(json, sizeof json, "{\n  \"status\": \"%s\"", st->status);
	if (st->pid > 0)
		n += (size_t)snprintf(json + n, sizeof json - n, ",\n  \"pid\": %d", (int)st->pid);
	if (strcmp(st->status, "Exited"))
		n += (size_t)snprintf(json + n, sizeof json - n,
				      ",\n  \"monitorPid\": %d,\n  \"monitorStartTime\": %llu,\n  \"bootId\": \"%s\"",
				      (int)getpid(), monitor_start_time, boot_id);
	if (st->started.tv_sec) {
		format_time(&st->started, time, sizeof time);
		n += (size_t)snprintf(json + n, sizeof json - n, ",\n  \"startedAt\": \"%s\"", time);
	}
	if (st->finished.tv_sec) {
		format_time(&st->finished, time, sizeof time);
		n += (size_t)snprintf(json + n, sizeof json - n, ",\n  \"finishedAt\": \"%s\"", time);
	}
	if (st->has_exit)
		n += (size_t)snprintf(json + n, sizeof json - n, ",\n  \"exitCode\": %d,\n  \"reason\": \"%s\"", st->exit_code, st->reason);
	n += (size_t)snprintf(json + n, sizeof json - n, ",\n  \"oomKilled\": %s", st->oom_killed ? "true" : "false");
	if (st->error) {
		size_t len = strnlen(st->error, 3000);
		escaped[json_escape((const unsigned char *)st->error, len, escaped)] = '\0';
		n += (size_t)snprintf(json + n, sizeof json - n, ",\n  \"error\": \"%s\"", escaped);
	}
	n += (size_t)snprintf(json + n, sizeof json - n, ",\n  \"restartCount\": %lu\n}", st->restarts);
	if (n >= sizeof json)
		return;

	char path[PATH_MAX], temporary[PATH_MAX];
	snprintf(path, sizeof path, "%s/state.json", sup->dir);
	snprintf(temporary, sizeof temporary, "%s/state.json.%d.tmp", sup->dir, (int)getpid());
	int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return; /* the container was removed */
	write_all(fd, json, n);
	close(fd);
	if (rename(temporary, path) < 0)
		unlink(temporary);
}

/* OOM kills recorded in the container's cgroup so far: oom_kill in memory.events (v2) or memory.oom_control (v1). */
static long oom_kills(const struct spec *s)
{
	long total = 0;
	static const char *files[] = {"memory.events", "memory.oom_control"};
	for (int i = 0; i < s->ncgroups; i++) {
		for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
			char path[PATH_MAX], buf[4096];
			snprintf(path, sizeof path, "%s/%s", s->cgroups[i], files[f]);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			ssize_t n = read(fd, buf, sizeof buf - 1);
			close(fd);
			buf[n > 0 ? n : 0] = '\0';
			for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
				if (!strncmp(line, "oom_kill ", 9))
					total += strtol(line + 9, NULL, 10);
		}
	}
	return total;
}

/* Pid 1's death took its namespace with it; what is left in the cgroup is killed, then it goes (bounded: 2 s). */
static void remove_cgroups(const struct spec *s)
{
	for (int i = 0; i < s->ncgroups; i++) {
		for (int attempt = 0; attempt < 100; attempt++) {
			if (rmdir(s->cgroups[i]) == 0 || errno == ENOENT)
				break;
			char path[PATH_MAX], buf[4096];
			snprintf(path, sizeof path, "%s/cgroup.procs", s->cgroups[i]);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof buf - 1);
			if (fd >= 0)
				close(fd);
			buf[n > 0 ? n : 0] = '\0';
			for (char *p = buf; *p;) {
				char *end;
				long pid = strtol(p, &end, 10);
				if (end == p)
					break;
				if (pid > 0)
					kill((pid_t)pid, SIGKILL);
				p = end;
			}
			usleep(20000);
		}
	}
}

static int stop_requested(const struct supervision *sup)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/stop-requested", sup->dir);
	return access(path, F_OK) == 0;
}

/*
 * Forks pid 1 of a new pid namespace with stdout/stderr on OUT/ERR. clone(CLONE_NEWPID) each time
 * rather than unshare + fork: a pid namespace whose pid 1 died takes no new process, and a restart
 * needs a fresh one. Returns the pid, or -1 with "CODE\tmessage" in MESSAGE.
 */
/*
 * The set-up failure a child reports on its close-on-exec pipe before exec ("CODE\tTEXT"), read to the end;
 * returns its length, 0 when the pipe closed without a message because exec succeeded.
 */
static size_t read_failure(int fd, char *message, size_t size)
{
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, message + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (got += (size_t)n) == size - 1)
			break;
	}
	message[got] = '\0';
	return got;
}

/* Splits a failure message into its exit code (125 when it has none) and its text. */
static int failure_code(char *message, char **text)
{
	char *tab = strchr(message, '\t');
	unsigned long code;
	if (!tab || (*tab = '\0', parse_number(message, 255, &code)))
		code = EXIT_SETUP;
	*text = tab ? tab + 1 : message;
	return (int)code;
}

static pid_t spawn_container(const struct spec *s, int out, int err, char *message, size_t size)
{
	int pipefd[2];
	message[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(message, size, "%d\tpipe: %s", EXIT_SETUP, strerror(errno));
		return -1;
	}
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0) {
		snprintf(message, size, "%d\tclone: %s", EXIT_SETUP, strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
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
static void block_forwarded(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
		sigaddset(&set, forwarded_signals[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

static void install_forwarding(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = forward_signal;
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
		sigaction(forwarded_signals[i], &sa, NULL);
}

static void sleep_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

static int supervise(const struct spec *s, const struct supervision *sup)
{
	/* Out of registry-node's session and terminal: the CLI may exit, the terminal may close. */
	if (setsid() < 0) {
		status("error %d setsid: %s", EXIT_SETUP, strerror(errno));
		return EXIT_SETUP;
	}
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) {
		status("error %d /dev/null: %s", EXIT_SETUP, strerror(errno));
		return EXIT_SETUP;
	}
	close(null);
	/* Descriptors another thread of registry-node made inheritable would otherwise live as long as the container. */
	for (int fd = 3; fd < 1024; fd++)
		if (fd != status_fd && fd != sup->hold_fd)
			close(fd);
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/container.log", sup->dir);
	int log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	monitor_start_time = process_start_time(getpid());
	read_boot_id();
	install_forwarding();

	struct run_state st;
	memset(&st, 0, sizeof st);
	long oom_before = oom_kills(s);
	long backoff_ms = 100;
	int first_exit_fd = -1;
	for (;;) {
		int out[2], err[2];
		char message[4096];
		pid_t pid = -1;
		if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
			snprintf(message, sizeof message, "%d\tpipe: %s", EXIT_SETUP, strerror(errno));
		else {
			pid = spawn_container(s, out[1], err[1], message, sizeof message);
			close(out[1]);
			close(err[1]);
		}
		if (pid < 0) {
			char *text;
			int code = failure_code(message, &text);
			if (status_fd >= 0) {
				/* Before the first start registry-node is still waiting: it records the failure. */
				status("error %d %s", code, text);
				return code;
			}
			clock_gettime(CLOCK_REALTIME, &st.finished);
			st.status = "Exited";
			st.pid = 0;
			st.has_exit = 1;
			st.exit_code = (int)code;
			st.reason = "StartFailed";
			st.error = text;
			remove_cgroups(s);
			write_state(sup, &st);
			return (int)code;
		}
		child_pid = pid;
		clock_gettime(CLOCK_REALTIME, &st.started);
		st.finished.tv_sec = 0;
		st.status = "Running";
		st.pid = pid;
		st.has_exit = 0;
		st.oom_killed = 0;
		write_state(sup, &st);
		if (status_fd >= 0) {
			status("started %d", (int)pid);
			if (sup->report_first_exit)
				first_exit_fd = status_fd;
			else
				close(status_fd);
			status_fd = -1;
		}

		pump_logs(out[0], err[0], log_fd);
		int wstatus;
		while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
			;
		child_pid = 0;
		clock_gettime(CLOCK_REALTIME, &st.finished);
		long oom_now = oom_kills(s);
		st.pid = 0;
		st.has_exit = 1;
		st.oom_killed = oom_now > oom_before;
		oom_before = oom_now;
		if (WIFSIGNALED(wstatus)) {
			st.exit_code = 128 + WTERMSIG(wstatus);
			st.reason = st.oom_killed && WTERMSIG(wstatus) == SIGKILL ? "Oom" : "Killed";
		} else {
			st.exit_code = WEXITSTATUS(wstatus);
			st.reason = "Exited";
		}

		int again = sup->restart == RESTART_ALWAYS ||
			    (sup->restart == RESTART_ON_FAILURE && st.exit_code != 0 &&
			     (sup->max_restarts == 0 || st.restarts < sup->max_restarts));
		/* Like docker: the back-off doubles from 100 ms, and starts over after 10 s of running. */
		if (st.finished.tv_sec - st.started.tv_sec >= 10)
			backoff_ms = 100;
		if (again && !stop_requested(sup)) {
			st.status = "Restarting";
			write_state(sup, &st);
			if (first_exit_fd >= 0) {
				report_first_exit(first_exit_fd, wstatus, log_fd);
				first_exit_fd = -1;
			}
			for (long waited = 0; waited < backoff_ms && !stop_requested(sup); waited += 50)
				sleep_ms(backoff_ms - waited < 50 ? backoff_ms - waited : 50);
			if (!stop_requested(sup)) {
				backoff_ms = backoff_ms * 2 > 60000 ? 60000 : backoff_ms * 2;
				st.restarts++;
				continue;
			}
		}
		st.status = "Exited";
		remove_cgroups(s);
		write_state(sup, &st);
		if (first_exit_fd >= 0)
			report_first_exit(first_exit_fd, wstatus, log_fd);
		if (log_fd >= 0)
			close(log_fd);
		if (sup->then_argc > 0)
			execv(sup->then_argv[0], sup->then_argv);
		return st.exit_code;
	}
}

/* ---- exec: a process in a running container's namespaces and cgroup ------------------- */

static const char *check_exec_spec(const struct spec *s)
{
	if (!s->cwd || s->cwd[0] != '/' || s->nargv == 0)
		return "the exec spec lacks an absolute cwd or the command";
	if (s->uid == (uid_t)-1 || s->gid == (gid_t)-1)
		return "the exec spec lacks uid or gid";
	return NULL;
}

/*
 * rn-init --exec SPEC: joins the namespaces of the container's pid 1 (the spec's "pid"), as
 * runc exec does: the pid namespace here (it applies to children), then the child joins the
 * cgroup and the other namespaces, mount last, takes the user and capabilities and execs. The
 * child inherits this process's stdin, stdout and stderr; this process waits and exits as it did.
 */
static int exec_main(const char *spec_path)
{
	static struct spec s;
	const char *problem = read_spec(spec_path, &s);
	if (!problem && !s.exec_pid)
		problem = "the spec has no pid";
	if (problem) {
		fprintf(stderr, "rn-init: invalid exec spec %s: %s\n", spec_path, problem);
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

static int usage(void)
{
	fprintf(stderr, "usage: rn-init [--supervise DIR [--restart no|always|on-failure[:N]] [--hold-fd FD]\n"
			"                [--report-first-exit yes] [--then-arg ARG]...] SPEC_FILE STATUS_FD\n"
			"       rn-init --exec SPEC_FILE\n(started by registry-node)\n");
	return EXIT_SETUP;
}

int main(int argc, char **argv)
{
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
	s.env[s.nenv] = NULL;
	s.argv[s.nargv] = NULL;
	if (sup.dir)
		return supervise(&s, &sup);

	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		status("error %d pipe: %s", EXIT_SETUP, strerror(errno));
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
		container_init(&s);
	}
	close(pipefd[1]);
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

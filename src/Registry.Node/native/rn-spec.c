/*
 * SPEC_FILE: NUL-terminated "key=value" entries written by registry-node (Runtime/InitSpec.cs):
 *   rootfs, overlay_base, lower (repeated, top layer first, relative to overlay_base), upper, work,
 *   hostname, uid, gid, group (repeated), env (repeated), cwd, arg (repeated), cap (repeated,
 *   the capabilities kept), network (none|host|bridge), cgroup (repeated: cgroup directories to join);
 *   with network=bridge: bridge_netns, bridge_name, bridge_veth, bridge_address, bridge_gateway
 *   (rn-net.c); volumes: mount (bind|tmpfs; starts an entry) followed by its mount_source,
 *   mount_target and mount_options (comma-separated: "ro", and for tmpfs its size= and mode=);
 *   no_new_privs (0|1), readonly_rootfs (0|1); userns_uid, userns_gid and userns_count (the
 *   container's ids 0.. are the host's userns_uid.. and userns_gid..: rn-userns.c); the seccomp filter: seccomp_default, seccomp_arch, seccomp_flag,
 *   seccomp_rule and seccomp_cache (rn-seccomp.c says how), none for an unconfined container;
 *   for --exec: pid (the container's pid 1 on the host), uid, gid, group, env, cwd, arg, cap, cgroup,
 *   no_new_privs, the userns and the seccomp entries: those of the container.
 * NUL is the one byte no argument, variable or path can hold, so nothing needs quoting. The whole
 * spec is validated here, before anything touches the system.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "rn-init.h"

int parse_number(const char *text, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long value = strtoul(text, &end, 10);
	if (errno || end == text || *end || value > max)
		return -1;
	*out = value;
	return 0;
}

static const char *check_exec_spec(const struct spec *s)
{
	if (!s->cwd || s->cwd[0] != '/' || s->nargv == 0)
		return "the exec spec lacks an absolute cwd or the command";
	if (s->uid == (uid_t)-1 || s->gid == (gid_t)-1)
		return "the exec spec lacks uid or gid";
	return NULL;
}

const char *read_spec(const char *path, struct spec *s)
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
		} else if (!strcmp(p, "no_new_privs")) {
			if (parse_number(v, 1, &n))
				return "no_new_privs must be 0 or 1";
			s->no_new_privs = (int)n;
		} else if (!strcmp(p, "userns_uid")) {
			if (parse_number(v, UINT32_MAX - 1, &n) || n == 0)
				return "bad userns_uid";
			s->userns_uid = (uid_t)n;
		} else if (!strcmp(p, "userns_gid")) {
			if (parse_number(v, UINT32_MAX - 1, &n) || n == 0)
				return "bad userns_gid";
			s->userns_gid = (gid_t)n;
		} else if (!strcmp(p, "userns_count")) {
			if (parse_number(v, UINT32_MAX, &n) || n == 0)
				return "bad userns_count";
			s->userns_count = n;
		} else if (!strcmp(p, "readonly_rootfs")) {
			if (parse_number(v, 1, &n))
				return "readonly_rootfs must be 0 or 1";
			s->readonly_rootfs = (int)n;
		} else if (!strcmp(p, "seccomp_default")) {
			s->seccomp_default = v;
		} else if (!strcmp(p, "seccomp_cache")) {
			s->seccomp_cache = v;
		} else if (!strcmp(p, "seccomp_arch")) {
			if (s->nseccomp_arches == MAX_SECCOMP_ARCHES)
				return "too many seccomp architectures";
			s->seccomp_arches[s->nseccomp_arches++] = v;
		} else if (!strcmp(p, "seccomp_flag")) {
			if (s->nseccomp_flags == MAX_SECCOMP_ARCHES)
				return "too many seccomp flags";
			s->seccomp_flags[s->nseccomp_flags++] = v;
		} else if (!strcmp(p, "seccomp_rule")) {
			if (s->nseccomp_rules == MAX_SECCOMP_RULES)
				return "too many seccomp rules";
			s->seccomp_rules[s->nseccomp_rules++] = v;
		} else if (!strcmp(p, "cap")) {
			if (parse_number(v, 63, &n))
				return "bad capability number";
			s->keep_caps |= 1ULL << n;
		} else {
			return "unknown spec key";
		}
	}
	/* Validate everything before touching the system. */
	if (s->userns_count && (!s->userns_uid || !s->userns_gid))
		return "userns_count without userns_uid and userns_gid";
	if (!s->seccomp_default && (s->nseccomp_arches || s->nseccomp_flags || s->nseccomp_rules))
		return "seccomp entries without seccomp_default";
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

const char *spec_env(const struct spec *s, const char *name)
{
	size_t len = strlen(name);
	for (int i = 0; i < s->nenv; i++)
		if (!strncmp(s->env[i], name, len) && s->env[i][len] == '=')
			return s->env[i] + len + 1;
	return NULL;
}

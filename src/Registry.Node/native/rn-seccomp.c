/*
 * The container's seccomp filter, built with libseccomp from the compact description registry-node
 * writes into the spec (Runtime/Security/SeccompFilter.cs resolves a docker-format profile for the
 * container's capabilities, architecture and kernel):
 *
 *   seccomp_default=ACTION                 the action for every system call no rule names
 *   seccomp_arch=NAME                      (repeated) libseccomp's architecture names: x86_64, x86, x32, ...
 *   seccomp_flag=log|spec_allow            (repeated) SECCOMP_FILTER_FLAG_LOG, _SPEC_ALLOW
 *   seccomp_rule=ACTION SYSCALL [ARG:OP:VALUE:VALUE2]...   (repeated) the conditions are ANDed
 *   seccomp_cache=DIR                      where compiled filters are kept (optional)
 *
 * ACTION is allow, errno:N, kill_thread, kill_process, trap, trace:N or log; OP is ne, lt, le, eq,
 * ge, gt or masked_eq (VALUE is then the mask, VALUE2 the datum). A system call this libseccomp
 * does not know is skipped, as docker skips one of another architecture or a newer kernel.
 *
 * The filter is compiled once, in the monitor, before anything is set up (a bad description
 * fails there, with nothing made). Compiling docker's default profile for x86_64, x86 and x32 takes
 * libseccomp about 7 ms here, more than the rest of a container's start: the program is therefore
 * kept in DIR, in a file named by a hash of the description and the libseccomp version, holding the
 * description itself, so that a file is used only for exactly the filter it was made from (a hash
 * collision or a stale file means compiling again, never a wrong filter).
 *
 * The program is loaded by the container's process at the point runc loads it: with no_new_privs
 * right before exec, without it before the capabilities are dropped (loading a filter without
 * no_new_privs takes CAP_SYS_ADMIN). The kernel keeps a loaded filter across exec and fork, and
 * no process can remove it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rn-init.h"

static scmp_filter_ctx filter;
static struct sock_filter program[BPF_MAXINSNS];
static struct sock_fprog loaded_program; /* .len 0: no filter */
static unsigned int load_flags;
static char error_text[512];

static const char *failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *failed(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(error_text, sizeof error_text, fmt, ap);
	va_end(ap);
	return error_text;
}

static int parse_action(const char *text, uint32_t *action)
{
	unsigned long n;
	if (!strcmp(text, "allow"))
		*action = SCMP_ACT_ALLOW;
	else if (!strcmp(text, "kill_thread"))
		*action = SCMP_ACT_KILL_THREAD;
	else if (!strcmp(text, "kill_process"))
		*action = SCMP_ACT_KILL_PROCESS;
	else if (!strcmp(text, "trap"))
		*action = SCMP_ACT_TRAP;
	else if (!strcmp(text, "log"))
		*action = SCMP_ACT_LOG;
	else if (!strncmp(text, "errno:", 6) && !parse_number(text + 6, 0xffff, &n))
		*action = SCMP_ACT_ERRNO((uint32_t)n);
	else if (!strncmp(text, "trace:", 6) && !parse_number(text + 6, 0xffff, &n))
		*action = SCMP_ACT_TRACE((uint32_t)n);
	else
		return -1;
	return 0;
}

static int parse_u64(const char *text, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long value = strtoull(text, &end, 10);
	if (errno || end == text || *end || *text == '-')
		return -1;
	*out = value;
	return 0;
}

/* "INDEX:OP:VALUE:VALUE2" */
static int parse_condition(char *text, struct scmp_arg_cmp *cmp)
{
	static const struct {
		const char *name;
		enum scmp_compare op;
	} ops[] = {
		{"ne", SCMP_CMP_NE}, {"lt", SCMP_CMP_LT}, {"le", SCMP_CMP_LE}, {"eq", SCMP_CMP_EQ},
		{"ge", SCMP_CMP_GE}, {"gt", SCMP_CMP_GT}, {"masked_eq", SCMP_CMP_MASKED_EQ},
	};
	char *save = NULL;
	char *index = strtok_r(text, ":", &save), *op = strtok_r(NULL, ":", &save);
	char *value = strtok_r(NULL, ":", &save), *value2 = strtok_r(NULL, ":", &save);
	unsigned long arg;
	if (!index || !op || !value || !value2 || strtok_r(NULL, ":", &save) || parse_number(index, 5, &arg))
		return -1;
	memset(cmp, 0, sizeof *cmp);
	cmp->arg = (unsigned int)arg;
	cmp->op = _SCMP_CMP_MIN;
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (!strcmp(op, ops[i].name))
			cmp->op = ops[i].op;
	if (cmp->op == _SCMP_CMP_MIN || parse_u64(value, &cmp->datum_a) || parse_u64(value2, &cmp->datum_b))
		return -1;
	return 0;
}

static const char *add_rule(const char *rule)
{
	char copy[1024];
	if (strlen(rule) >= sizeof copy)
		return failed("seccomp rule too long: %.64s...", rule);
	strcpy(copy, rule);
	char *save = NULL;
	char *action_text = strtok_r(copy, " ", &save), *name = strtok_r(NULL, " ", &save);
	uint32_t action;
	if (!action_text || !name || parse_action(action_text, &action) < 0)
		return failed("bad seccomp rule \"%s\"", rule);
	struct scmp_arg_cmp conditions[6];
	unsigned int count = 0;
	for (char *c = strtok_r(NULL, " ", &save); c; c = strtok_r(NULL, " ", &save)) {
		if (count == 6 || parse_condition(c, &conditions[count]) < 0)
			return failed("bad seccomp rule \"%s\"", rule);
		count++;
	}
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return NULL; /* unknown to this libseccomp: skipped, as for another architecture */
	int rc = seccomp_rule_add_array(filter, action, nr, count, conditions);
	if (rc < 0 && rc != -EEXIST)
		return failed("seccomp rule \"%s\": %s", rule, strerror(-rc));
	return NULL;
}

/* The description, as the cache file holds it: every seccomp entry, then libseccomp's version. */
static size_t describe(const struct spec *s, char *out, size_t size)
{
	const struct scmp_version *v = seccomp_version();
	size_t n = (size_t)snprintf(out, size, "seccomp_default=%s", s->seccomp_default) + 1;
	for (int i = 0; i < s->nseccomp_arches && n < size; i++)
		n += (size_t)snprintf(out + n, size - n, "seccomp_arch=%s", s->seccomp_arches[i]) + 1;
	for (int i = 0; i < s->nseccomp_flags && n < size; i++)
		n += (size_t)snprintf(out + n, size - n, "seccomp_flag=%s", s->seccomp_flags[i]) + 1;
	for (int i = 0; i < s->nseccomp_rules && n < size; i++)
		n += (size_t)snprintf(out + n, size - n, "seccomp_rule=%s", s->seccomp_rules[i]) + 1;
	if (n < size)
		n += (size_t)snprintf(out + n, size - n, "libseccomp=%u.%u.%u", v->major, v->minor, v->micro) + 1;
	return n < size ? n : 0;
}

/* FNV-1a: the cache file's name only; the file's content decides whether it is used. */
static uint64_t fnv1a(const char *data, size_t len)
{
	uint64_t h = 14695981039346656037ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)data[i]) * 1099511628211ULL;
	return h;
}

/* The cache file: "rn-seccomp 1\n", the description's length and bytes, the instruction count and the instructions. */
static int read_cached(const char *path, const char *description, size_t len)
{
	static char stored[1 << 20];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	char magic[13];
	uint32_t stored_len = 0, count = 0;
	int ok = read(fd, magic, sizeof magic) == (ssize_t)sizeof magic && !memcmp(magic, "rn-seccomp 1\n", sizeof magic) &&
		 read(fd, &stored_len, sizeof stored_len) == (ssize_t)sizeof stored_len && stored_len == len &&
		 read(fd, stored, len) == (ssize_t)len && !memcmp(stored, description, len) &&
		 read(fd, &count, sizeof count) == (ssize_t)sizeof count && count > 0 && count <= BPF_MAXINSNS &&
		 read(fd, program, count * sizeof program[0]) == (ssize_t)(count * sizeof program[0]);
	close(fd);
	if (!ok)
		return -1;
	loaded_program.len = (unsigned short)count;
	loaded_program.filter = program;
	return 0;
}

static void write_cached(const char *path, const char *description, size_t len)
{
	char temporary[PATH_MAX + 32];
	snprintf(temporary, sizeof temporary, "%s.%d.tmp", path, (int)getpid());
	int fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return; /* no cache: the next start compiles again */
	uint32_t stored_len = (uint32_t)len, count = loaded_program.len;
	write_all(fd, "rn-seccomp 1\n", 13);
	write_all(fd, (const char *)&stored_len, sizeof stored_len);
	write_all(fd, description, len);
	write_all(fd, (const char *)&count, sizeof count);
	write_all(fd, (const char *)program, count * sizeof program[0]);
	int written = fsync(fd) == 0;
	close(fd);
	/* Whole or not at all: a reader sees the old file, the new one, or none. */
	if (!written || rename(temporary, path) < 0)
		unlink(temporary);
}

/* Compiles the rules with libseccomp into PROGRAM. */
static const char *compile(const struct spec *s)
{
	uint32_t default_action;
	if (parse_action(s->seccomp_default, &default_action) < 0)
		return failed("bad seccomp default action \"%s\"", s->seccomp_default);
	filter = seccomp_init(default_action);
	if (!filter)
		return failed("seccomp_init failed");
	for (int i = 0; i < s->nseccomp_arches; i++) {
		uint32_t arch = seccomp_arch_resolve_name(s->seccomp_arches[i]);
		if (arch == 0)
			return failed("unknown seccomp architecture \"%s\"", s->seccomp_arches[i]);
		int rc = seccomp_arch_add(filter, arch);
		if (rc < 0 && rc != -EEXIST)
			return failed("seccomp architecture %s: %s", s->seccomp_arches[i], strerror(-rc));
	}
	for (int i = 0; i < s->nseccomp_rules; i++) {
		const char *problem = add_rule(s->seccomp_rules[i]);
		if (problem)
			return problem;
	}
	int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
	if (fd < 0)
		return failed("memfd_create: %s", strerror(errno));
	int rc = seccomp_export_bpf(filter, fd);
	off_t size = lseek(fd, 0, SEEK_END);
	if (rc < 0 || size <= 0 || size % (off_t)sizeof program[0] || size > (off_t)sizeof program) {
		close(fd);
		return failed("compile the seccomp filter: %s", rc < 0 ? strerror(-rc) : "the program is empty or too long");
	}
	ssize_t got = pread(fd, program, (size_t)size, 0);
	close(fd);
	if (got != size)
		return failed("read the compiled seccomp filter back");
	seccomp_release(filter);
	filter = NULL;
	loaded_program.len = (unsigned short)(size / (off_t)sizeof program[0]);
	loaded_program.filter = program;
	return NULL;
}

const char *seccomp_prepare(const struct spec *s)
{
	if (!s->seccomp_default)
		return NULL; /* unconfined */
	load_flags = 0;
	for (int i = 0; i < s->nseccomp_flags; i++) {
		if (!strcmp(s->seccomp_flags[i], "log"))
			load_flags |= SECCOMP_FILTER_FLAG_LOG;
		else if (!strcmp(s->seccomp_flags[i], "spec_allow"))
			load_flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
		else
			return failed("unknown seccomp flag \"%s\"", s->seccomp_flags[i]);
	}
	static char description[1 << 20];
	size_t len = describe(s, description, sizeof description);
	char path[PATH_MAX];
	if (s->seccomp_cache && len) {
		snprintf(path, sizeof path, "%s/%016llx.bpf", s->seccomp_cache, (unsigned long long)fnv1a(description, len));
		if (read_cached(path, description, len) == 0)
			return NULL;
	}
	const char *problem = compile(s);
	if (problem)
		return problem;
	if (s->seccomp_cache && len) {
		mkdir(s->seccomp_cache, 0700);
		write_cached(path, description, len);
	}
	return NULL;
}

void seccomp_apply(void)
{
	if (loaded_program.len == 0)
		return;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, load_flags, &loaded_program) < 0)
		FAIL_ERRNO("load the seccomp filter");
}

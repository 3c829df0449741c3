/*
 * rn-init's shared declarations: the container spec (rn-spec.c), the reporting channels
 * (rn-report.c) and the entry points of each init step. rn-init.c says what the helper is for.
 */
#ifndef RN_INIT_H
#define RN_INIT_H

#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <errno.h>

#include "rn-net.h"

#define EXIT_SETUP 125
#define EXIT_CANNOT_INVOKE 126
#define EXIT_NOT_FOUND 127

#define MAX_LOWERS 500
#define MAX_LIST 4096
#define MAX_GROUPS 256
#define MAX_CGROUPS 32
#define MAX_MOUNTS 128
#define MAX_SECCOMP_RULES 4096
#define MAX_SECCOMP_ARCHES 16

struct volume_mount {
	const char *kind, *source, *target, *options;
};

/* What SPEC_FILE says (rn-spec.c lists the keys); for --exec, the process to start in a running container. */
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
	int no_new_privs;
	int readonly_rootfs;
	uid_t userns_uid; /* with userns_count > 0: the host ids of the container's 0 (rn-userns.c) */
	gid_t userns_gid;
	unsigned long userns_count;
	const char *seccomp_default; /* NULL: no filter (unconfined) */
	const char *seccomp_cache;   /* where compiled filters are kept; NULL: compile every time */
	const char *seccomp_arches[MAX_SECCOMP_ARCHES];
	int nseccomp_arches;
	const char *seccomp_flags[MAX_SECCOMP_ARCHES];
	int nseccomp_flags;
	const char *seccomp_rules[MAX_SECCOMP_RULES];
	int nseccomp_rules;
	pid_t exec_pid; /* --exec: the container's pid 1 whose namespaces to join */
	struct rn_bridge_attach bridge;
	struct volume_mount mounts[MAX_MOUNTS];
	int nmounts;
};

/* ---- rn-report.c: the status pipe to registry-node and a child's error pipe ---------------- */

extern int status_fd;
extern int error_fd; /* in the child: the write end of the error pipe */

void write_all(int fd, const char *buf, size_t len);
/* One line on status_fd. */
void status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The child's failure: "<code>\t<message>" on the error pipe, then exit. */
void fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
#define FAIL_ERRNO(what, ...) fail(EXIT_SETUP, what ": %s", ##__VA_ARGS__, strerror(errno))
size_t read_failure(int fd, char *message, size_t size);
int failure_code(char *message, char **text);

/* ---- rn-spec.c ------------------------------------------------------------------------------- */

int parse_number(const char *text, unsigned long max, unsigned long *out);
/* Returns NULL or a description of what is wrong; nothing on the system is touched. */
const char *read_spec(const char *path, struct spec *s);
const char *spec_env(const struct spec *s, const char *name);

/* ---- rn-rootfs.c: the container's file system ----------------------------------------------- */

void setup_rootfs(const struct spec *s);
void enter_rootfs(const struct spec *s);
void mask_paths(void);
void make_workdir(const struct spec *s);
void make_rootfs_readonly(void);

/* ---- rn-process.c: the process's identity and privileges, then exec ------------------------ */

void set_user_and_capabilities(const struct spec *s);
void exec_command(const struct spec *s) __attribute__((noreturn));

/* ---- rn-seccomp.c: the system call filter --------------------------------------------------- */

/* Builds the spec's filter (none when it has no seccomp_default); NULL or what is wrong. */
const char *seccomp_prepare(const struct spec *s);
/* Loads the filter built by seccomp_prepare into this process, if any. */
void seccomp_apply(void);

/* ---- rn-container.c: the init sequence, and what every monitor shares --------------------- */

extern volatile sig_atomic_t child_pid;
extern struct userns_set container_userns; /* made by the monitor for each start */

void join_cgroups(const struct spec *s);
/* Forks pid 1 of a new pid namespace; returns its pid, or -1 with "CODE\tmessage" in MESSAGE. */
pid_t spawn_container(const struct spec *s, int out, int err, char *message, size_t size);
void container_init(const struct spec *s) __attribute__((noreturn));
void block_forwarded(sigset_t *old);
void install_forwarding(void);

/* ---- rn-log.c: container.log in docker's json-file format ---------------------------------- */

void format_time(const struct timespec *t, char *out, size_t size);
size_t json_escape(const unsigned char *text, size_t len, char *out);
void pump_logs(int out_fd, int err_fd, int log_fd);

/* ---- rn-supervise.c: a detached container's supervisor -------------------------------------- */

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

int supervise(const struct spec *s, const struct supervision *sup);

/* ---- rn-userns.c: user-namespace remapping ----------------------------------------------- */

struct userns_set {
	int user, net, uts, ipc; /* -1 when not made (net with --network host) */
};

extern int userns_fd; /* the user namespace the container's process joins last, -1 if none */
/* In the monitor: the user namespace and the network, UTS and IPC namespaces it owns. */
const char *userns_create(const struct spec *s, struct userns_set *out, char *error, size_t size);
void userns_close(struct userns_set *set);
void userns_join_namespaces(const struct userns_set *set);
void userns_enter(void);
void userns_idmapped_lowers(const struct spec *s, const char *dir);

/* ---- rn-sealed.c: what a container can see of rn-init ------------------------------------ */

/* Re-executes from a sealed memfd copy unless already running from one. */
void run_from_sealed_copy(char **argv);
void make_undumpable(void);

/* ---- rn-exec.c ------------------------------------------------------------------------------ */

int exec_main(const char *spec_path);

#endif

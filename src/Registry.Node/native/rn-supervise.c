/*
 * A detached container's supervisor (run -d, start). With --supervise DIR the monitor is the container's supervisor, as conmon or containerd's
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
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rn-init.h"

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

static void sleep_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

int supervise(const struct spec *s, const struct supervision *sup)
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

/*
 * container.log, written by a detached container's supervisor in the json-file format that
 * registry-node writes for foreground runs (Runtime/ContainerLog.cs): one {"log","stream","time"}
 * object per line, lines split at 16 KiB, invalid UTF-8 as U+FFFD, as docker's json-file driver.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "rn-init.h"

void format_time(const struct timespec *t, char *out, size_t size)
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
size_t json_escape(const unsigned char *text, size_t len, char *out)
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
void pump_logs(int out_fd, int err_fd, int log_fd)
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

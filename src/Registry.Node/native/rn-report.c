/* rn-init's reporting: the status pipe to registry-node, and a child's close-on-exec error pipe. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "rn-init.h"

int status_fd = -1;
int error_fd = -1;

void write_all(int fd, const char *buf, size_t len)
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

void status(const char *fmt, ...)
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

void fail(int code, const char *fmt, ...)
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

/*
 * The set-up failure a child reports on its close-on-exec pipe before exec ("CODE\tTEXT"), read to the end;
 * returns its length, 0 when the pipe closed without a message because exec succeeded.
 */
size_t read_failure(int fd, char *message, size_t size)
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
int failure_code(char *message, char **text)
{
	char *tab = strchr(message, '\t');
	unsigned long code;
	if (!tab || (*tab = '\0', parse_number(message, 255, &code)))
		code = EXIT_SETUP;
	*text = tab ? tab + 1 : message;
	return (int)code;
}

/* Shared by the control-socket unit tests (test_control.c,
 * test_rolectl.c): a raw client that talks to a server's Unix socket
 * without the library's own client, to send what that client never
 * would. */
#ifndef FERRY_SOCK_FIXTURE_H
#define FERRY_SOCK_FIXTURE_H
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

/* A connected stream socket to path, or -1. */
static inline int
raw_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads until EOF or n bytes; the count read. */
static inline size_t
raw_read(int fd, char *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n && (r = read(fd, buf + got, n - got)) > 0)
		got += (size_t)r;
	return got;
}

#endif

/* The queue's wake-up socket (queue_notify.h).  A datagram socket rather
 * than a stream: no connection state, one message per send.  The kernel
 * queues only a few unread datagrams per socket (net.unix.max_dgram_qlen,
 * 10 by default), so a burst of commits would lose wake-ups if sends did
 * not wait: the sender blocks (bounded by QUEUE_NOTIFY_WAIT_MS) until the
 * queue role has read, which is why it is called from a worker thread.
 * Past that the queue is stuck; it rescans when it finds its socket full.
 * A queue role that is down loses nothing either: it rescans the spool
 * when it starts.  It carries ids only; the spool is the truth. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ferry.h"
#include "lib/strutil.h"
#include "queue/queue_notify.h"

static int
queue_notify_addr(const char *state_dir, struct sockaddr_un *sun)
{
	int n;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s", state_dir,
	    FERRY_QUEUE_SOCK);
	if (n < 0 || (size_t)n >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

void
queue_notify(const char *state_dir, const char *id)
{
	struct sockaddr_un sun;
	char msg[4 + IDS_LEN];
	int fd, n;

	if (queue_notify_addr(state_dir, &sun) < 0)
		return;
	n = snprintf(msg, sizeof(msg), "N %s", id);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO,
	    &(struct timeval){ 0, QUEUE_NOTIFY_WAIT_MS * 1000 },
	    sizeof(struct timeval));
	while (sendto(fd, msg, (size_t)n, MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, sizeof(sun)) < 0 && errno == EINTR)
		;	/* other errors: queue down or stuck; its rescan finds it */
	close(fd);
}

int
queue_notify_listen(const char *state_dir)
{
	struct sockaddr_un sun;
	int fd, saved;

	if (queue_notify_addr(state_dir, &sun) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	/* A socket file left by a previous queue process is stale: only
	 * one queue role runs per state_dir. */
	unlink(sun.sun_path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(sun.sun_path, 0600) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

bool
queue_notify_parse(const char *buf, size_t len, char id_r[IDS_LEN + 1])
{
	if (len != 2 + IDS_LEN || buf[0] != 'N' || buf[1] != ' ')
		return false;
	memcpy(id_r, buf + 2, IDS_LEN);
	id_r[IDS_LEN] = '\0';
	return ids_valid(id_r);
}

/* Wake-ups for the queue role: after each commit smtpd sends the
 * datagram "N <id>" to the UNIX datagram socket state_dir/queue.sock.
 * The send waits a little (QUEUE_NOTIFY_WAIT_MS) while the queue's socket
 * is full, so ordinary bursts lose nothing; when the queue is stuck the
 * datagram is dropped, and the queue, finding its socket was full when it
 * drains it, rescans the spool.  A queue role that is down finds the
 * message in its start-up rescan.  Call it from worker threads. */
#ifndef FERRY_QUEUE_NOTIFY_H
#define FERRY_QUEUE_NOTIFY_H
#include <stdbool.h>
#include <stddef.h>

#include "lib/ids.h"

#define QUEUE_NOTIFY_WAIT_MS 200

/* Sends "N <id>"; may block up to QUEUE_NOTIFY_WAIT_MS; failures are
 * ignored (the spool is the truth). */
void queue_notify(const char *state_dir, const char *id);
/* Binds state_dir/queue.sock (replacing a stale socket), mode 0600.
 * Returns a non-blocking, close-on-exec fd, or -1 with errno. */
int queue_notify_listen(const char *state_dir);
/* Parses one received datagram: true and id_r filled for "N <id>". */
bool queue_notify_parse(const char *buf, size_t len, char id_r[IDS_LEN + 1]);

#endif

/* The 90% quota warning (quota_warn.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/fbuf.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "mailbox/maildir.h"
#include "mailbox/quota_warn.h"

static int
quota_warn_write(int fd, const struct fbuf *b)
{
	size_t off = 0;

	while (off < b->len) {
		ssize_t n = write(fd, b->data + off, b->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* rcpt comes from the envelope: only printable ASCII goes into a
 * header, the rest becomes '?'. */
static void
quota_warn_addr(struct fbuf *b, const char *rcpt)
{
	for (const char *p = rcpt; *p != '\0'; p++)
		fbuf_addf(b, "%c", *p > 0x20 && *p < 0x7f ? *p : '?');
}

static int
quota_warn_deliver(const char *path, const char *rcpt, uint64_t used,
    uint64_t quota, const char *hostname)
{
	char date[64], rnd[IDS_LEN + 1];
	time_t now = time(NULL);
	struct fbuf b;
	struct tm tm;
	unsigned pct = (unsigned)(used * 100 / quota);
	int fd, r = -1;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	ids_new(rnd);
	fbuf_init(&b, 0);
	fbuf_addf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
	    "To: <", hostname);
	quota_warn_addr(&b, rcpt);
	fbuf_addf(&b, ">\r\nSubject: Your mailbox is %u%% full\r\n"
	    "Date: %s\r\nMessage-ID: <%s.quota@%s>\r\n"
	    "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n", pct, date,
	    rnd, hostname);
	fbuf_addf(&b, "Your mailbox uses %llu of its %llu bytes (%u%%).\r\n"
	    "\r\nWhen it is full, new mail for you is refused and its senders\r\n"
	    "get it back. Please delete messages you no longer need (and\r\n"
	    "empty the trash), or ask for a larger quota.\r\n",
	    (unsigned long long)used, (unsigned long long)quota, pct);
	fd = memfd_create("ferry-quota-warn", MFD_CLOEXEC);
	if (fd >= 0 && quota_warn_write(fd, &b) == 0)
		r = maildir_deliver(path, "", 0, fd, quota, NULL, 0);
	if (fd >= 0)
		close(fd);
	fbuf_release(&b);
	return r;
}

void
quota_warn_check(const char *id, const char *path, const char *rcpt,
    uint64_t quota, const char *hostname)
{
	char marker[PATH_MAX];
	uint64_t used, count;
	int fd;

	if (quota == 0 || maildir_quota_usage(path, &used, &count) < 0)
		return;
	if ((size_t)snprintf(marker, sizeof(marker), "%s/%s", path,
	    QUOTA_WARN_MARKER) >= sizeof(marker))
		return;
	if (used < quota / 100 * QUOTA_WARN_PERCENT +
	    quota % 100 * QUOTA_WARN_PERCENT / 100) {
		if (unlink(marker) < 0 && errno != ENOENT)
			log_warn("%s quota warn-marker-unlink-failed path=%s",
			    id, log_q(marker));
		return;
	}
	fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno != EEXIST)
			log_warn("%s quota warn-marker-failed path=%s", id,
			    log_q(marker));
		return;
	}
	close(fd);
	if (quota_warn_deliver(path, rcpt, used, quota, hostname) < 0) {
		/* Too full even for the warning: the marker stays (no try
		 * at every delivery); the refusals speak for themselves. */
		log_warn("%s quota warning-failed rcpt=%s", id, log_q(rcpt));
		if (errno != EDQUOT)
			unlink(marker);
		return;
	}
	log_info("%s quota warning-sent rcpt=%s used=%llu quota=%llu", id,
	    log_q(rcpt), (unsigned long long)used, (unsigned long long)quota);
}

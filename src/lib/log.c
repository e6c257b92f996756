/* Line-oriented key=value logging to stderr and an optional file.  Each
 * line is written with a single write(2) so lines from several roles that
 * share stderr do not interleave.  No mutable state but the settings made
 * at start-up (role, level, file descriptor). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lib/fbuf.h"
#include "lib/log.h"

static char log_role[16] = "ferry";
static enum log_level log_min = LOG_LVL_INFO;
static int log_fd = -1;
static char log_path[PATH_MAX];
static volatile sig_atomic_t log_reopen_wanted;

void
log_init(const char *role, enum log_level level)
{
	snprintf(log_role, sizeof(log_role), "%s", role);
	log_min = level;
}

void
log_set_level(enum log_level level)
{
	log_min = level;
}

int
log_enabled(enum log_level lvl)
{
	return lvl >= log_min;
}

int
log_level_parse(const char *s)
{
	if (strcmp(s, "debug") == 0)
		return LOG_LVL_DEBUG;
	if (strcmp(s, "info") == 0)
		return LOG_LVL_INFO;
	if (strcmp(s, "warn") == 0 || strcmp(s, "warning") == 0)
		return LOG_LVL_WARN;
	if (strcmp(s, "error") == 0 || strcmp(s, "err") == 0)
		return LOG_LVL_ERR;
	return -1;
}

int
log_set_file(const char *path)
{
	int fd = -1;

	if (path != NULL) {
		if (strlen(path) >= sizeof(log_path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd == -1)
			return -1;
	}
	if (log_fd != -1)
		close(log_fd);
	log_fd = fd;
	snprintf(log_path, sizeof(log_path), "%s", path ? path : "");
	return 0;
}

/* The new file takes the old descriptor's number with one dup3(), so a
 * thread writing a line at that moment writes to one file or the other,
 * never to a closed or reused descriptor. */
int
log_reopen(void)
{
	int fd, saved;

	if (log_fd == -1 || log_path[0] == '\0')
		return 0;
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1)
		return -1;
	if (dup3(fd, log_fd, O_CLOEXEC) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	return 0;
}

static void
log_reopen_handler(int sig)
{
	log_reopen_wanted = 1;
}

void
log_reopen_on_signal(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = log_reopen_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void
log_write(enum log_level lvl, int errnum, const char *fmt, va_list ap)
{
	static const char *prefix[] = { "debug: ", "", "warning: ", "error: " };
	char line[8192], ts[32];
	struct timeval tv;
	struct tm tm;
	int n, m;

	if (lvl < log_min)
		return;
	if (log_reopen_wanted &&
	    __atomic_exchange_n(&log_reopen_wanted, 0, __ATOMIC_ACQ_REL) &&
	    log_reopen() < 0 && write(STDERR_FILENO, "cannot reopen the log "
	    "file\n", 27) < 0) {
		/* nowhere left to report it */
	}
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03dZ %s[%d]: %s", ts,
	    (int)(tv.tv_usec / 1000), log_role, (int)getpid(), prefix[lvl]);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 2, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 80)
		n = sizeof(line) - 80;
	if (errnum != 0)
		n += snprintf(line + n, sizeof(line) - (size_t)n - 2,
		    " error=\"%s\"", strerror(errnum));
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
	if (log_fd != -1 && write(log_fd, line, (size_t)n) < 0) {
		/* likewise */
	}
}

#define LOG_BODY(lvl, errnum)                 \
	do {                                  \
		int saved = errno;            \
		va_list ap;                   \
		va_start(ap, fmt);            \
		log_write(lvl, errnum, fmt, ap); \
		va_end(ap);                   \
		errno = saved;                \
	} while (0)

void (log_debug)(const char *fmt, ...) { LOG_BODY(LOG_LVL_DEBUG, 0); }
void (log_info)(const char *fmt, ...) { LOG_BODY(LOG_LVL_INFO, 0); }
void log_warn(const char *fmt, ...) { LOG_BODY(LOG_LVL_WARN, errno); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LVL_WARN, 0); }
void log_err(const char *fmt, ...) { LOG_BODY(LOG_LVL_ERR, errno); }
void log_errx(const char *fmt, ...) { LOG_BODY(LOG_LVL_ERR, 0); }

void
log_fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERR, errno);
	exit(1);
}

void
log_fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERR, 0);
	exit(1);
}

void
log_panic(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERR, 0);
	abort();
}

/* log_quote's work into dst, which has room for 4 * min(len, cap) + 6
 * bytes; returns the length written (no NUL). */
static size_t
log_quote_into(char *dst, const char *s, size_t len, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, n = len, o = 0;
	int quote = (len == 0);

	if (n > cap)
		n = cap;
	for (i = 0; i < n && !quote; i++)
		if (s[i] == ' ' || s[i] == '"' || s[i] == '=')
			quote = 1;
	if (quote)
		dst[o++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' || c == '\n') {
			dst[o++] = '\\';
			dst[o++] = c == '\r' ? 'r' : 'n';
		} else if (c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		} else
			dst[o++] = (char)c;
	}
	if (len > n) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	if (quote)
		dst[o++] = '"';
	return o;
}

#define LOG_QUOTE_ROOM(n)	(4 * (n) + 6)

void
log_quote(struct fbuf *b, const char *s, size_t len, size_t cap)
{
	size_t room, n;

	if (cap == 0)
		cap = 200;
	room = LOG_QUOTE_ROOM(len < cap ? len : cap);
	fbuf_reserve(b, b->len + room);
	n = log_quote_into(b->data + b->len, s, len, cap);
	if (b->max != 0 && n > b->max - b->len) {
		/* Like fbuf_add: over the limit, nothing is added. */
		b->data[b->len] = '\0';
		return;
	}
	b->len += n;
	b->data[b->len] = '\0';
}

const char *
log_q(const char *s)
{
	/* Several values may be quoted for one log line: rotate buffers,
	 * each big enough for the quoted form of 200 bytes (no heap: this
	 * runs for every value of every line written). */
	static __thread char outs[4][LOG_QUOTE_ROOM(200) + 1];
	static __thread unsigned next;
	char *out = outs[next++ % 4];
	size_t n;

	if (s == NULL)
		s = "";
	n = log_quote_into(out, s, strlen(s), 200);
	out[n] = '\0';
	return out;
}

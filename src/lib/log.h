/* Logging: one event per line, "<id> <module> <event> key=value ...",
 * written to stderr (and to a log file when one is set) with a UTC
 * timestamp and the role name in front.  The *x variants omit strerror. */
#ifndef FERRY_LOG_H
#define FERRY_LOG_H
#include <stddef.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERR };

struct fbuf;

/* role: short process name ("serve", "smtpd", "queue", "ferry"). */
void log_init(const char *role, enum log_level level);
void log_set_level(enum log_level level);
/* Whether a line at lvl would be written: for callers that build a
 * line in pieces before logging it. */
int log_enabled(enum log_level lvl);
/* Parses "debug", "info", "warn", "error"; -1 when unknown. */
int log_level_parse(const char *s);
/* Also append every line to this file (NULL: stop).  0 or -1 (errno). */
int log_set_file(const char *path);
/* Opens the log file's path again (after log rotation moved it away)
 * under the same descriptor; nothing when no file is set.  0 or -1. */
int log_reopen(void);
/* Installs a handler for sig that makes the next line logged reopen the
 * file first (for processes without an event loop watching sig). */
void log_reopen_on_signal(int sig);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Below the level set, a debug or info line costs one comparison: its
 * arguments (log_q's copies, lookups) are not evaluated at all.  The
 * macros stand in front of the functions of the same names. */
#define log_debug(...) \
	((void)(log_enabled(LOG_LVL_DEBUG) && (log_debug(__VA_ARGS__), 1)))
#define log_info(...) \
	((void)(log_enabled(LOG_LVL_INFO) && (log_info(__VA_ARGS__), 1)))
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log and exit(1): only for setup failures. */
void log_fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void log_fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* Broken invariant: log and abort(). */
void log_panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* Append `len` bytes of peer data to b as a log value: control and
 * non-ASCII bytes escaped (\r \n \xHH), double-quoted when it contains
 * a space, '"', '=' or is empty.  Output is capped at `cap` input bytes
 * (then "..." is added); 0 means 200. */
void log_quote(struct fbuf *b, const char *s, size_t len, size_t cap);
/* Convenience: quote a C string into one of four static per-thread
 * buffers: up to four results may be used in one log call. */
const char *log_q(const char *s);

#endif

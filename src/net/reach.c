/* The reachability record's text form, one address per line:
 *   192.0.2.1:25 down=connect-timeout since=T last_fail=T last_ok=T
 *       tls=ok tls_since=0 probes=2 next_probe=T
 * (on one line; T in seconds since the epoch).  Every field is always
 * written, in this order, and the reader accepts any order but no
 * unknown key: the file is ours, and a line we cannot read is skipped
 * whole rather than half-trusted.  Wall-clock times, so the record means
 * the same after a restart. */
#include <stdint.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "net/reach.h"

#define REACH_TIME_MAX ((uint64_t)1 << 40)
#define REACH_LINE_MAX 512

static const char *const reach_fail_names[REACH_FAIL_COUNT] = {
	"ok", "connect-timeout", "refused", "connect-error",
	"greeting-timeout", "closed", "greeting-4xx", "tls-hang",
	"tls-failed"
};

const char *
reach_fail_str(enum reach_fail f)
{
	return (unsigned)f < REACH_FAIL_COUNT ? reach_fail_names[f] : "?";
}

int
reach_fail_parse(const char *s, enum reach_fail *f_r)
{
	for (unsigned i = 0; i < REACH_FAIL_COUNT; i++)
		if (strcmp(s, reach_fail_names[i]) == 0) {
			*f_r = (enum reach_fail)i;
			return 0;
		}
	return -1;
}

bool
reach_is_down(const struct reach_entry *e, time_t now, time_t memory)
{
	return e->down != REACH_OK && memory > 0 && now >= e->last_fail &&
	    now - e->last_fail < memory;
}

bool
reach_tls_broken(const struct reach_entry *e, time_t now, time_t memory)
{
	return e->tls != REACH_OK && memory > 0 && now >= e->tls_since &&
	    now - e->tls_since < memory;
}

void
reach_format(struct fbuf *b, const struct reach_entry *e)
{
	fbuf_addf(b, "%s down=%s since=%lld last_fail=%lld last_ok=%lld "
	    "tls=%s tls_since=%lld probes=%u next_probe=%lld\n", e->key,
	    reach_fail_str(e->down), (long long)e->since,
	    (long long)e->last_fail, (long long)e->last_ok,
	    reach_fail_str(e->tls), (long long)e->tls_since, e->probes,
	    (long long)e->next_probe);
}

/* A key is an IPv4 "a.b.c.d:port" or "[v6]:port": only the characters
 * those can hold, and a port at the end. */
static int
reach_key_valid(const char *k)
{
	const char *colon = strrchr(k, ':');
	uint64_t port;

	if (colon == NULL || colon == k || strlen(k) >= REACH_KEY_MAX)
		return -1;
	for (const char *p = k; p < colon; p++)
		if (strchr("0123456789abcdefABCDEF.:[]", *p) == NULL)
			return -1;
	return str_parse_uint(colon + 1, 1, 65535, &port);
}

static int
reach_time(const char *v, time_t *t_r)
{
	uint64_t n;

	if (str_parse_uint(v, 0, REACH_TIME_MAX, &n) < 0)
		return -1;
	*t_r = (time_t)n;
	return 0;
}

/* One key=value field into e: 0 or -1. */
static int
reach_field(struct reach_entry *e, const char *k, const char *v)
{
	uint64_t n;

	if (strcmp(k, "down") == 0)
		return reach_fail_parse(v, &e->down);
	if (strcmp(k, "tls") == 0)
		return reach_fail_parse(v, &e->tls);
	if (strcmp(k, "since") == 0)
		return reach_time(v, &e->since);
	if (strcmp(k, "last_fail") == 0)
		return reach_time(v, &e->last_fail);
	if (strcmp(k, "last_ok") == 0)
		return reach_time(v, &e->last_ok);
	if (strcmp(k, "tls_since") == 0)
		return reach_time(v, &e->tls_since);
	if (strcmp(k, "next_probe") == 0)
		return reach_time(v, &e->next_probe);
	if (strcmp(k, "probes") == 0) {
		if (str_parse_uint(v, 0, 1000000, &n) < 0)
			return -1;
		e->probes = (unsigned)n;
		return 0;
	}
	return -1;
}

int
reach_parse_line(const char *line, size_t len, struct reach_entry *e,
    const char **error_r)
{
	char buf[REACH_LINE_MAX], *p, *tok, *eq, *save = NULL;

	memset(e, 0, sizeof(*e));
	if (len >= sizeof(buf) || memchr(line, '\0', len) != NULL) {
		*error_r = "line too long or binary";
		return -1;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	p = buf;
	tok = strtok_r(p, " ", &save);
	if (tok == NULL || reach_key_valid(tok) < 0) {
		*error_r = "bad address:port";
		return -1;
	}
	str_lcpy(e->key, tok, sizeof(e->key));
	while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
		eq = strchr(tok, '=');
		if (eq == NULL) {
			*error_r = "field without '='";
			return -1;
		}
		*eq = '\0';
		if (reach_field(e, tok, eq + 1) < 0) {
			*error_r = "unknown field or bad value";
			return -1;
		}
	}
	if (e->tls != REACH_OK && e->tls != REACH_TLS_HANG &&
	    e->tls != REACH_TLS_FAILED) {
		*error_r = "tls= names a failure that is not TLS";
		return -1;
	}
	return 0;
}

int
reach_parse_file(const char *text, size_t len,
    void (*cb)(const struct reach_entry *e, void *ctx), void *ctx)
{
	size_t hl = strlen(REACH_HEADER), off, end;
	struct reach_entry e;
	const char *error;
	int bad = 0;

	if (len < hl || memcmp(text, REACH_HEADER, hl) != 0 ||
	    (len > hl && text[hl] != '\n'))
		return -1;
	for (off = hl + 1; off < len; off = end + 1) {
		const char *nl = memchr(text + off, '\n', len - off);

		end = nl != NULL ? (size_t)(nl - text) : len;
		if (end == off)
			continue;
		if (reach_parse_line(text + off, end - off, &e, &error) == 0)
			cb(&e, ctx);
		else
			bad++;
	}
	return bad;
}

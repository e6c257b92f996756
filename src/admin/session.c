/* Web sessions (session.h): a small list in the role's memory.  A few
 * thousand sessions at most, so a linear walk per request costs less
 * than one page's rendering; every id is compared in full, in constant
 * time, so the walk leaks nothing about ids. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>

#include "admin/session.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"

struct admin_sessions {
	struct admin_session *v;
	size_t n;
};

struct admin_sessions *
admin_sessions_create(void)
{
	struct admin_sessions *s = xcalloc(1, sizeof(*s));

	s->v = xcalloc(ADMIN_SESSIONS_MAX, sizeof(*s->v));
	return s;
}

void
admin_sessions_free(struct admin_sessions **sp)
{
	if (*sp == NULL)
		return;
	explicit_bzero((*sp)->v, ADMIN_SESSIONS_MAX * sizeof(*(*sp)->v));
	free((*sp)->v);
	free(*sp);
	*sp = NULL;
}

void
admin_token(char *dst)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[ADMIN_TOKEN_LEN / 2];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		log_fatal("getrandom");
	for (size_t i = 0; i < sizeof(raw); i++) {
		dst[2 * i] = hex[raw[i] >> 4];
		dst[2 * i + 1] = hex[raw[i] & 15];
	}
	dst[ADMIN_TOKEN_LEN] = '\0';
	explicit_bzero(raw, sizeof(raw));
}

bool
admin_token_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL || strlen(a) != ADMIN_TOKEN_LEN ||
	    strlen(b) != ADMIN_TOKEN_LEN)
		return false;
	return CRYPTO_memcmp(a, b, ADMIN_TOKEN_LEN) == 0;
}

static void
admin_session_drop(struct admin_sessions *s, size_t i)
{
	s->v[i] = s->v[s->n - 1];
	explicit_bzero(&s->v[s->n - 1], sizeof(s->v[0]));
	s->n--;
}

const struct admin_session *
admin_session_new(struct admin_sessions *s, const char *user,
    enum ops_role role, const char *domain, time_t now)
{
	struct admin_session *a;

	if (s->n == ADMIN_SESSIONS_MAX) {
		size_t oldest = 0;

		for (size_t i = 1; i < s->n; i++)
			if (s->v[i].last < s->v[oldest].last)
				oldest = i;
		admin_session_drop(s, oldest);
	}
	a = &s->v[s->n++];
	memset(a, 0, sizeof(*a));
	admin_token(a->id);
	admin_token(a->csrf);
	str_lcpy(a->user, user, sizeof(a->user));
	str_lcpy(a->domain, domain, sizeof(a->domain));
	a->role = role;
	a->created = a->last = now;
	return a;
}

const struct admin_session *
admin_session_find(struct admin_sessions *s, const char *id, time_t now,
    time_t idle, time_t lifetime)
{
	struct admin_session *found = NULL;
	size_t i = 0;

	if (id == NULL || strlen(id) != ADMIN_TOKEN_LEN)
		return NULL;
	while (i < s->n) {
		struct admin_session *a = &s->v[i];

		if (now - a->last >= idle || now - a->created >= lifetime) {
			admin_session_drop(s, i);
			continue;	/* the last one moved into slot i */
		}
		if (admin_token_equal(a->id, id))
			found = a;
		i++;
	}
	if (found != NULL)
		found->last = now;
	return found;
}

void
admin_session_end(struct admin_sessions *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (admin_token_equal(s->v[i].id, id)) {
			admin_session_drop(s, i);
			return;
		}
}

void
admin_session_end_user(struct admin_sessions *s, const char *user,
    const char *keep_id)
{
	size_t i = 0;

	while (i < s->n) {
		if (strcmp(s->v[i].user, user) == 0 && (keep_id == NULL ||
		    !admin_token_equal(s->v[i].id, keep_id))) {
			admin_session_drop(s, i);
			continue;
		}
		i++;
	}
}

size_t
admin_sessions_count(const struct admin_sessions *s)
{
	return s->n;
}

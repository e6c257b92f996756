/* Actors, scope checks and statuses shared by the operations (ops.h).
 * The scope check is by domain because that is what a postmaster owns;
 * finer grants (per user) are for the user pages, not here yet. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ops/ops.h"

int
ops_fail(struct ops_status *st, enum ops_code code, const char *fmt, ...)
{
	va_list ap;

	st->code = code;
	va_start(ap, fmt);
	vsnprintf(st->text, sizeof(st->text), fmt, ap);
	va_end(ap);
	return -1;
}

int
ops_ok(struct ops_status *st)
{
	st->code = OPS_OK;
	st->text[0] = '\0';
	return 0;
}

void
ops_actor_cli(struct ops_actor *a)
{
	memset(a, 0, sizeof(*a));
	a->role = OPS_ADMIN;
	a->name = "cli";
}

int
ops_check_domain(const struct ops_actor *actor, const char *domain,
    struct ops_status *st)
{
	if (actor->role == OPS_ADMIN)
		return 0;
	if (actor->role == OPS_POSTMASTER) {
		for (size_t i = 0; i < actor->ndomains; i++)
			if (strcasecmp(actor->domains[i], domain) == 0)
				return 0;
	}
	return ops_fail(st, OPS_EPERM, "%s: not allowed for %s", domain,
	    actor->name != NULL ? actor->name : "this account");
}

int
ops_check_mailbox(const struct ops_actor *actor, const char *addr,
    struct ops_status *st)
{
	const char *at = strrchr(addr, '@');

	if (actor->role == OPS_USER) {
		if (actor->name != NULL && strcmp(actor->name, addr) == 0)
			return 0;
		return ops_fail(st, OPS_EPERM, "%s: not allowed for %s", addr,
		    actor->name != NULL ? actor->name : "this account");
	}
	return ops_check_domain(actor, at != NULL ? at + 1 : "", st);
}

int
ops_check_admin(const struct ops_actor *actor, const char *what,
    struct ops_status *st)
{
	if (actor->role == OPS_ADMIN)
		return 0;
	return ops_fail(st, OPS_EPERM, "%s: only an administrator may do "
	    "this", what);
}

void
ops_clean(char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

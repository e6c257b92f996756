/* LIST/LSUB, ID and QUOTA argument parsers (imap_cmd_args.h): the
 * grammar of RFC 5258 section 6 (list-select-opts, list-return-opts,
 * several patterns), RFC 5819 (RETURN (STATUS (...))), RFC 2971 section
 * 4 (id-params-list) and RFC 9208 section 4.1 (getquota, setquota).
 * Checked strictly, since the values reach the mailbox layer and the
 * log; the commands that use them are in imap_list.c, imap_cmd_any.c and
 * imap_quota.c. */
#include <stdlib.h>
#include <string.h>

#include "imap/imap_cmd_args.h"
#include "imap/imap_private.h"
#include "lib/xalloc.h"

/* Selection options "(SUBSCRIBED RECURSIVEMATCH ...)". */
static int
imap_list_parse_select(struct imap_list_args *l, const struct imap_arg *a,
    const char **error_r)
{
	for (unsigned i = 0; i < a->count; i++) {
		const struct imap_arg *o = &a->list[i];

		if (imap_arg_atom_is(o, "SUBSCRIBED"))
			l->sel |= IMAP_LSEL_SUBSCRIBED;
		else if (imap_arg_atom_is(o, "REMOTE"))
			l->sel |= IMAP_LSEL_REMOTE;
		else if (imap_arg_atom_is(o, "RECURSIVEMATCH"))
			l->sel |= IMAP_LSEL_RECURSIVE;
		else if (imap_arg_atom_is(o, "SPECIAL-USE"))
			l->sel |= IMAP_LSEL_SPECIAL;
		else {
			*error_r = "Unknown LIST selection option";
			return -1;
		}
	}
	/* RFC 5258 section 3.1: RECURSIVEMATCH needs a real criterion */
	if ((l->sel & IMAP_LSEL_RECURSIVE) &&
	    !(l->sel & (IMAP_LSEL_SUBSCRIBED | IMAP_LSEL_SPECIAL))) {
		*error_r = "RECURSIVEMATCH needs another selection option";
		return -1;
	}
	/* selection options imply their return options (section 3.1) */
	if (l->sel & IMAP_LSEL_SUBSCRIBED)
		l->ret |= IMAP_LRET_SUBSCRIBED;
	if (l->sel & IMAP_LSEL_SPECIAL)
		l->ret |= IMAP_LRET_SPECIAL;
	return 0;
}

/* Return options "RETURN (SUBSCRIBED CHILDREN STATUS (...))". */
static int
imap_list_parse_return(struct imap_list_args *l, const struct imap_arg *a,
    const char **error_r)
{
	for (unsigned i = 0; i < a->count; i++) {
		const struct imap_arg *o = &a->list[i];

		if (imap_arg_atom_is(o, "SUBSCRIBED"))
			l->ret |= IMAP_LRET_SUBSCRIBED;
		else if (imap_arg_atom_is(o, "CHILDREN"))
			l->ret |= IMAP_LRET_CHILDREN;
		else if (imap_arg_atom_is(o, "SPECIAL-USE"))
			l->ret |= IMAP_LRET_SPECIAL;
		else if (imap_arg_atom_is(o, "STATUS") && i + 1 < a->count &&
		    !(l->ret & IMAP_LRET_STATUS)) {
			if (imap_status_parse_items(&a->list[++i],
			    &l->status_items, error_r) < 0)
				return -1;
			l->ret |= IMAP_LRET_STATUS;
		} else {
			*error_r = "Unknown or repeated LIST return option";
			return -1;
		}
	}
	return 0;
}

/* One pattern: reference + pattern, decoded like a name (the wildcards
 * are ASCII and pass through modified UTF-7).  A pattern that does not
 * decode matches nothing: 1, and nothing is added. */
static int
imap_list_add_pattern(bool utf8, struct imap_list_args *l, const char *ref,
    const char *pat, const char **error_r)
{
	char dec[1024];
	struct fbuf b;
	struct imap_arg tmp;
	const char *error;
	int r;

	if (l->npatterns >= IMAP_LIST_PATTERNS_MAX) {
		*error_r = "Too many LIST patterns";
		return -1;
	}
	fbuf_init(&b, 0);
	fbuf_adds(&b, ref);
	if (ref[0] != '\0' && ref[strlen(ref) - 1] != '/' && pat[0] != '\0')
		fbuf_addc(&b, '/');
	fbuf_adds(&b, pat);
	tmp = (struct imap_arg){ .type = IMAP_ARG_QUOTED, .str = fbuf_str(&b),
	    .len = b.len };
	r = b.len == 0 ? -1 : imap_arg_mailbox(&tmp, utf8, dec, sizeof(dec),
	    &error);
	fbuf_release(&b);
	if (r == 0)
		l->patterns[l->npatterns++] = xstrdup(dec);
	return 0;
}

/* Patterns: one list-mailbox or a parenthesised list of them. */
static int
imap_list_parse_patterns(bool utf8, struct imap_list_args *l, const char *ref,
    const struct imap_arg *a, const char **error_r)
{
	const char *p;

	if (a->type != IMAP_ARG_LIST) {
		if (!imap_arg_list_mailbox(a, &p)) {
			*error_r = "LIST needs a reference and a pattern";
			return -1;
		}
		return imap_list_add_pattern(utf8, l, ref, p, error_r);
	}
	if (a->count == 0) {
		*error_r = "Empty LIST pattern list";
		return -1;
	}
	l->extended = true;
	for (unsigned i = 0; i < a->count; i++) {
		if (!imap_arg_list_mailbox(&a->list[i], &p)) {
			*error_r = "LIST patterns are mailbox names";
			return -1;
		}
		if (imap_list_add_pattern(utf8, l, ref, p, error_r) < 0)
			return -1;
	}
	return 0;
}

int
imap_list_args_parse(const struct imap_arg *args, unsigned count,
    bool lsub, bool utf8, struct imap_list_args *l, bool *delim_r,
    const char **error_r)
{
	const struct imap_arg *pat;
	const char *ref, *p;
	unsigned i = 0;

	memset(l, 0, sizeof(*l));
	l->lsub = lsub;
	*delim_r = false;

	*error_r = "LIST needs a reference and a pattern";
	if (!l->lsub && count > 0 && args[0].type == IMAP_ARG_LIST) {
		l->extended = true;
		if (imap_list_parse_select(l, &args[0], error_r) < 0)
			return -1;
		i++;
	}
	if (count < i + 2 || !imap_arg_astring(&args[i], &ref))
		return -1;
	pat = &args[i + 1];
	i += 2;
	if (!l->lsub && i < count) {
		if (count != i + 2 || !imap_arg_atom_is(&args[i], "RETURN") ||
		    args[i + 1].type != IMAP_ARG_LIST) {
			*error_r = "Expected RETURN (options) after the pattern";
			return -1;
		}
		l->extended = true;
		if (imap_list_parse_return(l, &args[i + 1], error_r) < 0)
			return -1;
		i += 2;
	}
	if (i != count || (l->lsub && pat->type == IMAP_ARG_LIST))
		return -1;
	/* LIST "" "": the hierarchy separator (RFC 9051 6.3.9) */
	*delim_r = l->sel == 0 && pat->type != IMAP_ARG_LIST &&
	    imap_arg_list_mailbox(pat, &p) && *p == '\0';
	if (*delim_r)
		return 0;
	return imap_list_parse_patterns(utf8, l, ref, pat, error_r);
}

void
imap_list_args_free(struct imap_list_args *l)
{
	for (unsigned i = 0; i < l->npatterns; i++)
		free(l->patterns[i]);
	l->npatterns = 0;
}

int
imap_id_args_check(const struct imap_arg *args, unsigned count,
    unsigned *npairs_r, const char **error_r)
{
	const struct imap_arg *a = &args[0];
	const char *k, *v;

	*npairs_r = 0;
	if (count != 1 || (a->type != IMAP_ARG_LIST &&
	    !imap_arg_atom_is(a, "NIL")) || (a->type == IMAP_ARG_LIST &&
	    (a->count % 2 != 0 || a->count > 2 * IMAP_ID_PAIRS_MAX))) {
		*error_r = "ID needs NIL or a list of field-value pairs";
		return -1;
	}
	for (unsigned i = 0; a->type == IMAP_ARG_LIST && i < a->count;
	    i += 2) {
		if (!imap_arg_string(&a->list[i], &k) ||
		    (!imap_arg_string(&a->list[i + 1], &v) &&
		    !imap_arg_atom_is(&a->list[i + 1], "NIL"))) {
			*error_r = "ID fields and values are strings";
			return -1;
		}
	}
	if (a->type == IMAP_ARG_LIST)
		*npairs_r = a->count / 2;
	return 0;
}

int
imap_getquota_args(const struct imap_arg *args, unsigned count,
    const char **root_r, const char **error_r)
{
	if (count != 1 || !imap_arg_astring(&args[0], root_r)) {
		*error_r = "GETQUOTA needs a quota root";
		return -1;
	}
	return 0;
}

int
imap_setquota_args(const struct imap_arg *args, unsigned count,
    const char **root_r, const char **error_r)
{
	const struct imap_arg *l = &args[1];
	uint64_t n;

	*error_r = "SETQUOTA needs a root and a list of resource limits";
	if (count != 2 || !imap_arg_astring(&args[0], root_r) ||
	    l->type != IMAP_ARG_LIST || l->count % 2 != 0)
		return -1;
	for (unsigned i = 0; i < l->count; i += 2) {
		const struct imap_arg *r = &l->list[i];

		/* resource-name is an atom; setquota-resource's limit is a
		 * number64 (RFC 9208 section 9) */
		if (r->type != IMAP_ARG_ATOM || r->len == 0 ||
		    strpbrk(r->str, "%*[]") != NULL ||
		    !imap_arg_number(&l->list[i + 1], 0, INT64_MAX, &n))
			return -1;
	}
	return 0;
}

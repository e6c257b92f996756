/* SEARCH arguments (imap_args.h): every search key of RFC 3501 section
 * 6.4.4 and RFC 9051 section 6.4.4 (ALL, ANSWERED, BCC, BEFORE, BODY,
 * CC, DELETED, DRAFT, FLAGGED, FROM, HEADER, KEYWORD, LARGER, NEW, NOT,
 * OLD, ON, OR, RECENT, SEEN, SENTBEFORE, SENTON, SENTSINCE, SINCE,
 * SMALLER, SUBJECT, TEXT, TO, UID, UNANSWERED, UNDELETED, UNDRAFT,
 * UNFLAGGED, UNKEYWORD, UNSEEN, sequence sets, parenthesised lists),
 * MODSEQ (RFC 7162 section 3.1.5), CHARSET, and the RETURN options of
 * RFC 4731 / RFC 9051 (MIN MAX ALL COUNT SAVE).  The result is a key
 * tree; evaluating it is the session's business. */
#include <stdlib.h>
#include <string.h>

#include "imap/imap_args.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"

#define IMAP_SEARCH_DEPTH_MAX 64

struct imap_search_ctx {
	const struct imap_arg *args;
	unsigned count, pos;
	unsigned depth;
	struct imap_search *s;
};

static const struct {
	const char *name;
	enum imap_search_op op;
	unsigned flags;
} imap_search_flag_keys[] = {
	{ "ALL", IMAP_SEARCH_ALL, 0 },
	{ "ANSWERED", IMAP_SEARCH_FLAGS, IMAP_FLAG_ANSWERED },
	{ "DELETED", IMAP_SEARCH_FLAGS, IMAP_FLAG_DELETED },
	{ "DRAFT", IMAP_SEARCH_FLAGS, IMAP_FLAG_DRAFT },
	{ "FLAGGED", IMAP_SEARCH_FLAGS, IMAP_FLAG_FLAGGED },
	{ "RECENT", IMAP_SEARCH_FLAGS, IMAP_FLAG_RECENT },
	{ "SEEN", IMAP_SEARCH_FLAGS, IMAP_FLAG_SEEN },
	{ "UNANSWERED", IMAP_SEARCH_UNFLAGS, IMAP_FLAG_ANSWERED },
	{ "UNDELETED", IMAP_SEARCH_UNFLAGS, IMAP_FLAG_DELETED },
	{ "UNDRAFT", IMAP_SEARCH_UNFLAGS, IMAP_FLAG_DRAFT },
	{ "UNFLAGGED", IMAP_SEARCH_UNFLAGS, IMAP_FLAG_FLAGGED },
	{ "UNSEEN", IMAP_SEARCH_UNFLAGS, IMAP_FLAG_SEEN },
	{ "NEW", IMAP_SEARCH_NEW, 0 },
	{ "OLD", IMAP_SEARCH_OLD, 0 },
};

static const struct {
	const char *name;
	enum imap_search_op op;
} imap_search_date_keys[] = {
	{ "BEFORE", IMAP_SEARCH_BEFORE }, { "ON", IMAP_SEARCH_ON },
	{ "SINCE", IMAP_SEARCH_SINCE },
	{ "SENTBEFORE", IMAP_SEARCH_SENTBEFORE },
	{ "SENTON", IMAP_SEARCH_SENTON },
	{ "SENTSINCE", IMAP_SEARCH_SENTSINCE },
};

static const char *const imap_search_header_keys[] = {
	"BCC", "CC", "FROM", "SUBJECT", "TO"
};

static void
imap_search_key_free(struct imap_search_key *k)
{
	while (k != NULL) {
		struct imap_search_key *next = k->next;

		imap_search_key_free(k->child);
		imap_seqset_free(&k->set);
		free(k->field);
		free(k->value);
		free(k);
		k = next;
	}
}

static struct imap_search_key *
imap_search_key_new(enum imap_search_op op)
{
	struct imap_search_key *k = xcalloc(1, sizeof(*k));

	k->op = op;
	return k;
}

/* The next argument, or NULL at the end. */
static const struct imap_arg *
imap_search_next(struct imap_search_ctx *c)
{
	return c->pos < c->count ? &c->args[c->pos++] : NULL;
}

static char *
imap_search_astring(struct imap_search_ctx *c)
{
	const struct imap_arg *a = imap_search_next(c);
	const char *s;

	return a != NULL && imap_arg_astring(a, &s) ? xstrdup(s) : NULL;
}

static struct imap_search_key *imap_search_key(struct imap_search_ctx *c);

/* Keys up to the end of args (depth counted by the caller). */
static struct imap_search_key *
imap_search_keys(struct imap_search_ctx *c)
{
	struct imap_search_key *and = imap_search_key_new(IMAP_SEARCH_AND);
	struct imap_search_key **tail = &and->child;

	while (c->pos < c->count) {
		if ((*tail = imap_search_key(c)) == NULL) {
			imap_search_key_free(and);
			return NULL;
		}
		tail = &(*tail)->next;
	}
	if (and->child == NULL) {
		imap_search_key_free(and);
		return NULL;
	}
	return and;
}

/* A parenthesised list: its own context over the members. */
static struct imap_search_key *
imap_search_list(struct imap_search_ctx *c, const struct imap_arg *a)
{
	struct imap_search_ctx sub = *c;

	sub.args = a->list;
	sub.count = a->count;
	sub.pos = 0;
	return imap_search_keys(&sub);
}

/* Keys with an argument of their own. */
static struct imap_search_key *
imap_search_valued(struct imap_search_ctx *c, const char *name)
{
	struct imap_search_key *k = NULL;
	const struct imap_arg *a;
	const char *s;

	for (size_t i = 0; i < sizeof(imap_search_date_keys) /
	    sizeof(imap_search_date_keys[0]); i++) {
		if (!str_ieq(name, imap_search_date_keys[i].name))
			continue;
		k = imap_search_key_new(imap_search_date_keys[i].op);
		if ((a = imap_search_next(c)) == NULL ||
		    !imap_arg_astring(a, &s) ||
		    imap_date_parse(s, &k->days) < 0)
			goto fail;
		return k;
	}
	for (size_t i = 0; i < sizeof(imap_search_header_keys) /
	    sizeof(imap_search_header_keys[0]); i++) {
		if (!str_ieq(name, imap_search_header_keys[i]))
			continue;
		k = imap_search_key_new(IMAP_SEARCH_HEADER);
		k->field = xstrdup(imap_search_header_keys[i]);
		if ((k->value = imap_search_astring(c)) == NULL)
			goto fail;
		return k;
	}
	if (str_ieq(name, "HEADER")) {
		k = imap_search_key_new(IMAP_SEARCH_HEADER);
		if ((k->field = imap_search_astring(c)) == NULL ||
		    (k->value = imap_search_astring(c)) == NULL)
			goto fail;
		for (char *p = k->field; *p != '\0'; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 32);
		return k;
	}
	if (str_ieq(name, "BODY") || str_ieq(name, "TEXT")) {
		k = imap_search_key_new(str_ieq(name, "BODY") ?
		    IMAP_SEARCH_BODY : IMAP_SEARCH_TEXT);
		if ((k->value = imap_search_astring(c)) == NULL)
			goto fail;
		return k;
	}
	if (str_ieq(name, "KEYWORD") || str_ieq(name, "UNKEYWORD")) {
		k = imap_search_key_new(str_ieq(name, "KEYWORD") ?
		    IMAP_SEARCH_KEYWORD : IMAP_SEARCH_UNKEYWORD);
		if ((a = imap_search_next(c)) == NULL ||
		    a->type != IMAP_ARG_ATOM || a->str[0] == '\\' ||
		    strpbrk(a->str, "%*]") != NULL)
			goto fail;
		k->value = xstrdup(a->str);
		return k;
	}
	if (str_ieq(name, "LARGER") || str_ieq(name, "SMALLER")) {
		k = imap_search_key_new(str_ieq(name, "LARGER") ?
		    IMAP_SEARCH_LARGER : IMAP_SEARCH_SMALLER);
		if ((a = imap_search_next(c)) == NULL ||
		    !imap_arg_number(a, 0, INT64_MAX, &k->number))
			goto fail;
		return k;
	}
	if (str_ieq(name, "UID")) {
		k = imap_search_key_new(IMAP_SEARCH_UID);
		if ((a = imap_search_next(c)) == NULL ||
		    a->type != IMAP_ARG_ATOM ||
		    imap_seqset_parse(a->str, &k->set) < 0)
			goto fail;
		return k;
	}
	return NULL;
fail:
	imap_search_key_free(k);
	return NULL;
}

/* MODSEQ ["entry-name" entry-type] mod-sequence-valzer */
static struct imap_search_key *
imap_search_modseq(struct imap_search_ctx *c)
{
	struct imap_search_key *k = imap_search_key_new(IMAP_SEARCH_MODSEQ);
	const struct imap_arg *a = imap_search_next(c);
	const char *s;

	if (a != NULL && a->type == IMAP_ARG_QUOTED &&
	    imap_arg_string(a, &s)) {
		a = imap_search_next(c);
		if (a == NULL || !(imap_arg_atom_is(a, "priv") ||
		    imap_arg_atom_is(a, "shared") || imap_arg_atom_is(a, "all")))
			goto fail;
		a = imap_search_next(c);
	}
	if (a == NULL || !imap_arg_number(a, 0, INT64_MAX, &k->number))
		goto fail;
	c->s->uses_modseq = true;
	return k;
fail:
	imap_search_key_free(k);
	return NULL;
}

static struct imap_search_key *
imap_search_key(struct imap_search_ctx *c)
{
	const struct imap_arg *a = imap_search_next(c);
	struct imap_search_key *k;

	if (a == NULL || c->depth >= IMAP_SEARCH_DEPTH_MAX)
		return NULL;
	c->depth++;
	if (a->type == IMAP_ARG_LIST)
		k = a->count > 0 ? imap_search_list(c, a) : NULL;
	else if (a->type != IMAP_ARG_ATOM)
		k = NULL;
	else if (str_ieq(a->str, "NOT")) {
		k = imap_search_key_new(IMAP_SEARCH_NOT);
		if ((k->child = imap_search_key(c)) == NULL) {
			imap_search_key_free(k);
			k = NULL;
		}
	} else if (str_ieq(a->str, "OR")) {
		k = imap_search_key_new(IMAP_SEARCH_OR);
		if ((k->child = imap_search_key(c)) == NULL ||
		    (k->child->next = imap_search_key(c)) == NULL) {
			imap_search_key_free(k);
			k = NULL;
		}
	} else if (str_ieq(a->str, "MODSEQ"))
		k = imap_search_modseq(c);
	else {
		k = NULL;
		for (size_t i = 0; i < sizeof(imap_search_flag_keys) /
		    sizeof(imap_search_flag_keys[0]); i++) {
			if (str_ieq(a->str, imap_search_flag_keys[i].name)) {
				k = imap_search_key_new(
				    imap_search_flag_keys[i].op);
				k->flags = imap_search_flag_keys[i].flags;
				break;
			}
		}
		if (k == NULL)
			k = imap_search_valued(c, a->str);
		if (k == NULL && (a->str[0] == '$' ||
		    (a->str[0] >= '0' && a->str[0] <= '9') ||
		    a->str[0] == '*')) {
			k = imap_search_key_new(IMAP_SEARCH_SEQSET);
			if (imap_seqset_parse(a->str, &k->set) < 0) {
				imap_search_key_free(k);
				k = NULL;
			}
		}
	}
	c->depth--;
	return k;
}

/* RETURN (MIN MAX ALL COUNT SAVE) */
static int
imap_search_return(struct imap_search *s, const struct imap_arg *a)
{
	static const struct {
		const char *name;
		unsigned bit;
	} opts[] = {
		{ "MIN", IMAP_SEARCH_RET_MIN }, { "MAX", IMAP_SEARCH_RET_MAX },
		{ "ALL", IMAP_SEARCH_RET_ALL },
		{ "COUNT", IMAP_SEARCH_RET_COUNT },
		{ "SAVE", IMAP_SEARCH_RET_SAVE },
	};

	if (a->type != IMAP_ARG_LIST)
		return -1;
	s->esearch = true;
	for (unsigned i = 0; i < a->count; i++) {
		size_t j;

		for (j = 0; j < sizeof(opts) / sizeof(opts[0]); j++)
			if (imap_arg_atom_is(&a->list[i], opts[j].name))
				break;
		if (j == sizeof(opts) / sizeof(opts[0]))
			return -1;
		s->ret |= opts[j].bit;
	}
	return 0;
}

enum imap_search_result
imap_search_parse(const struct imap_arg *args, unsigned count,
    struct imap_search *s, const char **error_r)
{
	struct imap_search_ctx c = { .args = args, .count = count, .s = s };
	const char *charset;

	memset(s, 0, sizeof(*s));
	if (c.pos < count && imap_arg_atom_is(&args[c.pos], "RETURN")) {
		if (++c.pos >= count ||
		    imap_search_return(s, &args[c.pos++]) < 0) {
			*error_r = "Invalid SEARCH RETURN options";
			return IMAP_SEARCH_BAD;
		}
	}
	if (c.pos < count && imap_arg_atom_is(&args[c.pos], "CHARSET")) {
		if (++c.pos >= count ||
		    !imap_arg_astring(&args[c.pos++], &charset)) {
			*error_r = "Invalid SEARCH CHARSET";
			return IMAP_SEARCH_BAD;
		}
		if (!str_ieq(charset, "UTF-8") && !str_ieq(charset, "US-ASCII")) {
			*error_r = "[BADCHARSET (US-ASCII UTF-8)] Unknown charset";
			return IMAP_SEARCH_BADCHARSET;
		}
	}
	if ((s->root = imap_search_keys(&c)) == NULL) {
		*error_r = "Invalid SEARCH key";
		return IMAP_SEARCH_BAD;
	}
	return IMAP_SEARCH_OK;
}

void
imap_search_free(struct imap_search *s)
{
	imap_search_key_free(s->root);
	s->root = NULL;
}

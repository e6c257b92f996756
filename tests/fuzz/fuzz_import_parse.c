/* libFuzzer target for the vpopmail import's parsers
 * (src/ops/ops_import_parse.c) and the kept POP3 UIDL list
 * (src/mailbox/legacy_uidl.c).  The first input octet picks, modulo 5:
 *  0: a vpasswd line; on success the name is non-empty with no '/', '@'
 *     or leading '.', and the quota field parses or fails cleanly;
 *  1: a .qmail file; every item has a non-NULL argument and a line
 *     number within the file; and the text as a .qmail-* file name;
 *  2: a Courier/Dovecot UID list; entries are sorted by name, with
 *     non-zero UIDs below next_uid and valid base names, all findable;
 *  3: a ferry-pop3-uidl file; names are sorted, unique and valid;
 *  4: a Maildir file name check against the UIDL rules.
 * FUZZ_SOURCES: src/ops/ops_import_parse.c src/mailbox/legacy_uidl.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox/legacy_uidl.h"
#include "ops/ops_import_parse.h"

static void
fuzz_vpw(const char *s, size_t len)
{
	struct ops_vpw e;
	const char *error;
	uint64_t b, c;

	if (ops_vpw_parse(s, len, &e, &error) < 0)
		return;
	if (e.name[0] == '\0' || e.name[0] == '.' ||
	    strpbrk(e.name, "/@") != NULL)
		abort();
	(void)ops_vpw_quota(e.quota, &b, &c, &error);
}

static void
fuzz_dotqmail(const char *s, size_t len)
{
	struct ops_dotqmail q;
	const char *error;
	char name[300], dst[256];
	int kind;

	if (ops_dotqmail_parse(s, len, &q, &error) == 0) {
		for (size_t i = 0; i < q.n; i++)
			if (q.v[i].arg == NULL || q.v[i].line == 0 ||
			    q.v[i].line > OPS_DQ_LINES_MAX)
				abort();
		ops_dotqmail_free(&q);
	} else if (q.n != 0 || q.v != NULL)
		abort();
	if (len < sizeof(name) && memchr(s, '\0', len) == NULL) {
		memcpy(name, s, len);
		name[len] = '\0';
		kind = ops_dotqmail_name(name, dst, sizeof(dst));
		if ((kind == OPS_DQN_LOCAL || kind == OPS_DQN_WILDCARD) &&
		    (dst[0] == '\0' || dst[0] == '.' ||
		    strpbrk(dst, "/@:") != NULL))
			abort();
	}
}

static void
fuzz_uidmap(const char *s, size_t len)
{
	struct ops_uidmap m;
	const char *error;

	if (ops_uidmap_parse(s, len, &m, &error) < 0) {
		if (m.n != 0 || m.v != NULL)
			abort();
		return;
	}
	for (size_t i = 0; i < m.n; i++) {
		const char *b = m.v[i].base;

		if (m.v[i].uid == 0 || m.v[i].uid >= m.next_uid ||
		    !ops_import_msgname_ok(b) || strchr(b, ':') != NULL ||
		    (i > 0 && strcmp(m.v[i - 1].base, b) >= 0) ||
		    ops_uidmap_find(&m, b, strlen(b)) != m.v[i].uid)
			abort();
	}
	ops_uidmap_free(&m);
}

static void
fuzz_legacy(const char *s, size_t len)
{
	struct legacy_uidl set;

	if (legacy_uidl_parse(s, len, &set) < 0) {
		if (set.n != 0 || set.v != NULL)
			abort();
		return;
	}
	for (size_t i = 0; i < set.n; i++)
		if (!legacy_uidl_ok(set.v[i], strlen(set.v[i])) ||
		    (i > 0 && strcmp(set.v[i - 1], set.v[i]) >= 0) ||
		    !legacy_uidl_has(&set, set.v[i], strlen(set.v[i])))
			abort();
	legacy_uidl_free(&set);
}

static void
fuzz_msgname(const char *s, size_t len)
{
	char name[300];

	if (len >= sizeof(name) || memchr(s, '\0', len) != NULL)
		return;
	memcpy(name, s, len);
	name[len] = '\0';
	if (ops_import_msgname_ok(name) &&
	    (name[0] == '.' || strpbrk(name, "/ \n") != NULL))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size == 0)
		return 0;
	/* an exact-size copy so that ASan sees any read past the end */
	s = malloc(size - 1 > 0 ? size - 1 : 1);
	memcpy(s, data + 1, size - 1);
	switch (data[0] % 5) {
	case 0:
		fuzz_vpw(s, size - 1);
		break;
	case 1:
		fuzz_dotqmail(s, size - 1);
		break;
	case 2:
		fuzz_uidmap(s, size - 1);
		break;
	case 3:
		fuzz_legacy(s, size - 1);
		break;
	default:
		fuzz_msgname(s, size - 1);
		break;
	}
	free(s);
	return 0;
}

/* Vacation replies (vacation.h).  When not to answer follows RFC 3834
 * section 2 (never to the null sender, never to mail that says it was
 * sent automatically) and RFC 5230 section 4.5 (not to lists, bulk mail
 * or robot senders, and only to mail that names the user in To, Cc or
 * Bcc, or their Resent- forms).  The reply follows RFC 3834 section 3:
 * From the user, to the envelope sender, "Auto-Submitted: auto-replied",
 * In-Reply-To and References from the original, a subject that shows it
 * is an answer.  Peer text taken into the reply (the original's subject
 * and message ids) is decoded, cleaned and bounded here. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "mime/mime.h"
#include "queue/vacation.h"

#define VACATION_ADDR_MAX 320
#define VACATION_SUBJECT_MAX 200	/* octets kept of the original's */
#define VACATION_MSGID_MAX 250		/* longer ids are dropped */
#define VACATION_REFS_MAX 8		/* ids kept from References */
#define VACATION_LINE_MAX 900		/* longer body lines: base64 */

struct vacation_scan {
	const struct vacation_in *in;
	struct vacation_orig *o;
	enum vacation_verdict verdict;	/* the first reason found */
	bool addressed, have_subject, have_msgid, have_refs;
};

/* Octets of the UTF-8 sequence at p (shortest form, no surrogates, at
 * most U+10FFFF), 0 when there is none. */
static size_t
vacation_utf8(const unsigned char *p, size_t n)
{
	unsigned cp, len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1fu;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0fu;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07u;
	else
		return 0;
	if (n < len)
		return 0;
	for (unsigned i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* The first word of a field value (up to white space, ';', ',' or a
 * comment), compared case-blind with word. */
static bool
vacation_first_word_is(const struct mime_field *f, const char *word)
{
	size_t n = 0, wl = strlen(word);

	while (n < f->value_len && strchr(" \t;,(", f->value[n]) == NULL)
		n++;
	return n == wl && strncasecmp(f->value, word, wl) == 0;
}

/* True when the comma-separated value lists word (case-blind). */
static bool
vacation_list_has(const char *v, size_t len, const char *word)
{
	size_t wl = strlen(word), i = 0;

	while (i < len) {
		size_t s, e;

		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < len && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == wl && strncasecmp(v + s, word, wl) == 0)
			return true;
	}
	return false;
}

/* addr ("local@domain" as written) normalised as the configuration
 * normalises addresses, into dst.  false when it does not fit or has
 * no '@'. */
static bool
vacation_norm(const struct vacation_in *in, const char *addr, char *dst,
    size_t size)
{
	size_t len = strlen(addr);
	char *at;

	if (len == 0 || len >= size)
		return false;
	memcpy(dst, addr, len + 1);
	if ((at = strrchr(dst, '@')) == NULL || at == dst)
		return false;
	for (char *p = in->case_sensitive_local ? at : dst; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return true;
}

/* True when addr (normalised), or addr without its +extension, is one
 * of the user's. */
static bool
vacation_is_users(const struct vacation_in *in, const char *addr)
{
	char base[VACATION_ADDR_MAX];
	const char *at = strrchr(addr, '@');
	size_t n;

	for (size_t i = 0; i < in->naddrs; i++)
		if (strcmp(addr, in->addrs[i]) == 0)
			return true;
	if (at == NULL || in->delimiter == NULL || in->delimiter[0] == '\0')
		return false;
	n = strcspn(addr, in->delimiter);
	if (n == 0 || addr + n >= at || n + strlen(at) >= sizeof(base))
		return false;
	memcpy(base, addr, n);
	memcpy(base + n, at, strlen(at) + 1);
	for (size_t i = 0; i < in->naddrs; i++)
		if (strcmp(base, in->addrs[i]) == 0)
			return true;
	return false;
}

/* An address field: does it name the user? */
static void
vacation_scan_addrs(struct vacation_scan *sc, const struct mime_field *f)
{
	struct mime_address *list = mime_address_parse(f->value, f->value_len);
	char norm[VACATION_ADDR_MAX];

	for (struct mime_address *a = list; a != NULL && !sc->addressed;
	    a = a->next)
		if (a->kind == MIME_ADDR_MAILBOX && a->addr != NULL &&
		    !a->invalid && vacation_norm(sc->in, a->addr, norm,
		    sizeof(norm)))
			sc->addressed = vacation_is_users(sc->in, norm);
	mime_address_free(&list);
}

/* The original's subject: encoded words decoded, control characters
 * and broken UTF-8 made harmless, cut at a character boundary. */
static void
vacation_take_subject(struct vacation_orig *o, const struct mime_field *f)
{
	struct fbuf dec;
	const unsigned char *p;
	size_t n;

	fbuf_init(&dec, 0);
	mime_encword_decode(f->value, f->value_len, &dec);
	p = (const unsigned char *)dec.data;
	for (size_t i = 0; i < dec.len; i += n) {
		n = vacation_utf8(p + i, dec.len - i);
		if (o->subject.len + (n > 0 ? n : 1) > VACATION_SUBJECT_MAX)
			break;
		if (n == 0 || p[i] < 0x20 || p[i] == 0x7f) {
			fbuf_addc(&o->subject, n == 0 ? '?' : ' ');
			n = n == 0 ? 1 : n;
		} else
			fbuf_add(&o->subject, p + i, n);
	}
	fbuf_release(&dec);
}

/* Message ids of a field, each "<...>" of printable ASCII and bounded. */
static void
vacation_msgid_cb(void *ctx, const char *id, size_t len)
{
	struct fbuf *out = ctx;
	size_t count = 0;

	if (len > VACATION_MSGID_MAX)
		return;
	for (size_t i = 0; i < len; i++)
		if (id[i] <= 0x20 || id[i] >= 0x7f)
			return;
	/* Keep the last few: drop the oldest when full. */
	for (size_t i = 0; i < out->len; i++)
		count += out->data[i] == ' ';
	if (out->len > 0 && count + 1 >= VACATION_REFS_MAX) {
		const char *sp = memchr(out->data, ' ', out->len);

		fbuf_consume(out, (size_t)(sp - out->data) + 1);
	}
	if (out->len > 0)
		fbuf_addc(out, ' ');
	fbuf_add(out, id, len);
}

static void
vacation_first_msgid_cb(void *ctx, const char *id, size_t len)
{
	struct fbuf *out = ctx;

	if (out->len == 0)
		vacation_msgid_cb(ctx, id, len);
}

static void
vacation_set(struct vacation_scan *sc, enum vacation_verdict v)
{
	if (sc->verdict == VACATION_ANSWER)
		sc->verdict = v;
}

static void
vacation_field(void *ctx, const struct mime_field *f)
{
	struct vacation_scan *sc = ctx;

	if (mime_field_is(f, "Auto-Submitted")) {
		if (!vacation_first_word_is(f, "no"))
			vacation_set(sc, VACATION_AUTO);
	} else if (mime_field_is(f, "Precedence")) {
		if (vacation_first_word_is(f, "bulk") ||
		    vacation_first_word_is(f, "list") ||
		    vacation_first_word_is(f, "junk"))
			vacation_set(sc, VACATION_PRECEDENCE);
	} else if (mime_field_is(f, "List-Id") ||
	    mime_field_is(f, "List-Unsubscribe") ||
	    mime_field_is(f, "List-Post")) {
		vacation_set(sc, VACATION_LIST);
	} else if (mime_field_is(f, "X-Auto-Response-Suppress")) {
		if (vacation_list_has(f->value, f->value_len, "all") ||
		    vacation_list_has(f->value, f->value_len, "oof"))
			vacation_set(sc, VACATION_SUPPRESSED);
	} else if (mime_field_is(f, "To") || mime_field_is(f, "Cc") ||
	    mime_field_is(f, "Bcc") || mime_field_is(f, "Resent-To") ||
	    mime_field_is(f, "Resent-Cc") || mime_field_is(f, "Resent-Bcc")) {
		if (!sc->addressed)
			vacation_scan_addrs(sc, f);
	} else if (mime_field_is(f, "Subject") && !sc->have_subject) {
		sc->have_subject = true;
		vacation_take_subject(sc->o, f);
	} else if (mime_field_is(f, "Message-ID") && !sc->have_msgid) {
		sc->have_msgid = true;
		mime_msgid_list(f->value, f->value_len,
		    vacation_first_msgid_cb, &sc->o->message_id);
	} else if (mime_field_is(f, "References") && !sc->have_refs) {
		sc->have_refs = true;
		mime_msgid_list(f->value, f->value_len, vacation_msgid_cb,
		    &sc->o->references);
	}
}

/* Local parts that are programs, not people (RFC 5230 4.5 names the
 * first ones; the no-reply family says so itself). */
static bool
vacation_robot(const char *sender)
{
	static const char *const names[] = { "mailer-daemon", "listserv",
		"majordomo", "noreply", "no-reply", "donotreply",
		"do-not-reply" };
	static const char *const suffixes[] = { "-request", "-owner",
		"-bounces" };
	const char *at = strrchr(sender, '@');
	size_t n = at != NULL ? (size_t)(at - sender) : strlen(sender);

	if (n >= 6 && strncasecmp(sender, "owner-", 6) == 0)
		return true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (n == strlen(names[i]) &&
		    strncasecmp(sender, names[i], n) == 0)
			return true;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t sl = strlen(suffixes[i]);

		if (n > sl && strncasecmp(sender + n - sl, suffixes[i],
		    sl) == 0)
			return true;
	}
	return false;
}

enum vacation_verdict
vacation_check(const struct vacation_in *in, struct vacation_orig *o)
{
	struct vacation_scan sc;
	struct mime_limits l;
	char norm[VACATION_ADDR_MAX];

	fbuf_init(&o->subject, 0);
	fbuf_init(&o->message_id, 0);
	fbuf_init(&o->references, 0);
	memset(&sc, 0, sizeof(sc));
	sc.in = in;
	sc.o = o;
	mime_limits_default(&l);
	mime_header_parse(in->hdr, in->hdr_len < VACATION_HEADER_MAX ?
	    in->hdr_len : VACATION_HEADER_MAX, &l, vacation_field, &sc);
	if (in->sender[0] == '\0')
		return VACATION_NULL_SENDER;
	if (vacation_norm(in, in->sender, norm, sizeof(norm)) &&
	    vacation_is_users(in, norm))
		return VACATION_SELF;
	if (vacation_robot(in->sender))
		return VACATION_ROBOT_SENDER;
	if (sc.verdict != VACATION_ANSWER)
		return sc.verdict;
	return sc.addressed ? VACATION_ANSWER : VACATION_NOT_ADDRESSED;
}

void
vacation_orig_free(struct vacation_orig *o)
{
	fbuf_release(&o->subject);
	fbuf_release(&o->message_id);
	fbuf_release(&o->references);
}

const char *
vacation_verdict_name(enum vacation_verdict v)
{
	static const char *const names[] = {
		[VACATION_ANSWER] = "answer",
		[VACATION_NULL_SENDER] = "null-sender",
		[VACATION_SELF] = "own-address",
		[VACATION_ROBOT_SENDER] = "robot-sender",
		[VACATION_AUTO] = "auto-submitted",
		[VACATION_PRECEDENCE] = "precedence",
		[VACATION_LIST] = "list",
		[VACATION_SUPPRESSED] = "suppressed",
		[VACATION_NOT_ADDRESSED] = "not-addressed",
		[VACATION_OUT_OF_DATES] = "out-of-dates",
	};

	return (size_t)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

bool
vacation_in_dates(int64_t start, int64_t end, int64_t now)
{
	return (start == 0 || now >= start) && (end == 0 || now <= end);
}

/* ---- the reply ---- */

static void
vacation_base64(struct fbuf *out, const unsigned char *p, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		fbuf_addc(out, tab[v >> 18 & 63]);
		fbuf_addc(out, tab[v >> 12 & 63]);
		fbuf_addc(out, i + 1 < n ? tab[v >> 6 & 63] : '=');
		fbuf_addc(out, i + 2 < n ? tab[v & 63] : '=');
	}
}

/* True when s is printable ASCII that cannot be read as encoded words. */
static bool
vacation_plain(const char *s)
{
	for (const char *p = s; *p != '\0'; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return false;
	return strstr(s, "=?") == NULL;
}

/* "Name: text" with text in RFC 2047 encoded words (UTF-8, base64) of
 * at most 45 octets each, split between characters, one a line. */
static void
vacation_header_text(struct fbuf *out, const char *name, const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t len = strlen(text), i = 0;

	fbuf_addf(out, "%s: ", name);
	if (vacation_plain(text)) {
		fbuf_addf(out, "%s\r\n", text);
		return;
	}
	while (i < len) {
		size_t take = 0, n;

		while (i + take < len) {
			n = vacation_utf8(p + i + take, len - i - take);
			if (n == 0)
				n = 1;
			if (take + n > 45)
				break;
			take += n;
		}
		if (i > 0)
			fbuf_adds(out, "\r\n ");
		fbuf_adds(out, "=?UTF-8?B?");
		vacation_base64(out, p + i, take);
		fbuf_adds(out, "?=");
		i += take;
	}
	fbuf_adds(out, "\r\n");
}

/* The body with CRLF line ends: 7bit when it is ASCII with short lines,
 * else base64. */
static void
vacation_body(struct fbuf *out, const char *body)
{
	struct fbuf crlf;
	size_t line = 0;
	bool plain = true;

	fbuf_init(&crlf, 0);
	for (const char *p = body; *p != '\0'; p++) {
		if (*p == '\n') {
			fbuf_adds(&crlf, "\r\n");
			line = 0;
			continue;
		}
		fbuf_addc(&crlf, *p);
		if ((unsigned char)*p >= 0x80 || ++line > VACATION_LINE_MAX)
			plain = false;
	}
	if (crlf.len < 2 || memcmp(crlf.data + crlf.len - 2, "\r\n", 2) != 0)
		fbuf_adds(&crlf, "\r\n");
	fbuf_addf(out, "Content-Type: text/plain; charset=%s\r\n"
	    "Content-Transfer-Encoding: %s\r\n\r\n", plain ? "us-ascii" :
	    "utf-8", plain ? "7bit" : "base64");
	if (plain)
		fbuf_add(out, crlf.data, crlf.len);
	for (size_t i = 0; !plain && i < crlf.len; i += 57) {
		vacation_base64(out, (const unsigned char *)crlf.data + i,
		    crlf.len - i < 57 ? crlf.len - i : 57);
		fbuf_adds(out, "\r\n");
	}
	fbuf_release(&crlf);
}

void
vacation_compose(const struct vacation_reply *r,
    const struct vacation_orig *o, struct fbuf *out)
{
	char date[128];
	struct fbuf subject;

	fbuf_init(&subject, 0);
	if (r->subject != NULL && r->subject[0] != '\0')
		fbuf_adds(&subject, r->subject);
	else
		fbuf_addf(&subject, "Auto: %s", fbuf_str(&o->subject));
	str_date_utc(date, sizeof(date), r->now);
	fbuf_addf(out, "Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\n", date,
	    r->from, r->to);
	vacation_header_text(out, "Subject", fbuf_str(&subject));
	fbuf_addf(out, "Message-ID: %s\r\n", r->msgid);
	if (o->message_id.len > 0) {
		fbuf_addf(out, "In-Reply-To: %s\r\nReferences: ",
		    fbuf_str(&o->message_id));
		/* One id a line keeps every line short. */
		for (size_t i = 0; i < o->references.len; i++) {
			if (o->references.data[i] == ' ')
				fbuf_adds(out, "\r\n");
			fbuf_addc(out, o->references.data[i]);
		}
		fbuf_addf(out, "%s%s\r\n", o->references.len > 0 ? "\r\n " :
		    "", fbuf_str(&o->message_id));
	}
	fbuf_adds(out, "Auto-Submitted: auto-replied\r\n"
	    "X-Auto-Response-Suppress: All\r\nMIME-Version: 1.0\r\n");
	vacation_body(out, r->body);
	fbuf_release(&subject);
}

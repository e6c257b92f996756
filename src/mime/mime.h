/* Internet messages without I/O: RFC 5322 header fields (folding,
 * obsolete syntax tolerated), address lists, dates and message ids;
 * RFC 2045-2049 MIME structure (multipart, message/rfc822 nesting,
 * transfer encodings as streaming decoders), RFC 2047 encoded words and
 * RFC 2231 parameters.  Callers feed bytes in any chunking and get
 * events and a structure tree; nothing here opens a file or a socket.
 * Peer input never makes it fail: over a limit, parsing stops at the
 * limit and the result is flagged.  Strings handed out are
 * NUL-terminated; names and values are not trusted to be free of NUL
 * or 8-bit bytes (they are what the message says). */
#ifndef FERRY_MIME_H
#define FERRY_MIME_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct fbuf;

/* ---- limits ---- */

struct mime_limits {
	size_t header_max;	/* octets of one header section */
	unsigned fields_max;	/* fields in one header section */
	unsigned parts_max;	/* parts in the whole message */
	unsigned depth_max;	/* multipart / message nesting */
};

#define MIME_HEADER_MAX_DEFAULT	(256 * 1024)
#define MIME_FIELDS_MAX_DEFAULT	1000
#define MIME_PARTS_MAX_DEFAULT	1000
#define MIME_DEPTH_MAX_DEFAULT	32

/* Fills l with the defaults above. */
void mime_limits_default(struct mime_limits *l);

/* Flags on a part (and, or-ed together, on the parse as a whole). */
#define MIME_F_HEADER_TOO_BIG	0x01	/* fields past header_max ignored */
#define MIME_F_TOO_MANY_FIELDS	0x02	/* fields past fields_max ignored */
#define MIME_F_TOO_MANY_PARTS	0x04	/* structure not parsed further */
#define MIME_F_TOO_DEEP		0x08	/* nested content left unparsed */
#define MIME_F_NO_END_BOUNDARY	0x10	/* multipart without "--b--" */
#define MIME_F_NO_BOUNDARY	0x20	/* multipart without a boundary */
#define MIME_F_BAD_FIELD	0x40	/* a header line that is no field */
#define MIME_F_NO_BODY		0x80	/* input ended inside the header */

/* ---- header fields (RFC 5322 section 2.2, 3.6, 4.5) ---- */

/* One header field.  All pointers live until the callback returns. */
struct mime_field {
	const char *name;	/* as written, without WSP before ':' */
	size_t name_len;
	const char *raw;	/* the field as written, with its CRLF/LF */
	size_t raw_len;
	size_t value_pos;	/* raw[value_pos] is just after the ':' */
	const char *value;	/* unfolded value (CRLF before WSP removed),
				 * leading and trailing WSP trimmed */
	size_t value_len;
	uint64_t offset;	/* of raw[0] in the input */
};

typedef void mime_field_cb(void *ctx, const struct mime_field *f);

struct mime_header_parser;

/* A streaming parser for one header section; cb gets every field (it
 * may be NULL).  Lines end in CRLF or LF.  Lines that are no field
 * ("From " lines, junk, a leading continuation) are skipped and flagged
 * MIME_F_BAD_FIELD. */
struct mime_header_parser *mime_header_parser_new(const struct mime_limits *l,
    mime_field_cb *cb, void *ctx);
/* Feeds n octets; returns how many were header: fewer than n when the
 * empty line ending the section came inside data (the rest is body). */
size_t mime_header_parser_feed(struct mime_header_parser *p, const void *data,
    size_t n);
/* The input ended: hands out a field still pending. */
void mime_header_parser_finish(struct mime_header_parser *p);
/* True once the empty line ending the section was read. */
bool mime_header_parser_done(const struct mime_header_parser *p);
/* Octets of the section read so far (with the empty line once done). */
uint64_t mime_header_parser_size(const struct mime_header_parser *p);
unsigned mime_header_parser_flags(const struct mime_header_parser *p);
void mime_header_parser_free(struct mime_header_parser **pp);

/* Parses a whole header section hdr[0..len) (it may run on into the
 * body: parsing stops at the empty line).  Returns the section's size
 * with its empty line; l NULL means the defaults. */
size_t mime_header_parse(const void *hdr, size_t len,
    const struct mime_limits *l, mime_field_cb *cb, void *ctx);
/* Appends to out the unfolded values of every field called name
 * (case-blind) in hdr[0..len), each followed by ","; returns how many. */
unsigned mime_header_values(const void *hdr, size_t len, const char *name,
    struct fbuf *out);
/* Case-blind field name test. */
bool mime_field_is(const struct mime_field *f, const char *name);

/* ---- address lists (RFC 5322 section 3.4, 4.4) ---- */

enum mime_addr_kind {
	MIME_ADDR_MAILBOX,
	MIME_ADDR_GROUP_START,	/* mailbox = the group's display name */
	MIME_ADDR_GROUP_END
};

#define MIME_ADDR_MAX 512	/* longer addr-specs are unreadable */

struct mime_address {
	struct mime_address *next;
	enum mime_addr_kind kind;
	char *name;	/* display name: quotes and comments removed, words
			 * joined by one space, encoded words left as
			 * written (mime_encword_decode() them); for a
			 * bare addr-spec its comment ("a@x (Name)");
			 * NULL: none */
	char *route;	/* obsolete route "@a,@b"; NULL: none */
	char *mailbox;	/* local part as written (quotes kept); NULL: none */
	char *domain;	/* NULL: no '@' */
	char *addr;	/* the addr-spec as written, CFWS removed ("" for <>) */
	bool invalid;	/* not one clear address: text after <addr>, a
			 * second <, over MIME_ADDR_MAX, or <> */
};

/* The mailboxes and groups of the address list v[0..len) (an unfolded
 * field value), in order; NULL when there are none.  Empty elements
 * (", ,") produce nothing; "g:;" produces a group start and end.
 * Free with mime_address_free(). */
struct mime_address *mime_address_parse(const char *v, size_t len);
void mime_address_free(struct mime_address **ap);

/* ---- dates (RFC 5322 section 3.3, 4.3) ---- */

/* Parses a date-time (day name optional, obsolete zones, 2-digit years,
 * comments): 0 with the UTC time in *t_r and the zone's offset east of
 * UTC in minutes in *zone_r, or -1 when it is not a date. */
int mime_date_parse(const char *v, size_t len, time_t *t_r, int *zone_r);

/* ---- message ids (RFC 5322 section 3.6.4) ---- */

/* Calls cb with every "<id>" token (angle brackets included, CFWS
 * removed) in v[0..len), as In-Reply-To and References hold them;
 * returns how many.  Text outside angle brackets is skipped. */
typedef void mime_msgid_cb(void *ctx, const char *id, size_t len);
unsigned mime_msgid_list(const char *v, size_t len, mime_msgid_cb *cb,
    void *ctx);

/* ---- encoded words (RFC 2047) and charsets ---- */

/* Appends v[0..len) to out with encoded words decoded to UTF-8 (white
 * space between adjacent encoded words dropped).  A word in a charset
 * iconv does not know, or malformed, stays as written. */
void mime_encword_decode(const char *v, size_t len, struct fbuf *out);
/* Appends in[0..n) converted from charset to UTF-8: 0, or -1 when
 * iconv does not know the charset (out unchanged).  Invalid sequences
 * become U+FFFD.  "us-ascii" and "utf-8" are checked, not converted. */
int mime_charset_to_utf8(const char *charset, const void *in, size_t n,
    struct fbuf *out);

/* ---- parameters (RFC 2045 section 5.1, RFC 2183, RFC 2231) ---- */

struct mime_param {
	char *name;	/* lowercase, without "*" or section number */
	char *value;	/* continuations joined; decoded to UTF-8 when the
			 * parameter gave a charset iconv knows, else the
			 * %-decoded octets */
	char *charset;	/* RFC 2231 charset, NULL when none was given */
	char *language;	/* RFC 2231 language, NULL when none was given */
};

/* A Content-Type or Content-Disposition value: "type/subtype; p=v" or
 * "inline; p=v".  type (and subtype when sub_r is not NULL) lowercase,
 * NULL when missing or malformed.  Params in order of first
 * appearance, at most 64, names unique. */
struct mime_value {
	char *type;
	char *subtype;
	struct mime_param *params;
	size_t nparams;
};

/* want_subtype: parse "type/subtype" (Content-Type) or a single token
 * (Content-Disposition).  Never fails; free with mime_value_free(). */
void mime_value_parse(const char *v, size_t len, bool want_subtype,
    struct mime_value *out);
void mime_value_free(struct mime_value *v);
/* The value of parameter name (lowercase), or NULL. */
const char *mime_value_param(const struct mime_value *v, const char *name);

/* ---- transfer decoding (RFC 2045 section 6) ---- */

enum mime_cte {
	MIME_CTE_7BIT,		/* also 8bit, binary, unknown: identity */
	MIME_CTE_BASE64,
	MIME_CTE_QP
};

/* The encoding named by a Content-Transfer-Encoding value. */
enum mime_cte mime_cte_from_name(const char *name);

struct mime_decoder {
	enum mime_cte cte;
	unsigned bits, nbits;	/* base64 */
	char line[1024];	/* quoted-printable: the line so far */
	size_t nline;
	bool bad;		/* invalid input was seen (and skipped) */
};

void mime_decoder_init(struct mime_decoder *d, enum mime_cte cte);
/* Decodes in[0..n) onto out; state carries over between calls, so
 * any chunking gives the same result. */
void mime_decoder_feed(struct mime_decoder *d, const void *in, size_t n,
    struct fbuf *out);
/* The input ended: flushes what is held. */
void mime_decoder_finish(struct mime_decoder *d, struct fbuf *out);

/* ---- structure (RFC 2045, RFC 2046) ---- */

struct mime_part {
	struct mime_part *parent, *next;
	struct mime_part *children;	/* multipart: its parts;
					 * message/rfc822: the message */
	unsigned nchildren;
	unsigned depth;			/* 0 for the whole message */
	unsigned flags;			/* MIME_F_* */
	uint64_t hdr_offset, hdr_size;	/* with the empty line */
	uint64_t body_offset, body_size;
	uint64_t body_lines;		/* LFs, plus a last line without */
	/* Content-Type: lowercase; text/plain (message/rfc822 in a
	 * multipart/digest) when missing or malformed. */
	struct mime_value ctype;
	struct mime_value disposition;	/* type NULL when none */
	char *encoding;			/* lowercase CTE, NULL: none (7bit) */
	char *id;			/* Content-ID value, NULL: none */
	char *description;		/* raw value, NULL: none */
	char *language;			/* Content-Language raw value */
	char *location;			/* Content-Location, unfolded */
	char *md5;			/* Content-MD5 */
	char *boundary;			/* multipart: its boundary */
	bool multipart;			/* parsed as multipart: children */
	bool message;			/* parsed as message: one child */
};

enum mime_event_type {
	MIME_EVENT_PART_START,	/* part created, header follows */
	MIME_EVENT_FIELD,	/* one field of part's header */
	MIME_EVENT_HEADER_END,	/* part's Content-* fields are known */
	MIME_EVENT_BODY,	/* raw body octets of a leaf part */
	MIME_EVENT_PART_END	/* part's sizes are final */
};

/* data/len only for BODY (still transfer-encoded, see mime_decoder);
 * field only for FIELD.  The part lives until mime_part_free() of the
 * tree, the rest until the callback returns. */
struct mime_event {
	enum mime_event_type type;
	struct mime_part *part;
	const struct mime_field *field;
	const void *data;
	size_t len;
};

typedef void mime_event_cb(void *ctx, const struct mime_event *ev);

struct mime_parser;

/* l NULL means the defaults; cb may be NULL (structure only). */
struct mime_parser *mime_parser_new(const struct mime_limits *l,
    mime_event_cb *cb, void *ctx);
void mime_parser_feed(struct mime_parser *p, const void *data, size_t n);
/* Ends the input and hands the tree to the caller (free it with
 * mime_part_free()); the parser still has to be freed. */
struct mime_part *mime_parser_finish(struct mime_parser *p);
/* MIME_F_* of every part, or-ed. */
unsigned mime_parser_flags(const struct mime_parser *p);
void mime_parser_free(struct mime_parser **pp);

/* Appends the body of part (a part of the tree parsed from msg[0..len))
 * to out, transfer-decoded and, for "text" parts, converted to UTF-8
 * from its charset (unknown charsets: invalid UTF-8 becomes U+FFFD).
 * For IMAP SEARCH BODY/TEXT.  0, or -1 when the part does not lie
 * inside msg or is a multipart or message (out unchanged). */
int mime_part_text(const struct mime_part *part, const void *msg, size_t len,
    struct fbuf *out);
/* Parses a whole message; l NULL means the defaults. */
struct mime_part *mime_parse(const void *msg, size_t len,
    const struct mime_limits *l);
void mime_part_free(struct mime_part **pp);
/* The part an IMAP-style section number names ("1", "2.1.3"; "" is the
 * root), or NULL.  Numbers step into multiparts; a message/rfc822
 * part's number names its message's body (RFC 3501 6.4.5). */
const struct mime_part *mime_part_find(const struct mime_part *root,
    const char *section);

/* ---- envelope (what IMAP's ENVELOPE shows; no IMAP syntax) ---- */

struct mime_envelope {
	char *date;		/* raw values, unfolded; NULL: absent */
	char *subject;
	struct mime_address *from, *sender, *reply_to, *to, *cc, *bcc;
	char *in_reply_to;
	char *message_id;
	bool has_date;		/* date parsed into date_t/date_zone */
	time_t date_t;
	int date_zone;
};

/* Builds the envelope from a header section hdr[0..len) (the first of
 * each field counts).  Sender and Reply-To are left NULL when absent:
 * the IMAP layer substitutes From as RFC 3501 asks. */
void mime_envelope_parse(const void *hdr, size_t len,
    struct mime_envelope *env);
void mime_envelope_free(struct mime_envelope *env);

#endif

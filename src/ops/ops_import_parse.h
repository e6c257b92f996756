/* The file formats of a vpopmail tree that `ferry import vpopmail` reads
 * (ops_import.h): vpasswd lines, the quota field, .qmail files and their
 * names, and the UID lists Courier-IMAP and Dovecot leave in Maildirs.
 * Pure parsers with explicit limits and no I/O, so they can be fuzzed
 * (tests/fuzz/fuzz_import_parse.c).  Every input is hostile: a parser
 * either fills its result or fails with a static reason. */
#ifndef FERRY_OPS_IMPORT_PARSE_H
#define FERRY_OPS_IMPORT_PARSE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OPS_VPW_LINE_MAX 4096
#define OPS_DQ_LINE_MAX 1024
#define OPS_DQ_LINES_MAX 1000

/* vpopmail's per-user flags (pw_gid) that change what a user may do or
 * where its mail goes; Ferry has no per-user switch for them. */
#define OPS_VPW_NO_POP 0x02
#define OPS_VPW_NO_IMAP 0x08
#define OPS_VPW_BOUNCE_MAIL 0x10
#define OPS_VPW_NO_SMTP 0x800

/* One vpasswd line: name:hash:uid:gid:gecos:dir:quota[:clear]. */
struct ops_vpw {
	char name[256];		/* the local part as written */
	char hash[256];		/* crypt(3) hash, may be "" */
	unsigned long uid;
	unsigned long flags;	/* vpopmail keeps its flags in pw_gid */
	char gecos[256];
	char dir[1024];		/* the user's directory on the old host */
	char quota[64];
	char clear[256];	/* clear-text password, "" when absent */
};

/* Parses one line (without its LF; a trailing CR is dropped).  0, or -1
 * with *error_r when it is malformed: wrong field count, a field too
 * long, a control octet, an empty or unsafe name ('/', leading '.'),
 * non-numeric uid/gid. */
int ops_vpw_parse(const char *line, size_t len, struct ops_vpw *e,
    const char **error_r);

/* vpopmail's quota field: "NOQUOTA" or "" (none: 0), "<bytes>",
 * "<bytes>S", optionally with ",<count>C" (either part alone too).
 * *bytes_r and *count_r are 0 when absent.  0 or -1 with *error_r. */
int ops_vpw_quota(const char *s, uint64_t *bytes_r, uint64_t *count_r,
    const char **error_r);

/* What a line of a .qmail file does (dot-qmail(5)). */
enum ops_dq_kind {
	OPS_DQ_FORWARD,		/* "&addr" or "addr": forward */
	OPS_DQ_MAILDIR,		/* "/path/" or "./path/": Maildir delivery */
	OPS_DQ_MBOX,		/* "/path" or "./path": mbox file */
	OPS_DQ_PROGRAM,		/* "|command" other than vdelivermail */
	OPS_DQ_VDELIVER		/* "|.../vdelivermail '' ARG": arg is ARG */
};

struct ops_dq_item {
	enum ops_dq_kind kind;
	unsigned line;		/* 1-based line number in the file */
	char *arg;		/* address, path, command or ARG (malloc'd) */
};

struct ops_dotqmail {
	struct ops_dq_item *v;
	size_t n;
};

/* Parses a .qmail file's text (len octets, any content).  Comments
 * ('#') and blank lines are skipped.  0 (q filled; free it with
 * ops_dotqmail_free) or -1 with *error_r (q then empty): a NUL or
 * control octet, a line or file over the limits, an empty command. */
int ops_dotqmail_parse(const char *text, size_t len, struct ops_dotqmail *q,
    const char **error_r);
void ops_dotqmail_free(struct ops_dotqmail *q);

enum ops_dqn {
	OPS_DQN_LOCAL = 1,	/* ".qmail-LOCAL": local part in dst */
	OPS_DQN_DEFAULT = 2,	/* ".qmail-default": the catch-all */
	OPS_DQN_WILDCARD = 3	/* ".qmail-PREFIX-default": dst = PREFIX */
};

/* The local part a .qmail-* file name stands for (':' means '.', lower
 * case as qmail-local looks it up).  Returns an ops_dqn, or -1 when name
 * is not a .qmail-* name or names no valid local part. */
int ops_dotqmail_name(const char *name, char *dst, size_t size);

/* A Maildir file name Ferry can take as is: 1..255 printable ASCII
 * octets without '/' or space, not starting with '.', and at most one
 * ':' (the info part).  Base name = up to the ':'. */
bool ops_import_msgname_ok(const char *name);

/* A UID list left by another IMAP server: base name -> UID. */
struct ops_uidmap_entry {
	char *base;
	uint32_t uid;
};

struct ops_uidmap {
	uint32_t uidvalidity;
	uint32_t next_uid;
	struct ops_uidmap_entry *v;	/* sorted by base name */
	size_t n;
};

/* A UID list of Courier-IMAP (courierimapuiddb) or Dovecot
 * (dovecot-uidlist), told apart by the version on the first line:
 * "1 <validity> <next>" then "<uid> <name>" lines (Dovecot 1.0 and
 * Courier's version 1), "2 <validity> <next>" then "<name> <uid>"
 * (Courier's version 2), "3 V<validity> N<next> ..." then
 * "<uid> [<ext> ...] :<name>" (Dovecot 1.1 and later).  Names are cut
 * at ':' to base names.  Entries whose name is not a valid base name,
 * whose UID is 0 or not below next, or which repeat a UID or a name are
 * dropped.  0 (m filled) or -1 with *error_r (m empty). */
int ops_uidmap_parse(const char *text, size_t len, struct ops_uidmap *m,
    const char **error_r);
/* The UID of base (n octets), or 0. */
uint32_t ops_uidmap_find(const struct ops_uidmap *m, const char *base,
    size_t n);
void ops_uidmap_free(struct ops_uidmap *m);

#endif

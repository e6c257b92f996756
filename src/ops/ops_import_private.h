/* Inside the vpopmail import (ops_import.h): the state of one run, the
 * file helpers that never follow a symbolic link, and the Maildir copy
 * (ops_import_mail.c).  Not for use outside src/ops/ops_import*.c. */
#ifndef FERRY_OPS_IMPORT_PRIVATE_H
#define FERRY_OPS_IMPORT_PRIVATE_H
#include <stdbool.h>
#include <stddef.h>

#include "lib/fbuf.h"
#include "ops/ops_import.h"

#define OPS_IMP_FILE_MAX (64u << 20)	/* vpasswd and uid lists */
#define OPS_IMP_DOTQMAIL_MAX 65536

/* A user of the domain being imported. */
struct ops_imp_user {
	char addr[320];		/* normalised address */
	char rel[1024];		/* its directory below the domain's */
};

struct ops_imp {
	const struct ops_ctx *c;
	const struct ops_import_opts *o;
	struct ops_import_result *r;
	char domain[256];
	int domfd;			/* the domain's directory */
	struct ops_imp_user *users;
	size_t nusers;
	size_t since_progress;		/* messages since the last report */
	bool copied;			/* a message of this user copied */
};

/* Adds a note (printf-style text; control octets are made visible). */
void ops_imp_note(struct ops_imp *im, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Whether the caller asked to stop (the signal flag). */
bool ops_imp_stopping(const struct ops_imp *im);
void ops_imp_progress(struct ops_imp *im, const char *where);

/* openat of a directory below dirfd, never through a symlink: the fd, or
 * -1 with errno (ELOOP or ENOTDIR for a symlink). */
int ops_imp_opendir(int dirfd, const char *name);
/* A regular file below dirfd (no symlink, no FIFO) read whole into b,
 * at most max octets.  0, or -1 with errno (ENOENT, ELOOP, EFBIG...). */
int ops_imp_readfile(int dirfd, const char *name, struct fbuf *b,
    size_t max);
/* The names in directory fd (not "." or ".."), sorted: *names_r is
 * malloc'd (free with ops_imp_names_free).  0 or -1 with errno. */
int ops_imp_names(int fd, char ***names_r, size_t *n_r);
void ops_imp_names_free(char **names, size_t n);
/* Text for a note: the name with control and non-ASCII octets as '?',
 * at most 80 of them, in a static buffer per call site's dst. */
void ops_imp_clean(char *dst, size_t size, const char *name);

/* Copies the Maildir below userfd ("Maildir": its folders, messages with
 * their flags, kept POP3 UIDLs, Courier/Dovecot UID lists) into addr's
 * Ferry Maildir.  0, or -1 when the import must stop (interrupted or a
 * write failed; a note says which). */
int ops_imp_mailbox(struct ops_imp *im, int userfd, const char *addr);

#endif

/* Importing a qmail + vpopmail installation (`ferry import vpopmail`):
 * domains, users with their crypt(3) hashes and quotas, Maildirs with
 * folders, flags and kept POP3 UIDLs (legacy_uidl.h), IMAP UIDs from
 * Courier or Dovecot UID lists, and the .qmail files of each domain as
 * aliases, forwards and catch-alls.  The source tree is only read;
 * messages are copied.  Blocking (store and file I/O): command line only.
 *
 * Every step is atomic on its own (a store call, or a message written to
 * tmp/, fsynced and renamed), so an import stopped at any point leaves a
 * consistent state, and running it again completes it: what is present
 * already is counted as such and left alone, never changed.  The result
 * says what was done and lists what could not be mapped, for the edge
 * to print; nothing here prints. */
#ifndef FERRY_OPS_IMPORT_H
#define FERRY_OPS_IMPORT_H
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/ops_account.h"

struct ops_import_counts {
	size_t domains, users, aliases, catchalls, folders, messages;
	uint64_t bytes;			/* of the messages */
};

/* Something the import could not map, or mapped differently. */
struct ops_import_note {
	char *where;			/* "example.org", "a@example.org", ... */
	char *text;			/* one line for people */
};

struct ops_import_result {
	bool dry_run;
	bool interrupted;		/* *stop was set: run again to finish */
	struct ops_import_counts added;	/* done now (dry run: would be) */
	struct ops_import_counts kept;	/* there already, left as it is */
	struct ops_import_note *notes;
	size_t nnotes, capnotes;
	size_t notes_dropped;		/* past OPS_IMPORT_NOTES_MAX */
};

#define OPS_IMPORT_NOTES_MAX 10000

struct ops_import_opts {
	const char *dir;		/* vpopmail's home or its domains/ */
	const char *state_dir;		/* where the Maildirs go */
	bool dry_run;			/* report only, change nothing */
	/* Called after each user and every 100 messages (may be NULL);
	 * where names the current user. */
	void (*progress)(const struct ops_import_result *r,
	    const char *where, void *ctx);
	void *progress_ctx;
	/* When non-NULL and set (a signal handler's flag), the import
	 * stops at the next step boundary with r->interrupted. */
	volatile sig_atomic_t *stop;
};

/* Runs the import.  0 (r filled, possibly interrupted, possibly with
 * notes), or -1 with st when it cannot start (no such directory, no
 * domain found, not an admin) or the store fails; r then says how far it
 * got.  Free r with ops_import_result_free either way. */
int ops_import_vpopmail(const struct ops_ctx *c,
    const struct ops_import_opts *o, struct ops_import_result *r,
    struct ops_status *st);
void ops_import_result_free(struct ops_import_result *r);

#endif

/* What the SQLite backend's other files (store_send.c) use of
 * store_sqlite.c: statements of their own kept per connection in slots,
 * the connection's lock, transactions and the change counter.  Private
 * to src/store/. */
#ifndef FERRY_STORE_SQLITE_PRIVATE_H
#define FERRY_STORE_SQLITE_PRIVATE_H
#include <sqlite3.h>

struct store;

/* Statement slots for files other than store_sqlite.c. */
#define STORE_XST_MAX 32

/* The statement of slot (prepared from sql at its first use on this
 * connection, then reset and unbound on each call), or NULL when it
 * cannot be prepared.  Call with the lock held. */
sqlite3_stmt *store_sqlite_xstmt(struct store *s, unsigned slot,
    const char *sql);
void store_sqlite_lock(struct store *s);
void store_sqlite_unlock(struct store *s);
/* BEGIN IMMEDIATE / COMMIT (rolled back when it fails) / ROLLBACK, with
 * the lock held.  0 or -1. */
int store_sqlite_begin(struct store *s);
int store_sqlite_commit(struct store *s);
void store_sqlite_rollback(struct store *s);
/* Bumps the change counter after a committed change (store_gen.h). */
void store_sqlite_changed(struct store *s);
/* "what: <sqlite message>" in a per-thread buffer. */
const char *store_sqlite_err(struct store *s, const char *what);
/* Rows changed by the last statement. */
int store_sqlite_changes(struct store *s);

#endif

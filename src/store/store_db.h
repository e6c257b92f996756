/* Inside the store (private to src/store/): the database drivers under
 * the store's logic.  store_sql.c and store_send.c hold every query, in
 * the SQL dialect SQLite and PostgreSQL share (?N parameters, ON
 * CONFLICT upserts, RETURNING); a driver (store_db_sqlite.c,
 * store_db_pg.c) owns a connection, its schema and migrations, its
 * transactions, its change counter, and runs those statements through
 * the small cursor below.  store_open() picks the driver from the path:
 * "postgresql://" or "postgres://" is PostgreSQL, anything else a
 * SQLite file. */
#ifndef FERRY_STORE_DB_H
#define FERRY_STORE_DB_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct store_db_ops;

/* The schema version both drivers migrate to: each has this many
 * migrations, the same tables and columns under the same numbers. */
#define STORE_SCHEMA_VERSION 10

/* The first member of every driver's connection and statement. */
struct store_db {
	const struct store_db_ops *ops;
};
struct store_stmt {
	const struct store_db_ops *ops;
};

/* What a step returns. */
enum store_db_rc {
	STORE_DB_ROW = 1,	/* a row is there: read its columns */
	STORE_DB_DONE,		/* no more rows (or a statement without rows ran) */
	STORE_DB_CONSTRAINT,	/* a unique, foreign key or not-null violation */
	STORE_DB_ERROR		/* anything else (errmsg says what) */
};

struct store_db_ops {
	const char *name;
	/* Connects to path, creating or migrating the schema: 0, or -1
	 * with *error_r (a static or per-thread string) and *unreachable_r
	 * true when the server did not answer.  flags: store.h
	 * STORE_OPEN_*. */
	int (*open)(struct store_db **dbp, const char *path, unsigned flags,
	    bool *unreachable_r, const char **error_r);
	void (*close)(struct store_db **dbp);
	/* A statement of sql (?N parameters), NULL when it cannot be
	 * made.  Lives until finalize. */
	struct store_stmt *(*prepare)(struct store_db *db, const char *sql);
	void (*finalize)(struct store_stmt *st);
	/* Bound values are copied (text may be freed after the call). */
	void (*bind_text)(struct store_stmt *st, int idx, const char *v);
	void (*bind_int)(struct store_stmt *st, int idx, int64_t v);
	int (*step)(struct store_stmt *st);	/* enum store_db_rc */
	/* Ends the statement's run and clears its bindings. */
	void (*reset)(struct store_stmt *st);
	/* Columns of the current row: text never NULL (NULL reads ""). */
	const char *(*col_text)(struct store_stmt *st, int col);
	int64_t (*col_int)(struct store_stmt *st, int col);
	/* Rows changed by the last statement that ran. */
	int (*changes)(struct store_db *db);
	const char *(*errmsg)(struct store_db *db);
	/* A write transaction: writers of the whole database run one after
	 * the other, as SQLite's BEGIN IMMEDIATE.  0 or -1. */
	int (*begin)(struct store_db *db);
	int (*commit)(struct store_db *db);
	/* A commit that need not be on disk when it returns (NULL: as
	 * commit): for soft state whose last changes a crash may lose,
	 * never for anything that acknowledges mail.  SQLite's commit
	 * (WAL, synchronous = NORMAL) never waits for an fsync anyway;
	 * PostgreSQL's waits for its WAL flush unless told otherwise. */
	int (*commit_soft)(struct store_db *db);
	void (*rollback)(struct store_db *db);
	/* store_generation() and the bump after a committed change. */
	int (*generation)(struct store_db *db, uint64_t *gen_r);
	void (*changed)(struct store_db *db);
	/* After store_copy() wrote rows with their own ids (NULL: nothing
	 * to do): 0 or -1. */
	int (*copied)(struct store_db *db);
};

extern const struct store_db_ops store_db_sqlite_ops;
extern const struct store_db_ops store_db_pg_ops;

/* The driver for path. */
const struct store_db_ops *store_db_pick(const char *path);

/* The cursor for the store's logic; a NULL statement (one that could
 * not be prepared) steps to STORE_DB_ERROR and ignores the rest. */
static inline void
store_st_text(struct store_stmt *st, int idx, const char *v)
{
	if (st != NULL)
		st->ops->bind_text(st, idx, v);
}

static inline void
store_st_int(struct store_stmt *st, int idx, int64_t v)
{
	if (st != NULL)
		st->ops->bind_int(st, idx, v);
}

static inline int
store_st_step(struct store_stmt *st)
{
	return st != NULL ? st->ops->step(st) : STORE_DB_ERROR;
}

static inline void
store_st_reset(struct store_stmt *st)
{
	if (st != NULL)
		st->ops->reset(st);
}

/* Steps a statement that returns no rows and resets it: 0 when it ran
 * to its end, -1 otherwise (st NULL included). */
static inline int
store_st_exec(struct store_stmt *st)
{
	int rc = store_st_step(st);

	store_st_reset(st);
	return rc == STORE_DB_DONE ? 0 : -1;
}

/* *error_r = msg, when the caller asked (error_r not NULL). */
static inline void
store_db_seterr(const char **error_r, const char *msg)
{
	if (error_r != NULL)
		*error_r = msg;
}

static inline const char *
store_st_col_text(struct store_stmt *st, int col)
{
	return st != NULL ? st->ops->col_text(st, col) : "";
}

static inline int64_t
store_st_col_int(struct store_stmt *st, int col)
{
	return st != NULL ? st->ops->col_int(st, col) : 0;
}

/* The connection under s. */
struct store_db *store_db_of(struct store *s);

/* Statement slots for files other than store_sql.c: store_send.c takes
 * them from 0, store_hist.c from STORE_XST_HIST (32 to 47), store_node.c
 * from STORE_XST_NODE (48 to 63), store_dmarc_in.c from
 * STORE_XST_DMARC. */
#define STORE_XST_MAX 80
#define STORE_XST_HIST 32	/* store_hist.c: 32 to 47 */
#define STORE_XST_NODE 48	/* store_node.c: 48 to 63 */
#define STORE_XST_DMARC 64	/* store_dmarc_in.c: 64 to 79 */

/* The statement of slot (prepared from sql at its first use on this
 * connection, then reset and unbound on each call), or NULL when it
 * cannot be prepared.  Call with the lock held. */
struct store_stmt *store_db_xstmt(struct store *s, unsigned slot,
    const char *sql);
void store_db_lock(struct store *s);
void store_db_unlock(struct store *s);
/* Begin (writers one at a time) / COMMIT (rolled back when it fails) /
 * ROLLBACK, with the lock held.  0 or -1. */
int store_db_begin(struct store *s);
int store_db_commit(struct store *s);
/* As store_db_commit, soft (commit_soft above). */
int store_db_commit_soft(struct store *s);
void store_db_rollback(struct store *s);
/* Bumps the change counter after a committed change (store.h). */
void store_db_changed(struct store *s);
/* "what: <database message>" in a per-thread buffer. */
const char *store_db_err(struct store *s, const char *what);
/* Rows changed by the last statement. */
int store_db_changes(struct store *s);

#endif

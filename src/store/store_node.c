/* The nodes sharing one store and each domain's home node (store.h,
 * migration 8).  Plain rows: what an address means, and when mail
 * or a login goes to another node, is for queue/queue_home.c and the
 * mailbox proxy to decide.  A node that is still some domain's home
 * cannot be deleted (the foreign key says so too; the count here makes
 * the message useful).  Every change bumps the change counter, so the
 * roles' caches see a new home at once. */
#include <stdio.h>
#include <string.h>

#include "lib/strutil.h"
#include "store/store.h"
#include "store/store_db.h"

enum store_node_slot {
	NODE_ST_ADD = STORE_XST_NODE,
	NODE_ST_REPLACE,
	NODE_ST_DEL,
	NODE_ST_GET,
	NODE_ST_LIST,
	NODE_ST_HOMED,
	NODE_ST_HOME_SET,
	NODE_ST_HOME_DEL,
	NODE_ST_HOME_GET,
	NODE_ST_HOME_LIST,
	NODE_ST_DOMAIN_EXISTS,
	NODE_ST_END
};

#define NODE_COLS "name, smtp, imap, pop3"

static const char *const store_node_sql[NODE_ST_END - STORE_XST_NODE] = {
	[NODE_ST_ADD - STORE_XST_NODE] =
	    "INSERT INTO nodes (name, smtp, imap, pop3) "
	    "VALUES (?1, ?2, ?3, ?4)",
	[NODE_ST_REPLACE - STORE_XST_NODE] =
	    "UPDATE nodes SET smtp = ?2, imap = ?3, pop3 = ?4 WHERE name = ?1",
	[NODE_ST_DEL - STORE_XST_NODE] = "DELETE FROM nodes WHERE name = ?1",
	[NODE_ST_GET - STORE_XST_NODE] =
	    "SELECT " NODE_COLS " FROM nodes WHERE name = ?1",
	[NODE_ST_LIST - STORE_XST_NODE] =
	    "SELECT " NODE_COLS " FROM nodes ORDER BY name",
	[NODE_ST_HOMED - STORE_XST_NODE] =
	    "SELECT COUNT(*) FROM domain_homes WHERE node = ?1",
	[NODE_ST_HOME_SET - STORE_XST_NODE] =
	    "INSERT INTO domain_homes (domain, node) VALUES (?1, ?2) "
	    "ON CONFLICT (domain) DO UPDATE SET node = excluded.node "
	    "WHERE domain_homes.node <> excluded.node",
	[NODE_ST_HOME_DEL - STORE_XST_NODE] =
	    "DELETE FROM domain_homes WHERE domain = ?1",
	[NODE_ST_HOME_GET - STORE_XST_NODE] =
	    "SELECT n.name, n.smtp, n.imap, n.pop3 FROM domain_homes h "
	    "JOIN nodes n ON n.name = h.node WHERE h.domain = ?1",
	[NODE_ST_HOME_LIST - STORE_XST_NODE] =
	    "SELECT domain, node FROM domain_homes ORDER BY domain",
	[NODE_ST_DOMAIN_EXISTS - STORE_XST_NODE] =
	    "SELECT 1 FROM domains WHERE name = ?1",
};

static struct store_stmt *
store_node_stmt(struct store *s, enum store_node_slot id)
{
	return store_db_xstmt(s, (unsigned)id,
	    store_node_sql[id - STORE_XST_NODE]);
}

/* Steps a statement without rows: its enum store_db_rc. */
static int
store_node_exec(struct store_stmt *st)
{
	int rc;

	if (st == NULL)
		return STORE_DB_ERROR;
	rc = store_st_step(st);
	store_st_reset(st);
	return rc;
}

static void
store_node_read(struct store_stmt *st, struct store_node *n)
{
	memset(n, 0, sizeof(*n));
	str_lcpy(n->name, store_st_col_text(st, 0), sizeof(n->name));
	str_lcpy(n->smtp, store_st_col_text(st, 1), sizeof(n->smtp));
	str_lcpy(n->imap, store_st_col_text(st, 2), sizeof(n->imap));
	str_lcpy(n->pop3, store_st_col_text(st, 3), sizeof(n->pop3));
}

int
store_node_add(struct store *s, const struct store_node *n, bool replace,
    const char **error_r)
{
	struct store_stmt *st;
	int rc, ret = -1;

	store_db_lock(s);
	st = store_node_stmt(s, replace ? NODE_ST_REPLACE : NODE_ST_ADD);
	store_st_text(st, 1, n->name);
	store_st_text(st, 2, n->smtp);
	store_st_text(st, 3, n->imap);
	store_st_text(st, 4, n->pop3);
	rc = store_node_exec(st);
	if (rc == STORE_DB_CONSTRAINT)
		store_db_seterr(error_r, "node exists");
	else if (rc != STORE_DB_DONE)
		store_db_seterr(error_r, store_db_err(s, "node add"));
	else if (replace && store_db_changes(s) == 0)
		store_db_seterr(error_r, "no such node");
	else {
		store_db_changed(s);
		ret = 0;
	}
	store_db_unlock(s);
	return ret;
}

int
store_node_del(struct store *s, const char *name, const char **error_r)
{
	static __thread char why[128];
	struct store_stmt *st;
	int64_t homed = -1;
	int ret = -1;

	store_db_lock(s);
	st = store_node_stmt(s, NODE_ST_HOMED);
	store_st_text(st, 1, name);
	if (store_st_step(st) == STORE_DB_ROW)
		homed = store_st_col_int(st, 0);
	store_st_reset(st);
	if (homed < 0) {
		store_db_seterr(error_r, store_db_err(s, "node del"));
		goto out;
	}
	if (homed > 0) {
		snprintf(why, sizeof(why), "node is the home of %lld domain%s",
		    (long long)homed, homed == 1 ? "" : "s");
		store_db_seterr(error_r, why);
		goto out;
	}
	st = store_node_stmt(s, NODE_ST_DEL);
	store_st_text(st, 1, name);
	if (store_node_exec(st) != STORE_DB_DONE)
		store_db_seterr(error_r, store_db_err(s, "node del"));
	else if (store_db_changes(s) == 0)
		store_db_seterr(error_r, "no such node");
	else {
		store_db_changed(s);
		ret = 0;
	}
out:
	store_db_unlock(s);
	return ret;
}

int
store_node_get(struct store *s, const char *name, struct store_node *n)
{
	struct store_stmt *st;
	int rc;

	store_db_lock(s);
	st = store_node_stmt(s, NODE_ST_GET);
	store_st_text(st, 1, name);
	rc = store_st_step(st);
	if (rc == STORE_DB_ROW)
		store_node_read(st, n);
	store_st_reset(st);
	store_db_unlock(s);
	return rc == STORE_DB_ROW ? 1 : rc == STORE_DB_DONE ? 0 : -1;
}

int
store_node_list(struct store *s,
    void (*cb)(const struct store_node *n, void *ctx), void *ctx,
    const char **error_r)
{
	struct store_node n;
	struct store_stmt *st;
	int rc;

	store_db_lock(s);
	st = store_node_stmt(s, NODE_ST_LIST);
	while ((rc = store_st_step(st)) == STORE_DB_ROW) {
		store_node_read(st, &n);
		cb(&n, ctx);
	}
	store_st_reset(st);
	if (rc != STORE_DB_DONE)
		store_db_seterr(error_r, store_db_err(s, "node list"));
	store_db_unlock(s);
	return rc == STORE_DB_DONE ? 0 : -1;
}

/* With the lock held: 1, 0 or -1 (error_r set for 0 and -1). */
static int
store_node_home_check(struct store *s, const char *domain, const char *node,
    const char **error_r)
{
	struct store_stmt *st = store_node_stmt(s, NODE_ST_DOMAIN_EXISTS);
	int rc;

	store_st_text(st, 1, domain);
	rc = store_st_step(st);
	store_st_reset(st);
	if (rc != STORE_DB_ROW) {
		store_db_seterr(error_r, rc == STORE_DB_DONE ? "no such domain" :
		    store_db_err(s, "domain node"));
		return rc == STORE_DB_DONE ? 0 : -1;
	}
	if (node == NULL)
		return 1;
	st = store_node_stmt(s, NODE_ST_GET);
	store_st_text(st, 1, node);
	rc = store_st_step(st);
	store_st_reset(st);
	if (rc != STORE_DB_ROW) {
		store_db_seterr(error_r, rc == STORE_DB_DONE ? "no such node" :
		    store_db_err(s, "domain node"));
		return rc == STORE_DB_DONE ? 0 : -1;
	}
	return 1;
}

int
store_domain_home_set(struct store *s, const char *domain,
    const char *node, const char **error_r)
{
	char key[256];
	struct store_stmt *st;
	int ret = -1;

	if (str_lcpy(key, domain, sizeof(key)) >= sizeof(key)) {
		store_db_seterr(error_r, "no such domain");
		return -1;
	}
	str_lower(key);
	store_db_lock(s);
	if (store_node_home_check(s, key, node, error_r) <= 0)
		goto out;
	st = store_node_stmt(s, node != NULL ? NODE_ST_HOME_SET :
	    NODE_ST_HOME_DEL);
	store_st_text(st, 1, key);
	if (node != NULL)
		store_st_text(st, 2, node);
	if (store_node_exec(st) != STORE_DB_DONE) {
		store_db_seterr(error_r, store_db_err(s, "domain node"));
		goto out;
	}
	ret = store_db_changes(s) > 0 ? 1 : 0;
	if (ret > 0)
		store_db_changed(s);
out:
	store_db_unlock(s);
	return ret;
}

int
store_domain_home(struct store *s, const char *domain, struct store_node *n)
{
	char key[256];
	struct store_stmt *st;
	int rc;

	if (str_lcpy(key, domain, sizeof(key)) >= sizeof(key))
		return 0;
	str_lower(key);
	store_db_lock(s);
	st = store_node_stmt(s, NODE_ST_HOME_GET);
	store_st_text(st, 1, key);
	rc = store_st_step(st);
	if (rc == STORE_DB_ROW)
		store_node_read(st, n);
	store_st_reset(st);
	store_db_unlock(s);
	return rc == STORE_DB_ROW ? 1 : rc == STORE_DB_DONE ? 0 : -1;
}

int
store_domain_home_list(struct store *s,
    void (*cb)(const char *domain, const char *node, void *ctx), void *ctx,
    const char **error_r)
{
	struct store_stmt *st;
	int rc;

	store_db_lock(s);
	st = store_node_stmt(s, NODE_ST_HOME_LIST);
	while ((rc = store_st_step(st)) == STORE_DB_ROW)
		cb(store_st_col_text(st, 0), store_st_col_text(st, 1), ctx);
	store_st_reset(st);
	if (rc != STORE_DB_DONE)
		store_db_seterr(error_r, store_db_err(s, "domain homes"));
	store_db_unlock(s);
	return rc == STORE_DB_DONE ? 0 : -1;
}

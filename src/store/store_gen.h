/* The store's change counter: one 64-bit number in a small file beside
 * the database (ferry.db.gen), shared by every process through
 * mmap(MAP_SHARED).  A backend bumps it after each committed change that
 * a cached answer could depend on (domains, users, aliases, bans, rules;
 * not failure rows or the greylist); an event loop reads it with one
 * atomic load, no system call, to know whether what it cached is still
 * the truth (store.h, store_generation()).  Private to the backends and
 * store_req.c. */
#ifndef FERRY_STORE_GEN_H
#define FERRY_STORE_GEN_H
#include <stdint.h>

struct store_gen;

/* Maps dbpath's counter file, creating it (mode 0640, like the
 * database).  Never fails: on any error the result reads as unknown
 * (callers then cache nothing) and bumps do nothing. */
struct store_gen *store_gen_open(const char *dbpath);
void store_gen_close(struct store_gen **gp);
/* After a change has been committed. */
void store_gen_bump(struct store_gen *g);
/* 0 with the counter in *gen_r, or -1 when it is unknown (no file). */
int store_gen_read(const struct store_gen *g, uint64_t *gen_r);

#endif

/* The store's change counter (store_gen.h).  The file holds one page;
 * the counter is its first 8 bytes, in native byte order (the file
 * never leaves the machine).  The counter only grows: readers compare
 * it for equality, so wrapping would need 2^64 changes.  A change made
 * behind Ferry's back (sqlite3 at a prompt) does not bump it; a reload
 * clears the caches too (docs/design-notes.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/xalloc.h"
#include "store/store_gen.h"

#define STORE_GEN_SIZE 4096

struct store_gen {
	uint64_t *counter;		/* NULL: unknown */
};

static uint64_t *
store_gen_map(const char *dbpath)
{
	char path[4096];
	struct stat st;
	void *p;
	int fd, n;

	n = snprintf(path, sizeof(path), "%s.gen", dbpath);
	if (n < 0 || (size_t)n >= sizeof(path))
		return NULL;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return NULL;
	/* Two processes may both extend it: the same size, zeros. */
	if (fstat(fd, &st) < 0 || (st.st_size < STORE_GEN_SIZE &&
	    ftruncate(fd, STORE_GEN_SIZE) < 0)) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, STORE_GEN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

struct store_gen *
store_gen_open(const char *dbpath)
{
	struct store_gen *g = xcalloc(1, sizeof(*g));

	g->counter = store_gen_map(dbpath);
	return g;
}

void
store_gen_close(struct store_gen **gp)
{
	struct store_gen *g = *gp;

	if (g == NULL)
		return;
	if (g->counter != NULL)
		munmap(g->counter, STORE_GEN_SIZE);
	free(g);
	*gp = NULL;
}

void
store_gen_bump(struct store_gen *g)
{
	if (g != NULL && g->counter != NULL)
		__atomic_add_fetch(g->counter, 1, __ATOMIC_SEQ_CST);
}

int
store_gen_read(const struct store_gen *g, uint64_t *gen_r)
{
	if (g == NULL || g->counter == NULL)
		return -1;
	*gen_r = __atomic_load_n(g->counter, __ATOMIC_SEQ_CST);
	return 0;
}

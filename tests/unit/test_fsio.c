/* Unit tests for lib/fsio.c's shared directory sync: many threads each
 * rename a file into one of two directories and ask for the directory's
 * sync at once; every one of them gets its answer (and the files are
 * there), and a directory that cannot be synced fails every caller. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fsio.h"
#include "test.h"

#define FSIO_T_THREADS 8
#define FSIO_T_ROUNDS 40

static char test_dir[64];

struct fsio_t_arg {
	int index;
	int failures;
};

static void *
fsio_t_worker(void *p)
{
	struct fsio_t_arg *a = p;
	char dir[128], tmp[192], dst[192];

	for (int i = 0; i < FSIO_T_ROUNDS; i++) {
		int fd;

		snprintf(dir, sizeof(dir), "%s/d%d", test_dir, (a->index + i) % 2);
		snprintf(tmp, sizeof(tmp), "%s/t%d.%d", test_dir, a->index, i);
		snprintf(dst, sizeof(dst), "%s/f%d.%d", dir, a->index, i);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0 || close(fd) < 0 || rename(tmp, dst) < 0 ||
		    fsio_fsync_dir_shared(dir) < 0)
			a->failures++;
	}
	return NULL;
}

static void
test_fsync_dir_shared(void)
{
	pthread_t t[FSIO_T_THREADS];
	struct fsio_t_arg a[FSIO_T_THREADS];
	char path[192];
	int failures = 0, found = 0;

	test_begin("fsio shared directory sync, 8 threads");
	for (int d = 0; d < 2; d++) {
		snprintf(path, sizeof(path), "%s/d%d", test_dir, d);
		test_assert(fsio_mkdir_p(path, 0700) == 0);
	}
	for (int i = 0; i < FSIO_T_THREADS; i++) {
		a[i].index = i;
		a[i].failures = 0;
		test_assert(pthread_create(&t[i], NULL, fsio_t_worker,
		    &a[i]) == 0);
	}
	for (int i = 0; i < FSIO_T_THREADS; i++) {
		pthread_join(t[i], NULL);
		failures += a[i].failures;
	}
	test_assert(failures == 0);
	for (int i = 0; i < FSIO_T_THREADS; i++)
		for (int r = 0; r < FSIO_T_ROUNDS; r++) {
			snprintf(path, sizeof(path), "%s/d%d/f%d.%d", test_dir,
			    (i + r) % 2, i, r);
			found += access(path, F_OK) == 0;
		}
	test_assert(found == FSIO_T_THREADS * FSIO_T_ROUNDS);
	test_end();

	test_begin("fsio shared directory sync of a missing directory");
	snprintf(path, sizeof(path), "%s/missing", test_dir);
	errno = 0;
	test_assert(fsio_fsync_dir_shared(path) == -1);
	test_assert(errno == ENOENT);
	/* The slot is free again for a directory that exists. */
	snprintf(path, sizeof(path), "%s/d0", test_dir);
	test_assert(fsio_fsync_dir_shared(path) == 0);
	test_end();
}

int
main(void)
{
	snprintf(test_dir, sizeof(test_dir), "/tmp/ferry-test-fsio.XXXXXX");
	if (mkdtemp(test_dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_fsync_dir_shared();
	fsio_remove_tree(test_dir);
	return test_exit();
}

/* File-system helpers for durability: every function that makes data
 * durable fsyncs what it wrote; errno tells why on -1. */
#ifndef FERRY_FSIO_H
#define FERRY_FSIO_H
#include <stddef.h>
#include <sys/types.h>

struct fbuf;

/* snprintf of a path: 0, or -1 with errno ENAMETOOLONG when it does not
 * fit (never a silently truncated path). */
int fsio_pathf(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* write(2) until done, retrying EINTR/short writes: 0 or -1. */
int fsio_write_all(int fd, const void *buf, size_t len);
/* fsync the directory itself (so a rename/unlink in it is durable). */
int fsio_fsync_dir(const char *dir);
/* fsync_dir for threads that renamed into dir concurrently: one fsync
 * that started after the caller's rename serves all of them (the caller
 * waits for it).  Same result as fsio_fsync_dir for the caller: 0 once
 * its entry is durable, or -1 with errno.  Blocks: worker threads. */
int fsio_fsync_dir_shared(const char *dir);
/* fsync the directory that contains path. */
int fsio_fsync_parent(const char *path);
/* mkdir -p with mode for every component created; 0 or -1. */
int fsio_mkdir_p(const char *path, mode_t mode);
/* Read a whole file into b (appending), failing with EFBIG past max. */
int fsio_read_file(const char *path, struct fbuf *b, size_t max);
/* Atomically replace path with data: path.tmp, fsync, rename, fsync dir. */
int fsio_replace_file(const char *path, const void *data, size_t len,
    mode_t mode);
/* rm -rf of a directory tree we own (used for tests and cleanup). */
int fsio_remove_tree(const char *path);

#endif

/* Identifiers: queue ids and session ids are 16 lower-case hex digits,
 * time-ordered (microseconds in the high bits) with random low bits, so
 * `ls` sorts the spool by arrival and two processes never collide in
 * practice (callers still create files with O_EXCL). */
#ifndef FERRY_IDS_H
#define FERRY_IDS_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define IDS_LEN 16

/* Fills out[IDS_LEN + 1]. */
void ids_new(char out[IDS_LEN + 1]);
/* True when s is exactly IDS_LEN lower-case hex digits. */
bool ids_valid(const char *s);
/* Uniform random number from the kernel's CSPRNG (getrandom, drawn
 * 256 bytes at a time per thread; a forked child draws its own). */
uint64_t ids_random(void);
/* getpid(), asked once per process (again after a fork). */
pid_t ids_pid(void);

#endif

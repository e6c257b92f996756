/* Queue and session identifiers (see ids.h). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/ids.h"
#include "lib/log.h"

/*
 * Random numbers come from getrandom() 256 bytes at a time, kept per
 * thread: a queue id per message and a session id per connection used
 * to cost a system call each.  The bytes are the kernel's CSPRNG output
 * all the same, handed out once each.  A fork must not hand the same
 * bytes to parent and child: the child drops what the forking thread
 * had (pthread_atfork; the child's only thread is that one), and its
 * cached pid with it.
 */
#define IDS_POOL 256

static __thread struct {
	unsigned char b[IDS_POOL];
	size_t left;
} ids_pool;
static pid_t ids_pid_cached;
static pthread_once_t ids_once = PTHREAD_ONCE_INIT;

static void
ids_atfork_child(void)
{
	ids_pool.left = 0;
	explicit_bzero(ids_pool.b, sizeof(ids_pool.b));
	__atomic_store_n(&ids_pid_cached, 0, __ATOMIC_RELAXED);
}

static void
ids_init(void)
{
	if (pthread_atfork(NULL, NULL, ids_atfork_child) != 0)
		log_fatalx("pthread_atfork");
}

uint64_t
ids_random(void)
{
	uint64_t v;

	pthread_once(&ids_once, ids_init);
	if (ids_pool.left < sizeof(v)) {
		if (getrandom(ids_pool.b, sizeof(ids_pool.b), 0) !=
		    (ssize_t)sizeof(ids_pool.b))
			log_fatal("getrandom");
		ids_pool.left = sizeof(ids_pool.b);
	}
	ids_pool.left -= sizeof(v);
	memcpy(&v, ids_pool.b + ids_pool.left, sizeof(v));
	/* used once: not left behind for a later reader of this memory */
	memset(ids_pool.b + ids_pool.left, 0, sizeof(v));
	return v;
}

pid_t
ids_pid(void)
{
	pid_t pid;

	pthread_once(&ids_once, ids_init);
	if ((pid = __atomic_load_n(&ids_pid_cached, __ATOMIC_RELAXED)) == 0) {
		pid = getpid();
		__atomic_store_n(&ids_pid_cached, pid, __ATOMIC_RELAXED);
	}
	return pid;
}

void
ids_new(char out[IDS_LEN + 1])
{
	struct timeval tv;
	uint64_t usec;

	gettimeofday(&tv, NULL);
	usec = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
	/* 44 bits of microseconds (wraps every ~200 days, ordering only
	 * matters across minutes) and 20 random bits. */
	snprintf(out, IDS_LEN + 1, "%011llx%05llx",
	    (unsigned long long)(usec & 0xfffffffffffULL),
	    (unsigned long long)(ids_random() & 0xfffff));
}

bool
ids_valid(const char *s)
{
	size_t i;

	for (i = 0; i < IDS_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[IDS_LEN] == '\0';
}

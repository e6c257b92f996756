/* Queue and session identifiers (see ids.h). */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>

#include "lib/ids.h"
#include "lib/log.h"

uint64_t
ids_random(void)
{
	uint64_t v;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		log_fatal("getrandom");
	return v;
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

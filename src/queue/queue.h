/* Pure scheduling helpers of the queue role (queue_role.c), inline so
 * unit tests can check them without an event loop or a store. */
#ifndef FERRY_QUEUE_H
#define FERRY_QUEUE_H
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Delay before the next attempt after `attempts` (>= 1) failed ones:
 * min, 2*min, 4*min, ... capped at max (max < min counts as min). */
static inline uint64_t
queue_backoff(unsigned attempts, uint64_t min, uint64_t max)
{
	uint64_t d = min > 0 ? min : 1;

	if (max < d)
		max = d;
	for (unsigned i = 1; i < attempts && d < max; i++)
		d = d > max / 2 ? max : d * 2;
	return d < max ? d : max;
}

/* True once a message that arrived at `arrival` has been queued for
 * longer than `lifetime` seconds: temporary failures become permanent. */
static inline bool
queue_expired(time_t arrival, uint64_t lifetime, time_t now)
{
	return now >= arrival && (uint64_t)(now - arrival) >= lifetime;
}

#endif

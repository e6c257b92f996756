/* libFuzzer target for the provider profiles file (src/ops/ops_provider.c):
 * the input is a whole file, parsed as the shipped one and again as the
 * operator's (which replaces by id).  Every profile accepted must be
 * whole (a match, a set, names within their limits) and the matching
 * must hold for its own names: each set entry that is no pattern is
 * present among the entries themselves.
 * FUZZ_SOURCES: src/ops/ops_provider.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops_provider.h"

static void
fuzz_check(const struct ops_providers *ps)
{
	if (ps->n > OPS_PROVIDER_MAX)
		abort();
	for (size_t i = 0; i < ps->n; i++) {
		const struct ops_provider *p = &ps->v[i];
		const char *names[OPS_PROVIDER_HOSTS_MAX];
		size_t present;

		if (p->nmatch == 0 || p->nsets == 0 ||
		    p->nmatch > OPS_PROVIDER_MATCH_MAX ||
		    p->nsets > OPS_PROVIDER_SETS_MAX ||
		    strnlen(p->id, sizeof(p->id)) >= sizeof(p->id))
			abort();
		for (size_t s = 0; s < p->nsets; s++) {
			const struct ops_provider_set *set = &p->sets[s];

			if (set->nhosts == 0 ||
			    set->nhosts > OPS_PROVIDER_HOSTS_MAX)
				abort();
			for (size_t h = 0; h < set->nhosts; h++) {
				names[h] = set->hosts[h];
				if (set->hosts[h][0] != '*' &&
				    !ops_provider_match(set->hosts[h],
				    set->hosts[h]))
					abort();
			}
			(void)ops_provider_best_set(p, names, set->nhosts,
			    &present);
			if (present > OPS_PROVIDER_HOSTS_MAX)
				abort();
			(void)ops_providers_find(ps, names, set->nhosts);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ops_providers ps;
	char err[512];

	memset(&ps, 0, sizeof(ps));
	(void)ops_providers_parse(&ps, "shipped", (const char *)data, size,
	    err, sizeof(err));
	fuzz_check(&ps);
	(void)ops_providers_parse(&ps, "operator", (const char *)data, size,
	    err, sizeof(err));
	fuzz_check(&ps);
	ops_providers_free(&ps);
	return 0;
}

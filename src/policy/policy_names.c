/* The names of the policy checks (policy.h), apart from the pipeline so
 * that the configuration parser can check `checks =` and `exempt =`
 * without linking it. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/strutil.h"
#include "policy/policy.h"
#include "policy/policy_private.h"

/* Every check name, in the built-in order; the index is the check's bit
 * in skip masks. */
const char *const policy_check_names[] = {
	"client", "rate", "bad_rcpt", "dnsbl", "rdns", "helo", "mfcheck",
	"spf", "greylist", "clamd", "spamd", "dmarc", NULL
};

int
policy_check_index(const char *name)
{
	for (int i = 0; policy_check_names[i] != NULL; i++)
		if (str_ieq(policy_check_names[i], name))
			return i;
	return -1;
}

bool
policy_check_known(const char *name)
{
	return policy_check_index(name) >= 0;
}

const char *
policy_check_list(void)
{
	static __thread char list[160];

	if (list[0] == '\0')
		for (int i = 0; policy_check_names[i] != NULL; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list),
			    "%s%s", i > 0 ? ", " : "", policy_check_names[i]);
	return list;
}

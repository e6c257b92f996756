/* Per-domain rule operations (ops.h): the rules each domain's postmaster
 * owns, applied at RCPT to that domain's recipients (policy.h):
 *   allow|deny sender ADDRESS|@DOMAIN|<>,  allow|deny ip CIDR,
 *   skip CHECK[,CHECK...].
 * Everything is checked here (the domain is local and in scope, the
 * address or network parses, the checks exist) so that the pipeline only
 * ever reads clean rules.  Blocking: CLI or worker thread. */
#ifndef FERRY_OPS_RULE_H
#define FERRY_OPS_RULE_H
#include <stddef.h>
#include <stdint.h>

#include "ops/ops_account.h"
#include "store/store.h"

struct ops_rule_list {
	struct store_rule *v;
	size_t n, cap;
};

/* Adds the rule "action kind values..." for domain_input; kind is
 * "sender" or "ip" for allow|deny, ignored for skip, whose values are
 * check names (each argument may hold several, comma-separated).
 * OPS_EUSAGE when the words do not form a rule.  *out is the stored rule
 * (its id set). */
int ops_rule_add(const struct ops_ctx *c, const char *domain_input,
    const char *action, const char *kind, char *const *values, size_t n,
    struct store_rule *out, struct ops_status *st);
/* Deletes rule id (a postmaster only its domains' rules). */
int ops_rule_del(const struct ops_ctx *c, int64_t id, struct ops_status *st);
/* Rules of domain_input (NULL: every domain in scope), by id. */
int ops_rule_list(const struct ops_ctx *c, const char *domain_input,
    struct ops_rule_list *out, struct ops_status *st);
void ops_rule_list_free(struct ops_rule_list *l);

#endif

/* Mail provider profiles for `ferry check mx`: which MX host names
 * belong to a hosted-mail provider (Google Workspace, Microsoft 365,
 * Zoho, ...) and the sets of hosts it recommends publishing, the first
 * set being the current recommendation.  Read from a shipped file
 * (data/providers.conf, installed as PREFIX/share/ferry/providers.conf)
 * and an operator file next to the configuration, whose profiles add to
 * or replace the shipped ones by id.  The parser has no I/O and
 * explicit limits (unit-tested, fuzzed); ops_providers_load() reads the
 * files (blocking: the CLI only). */
#ifndef FERRY_OPS_PROVIDER_H
#define FERRY_OPS_PROVIDER_H
#include <stdbool.h>
#include <stddef.h>

#define OPS_PROVIDER_MAX 64		/* profiles */
#define OPS_PROVIDER_SETS_MAX 8
#define OPS_PROVIDER_HOSTS_MAX 16	/* per set */
#define OPS_PROVIDER_MATCH_MAX 16
#define OPS_PROVIDER_NAME_MAX 254	/* a host name or "*." + one */
#define OPS_PROVIDER_LINE_MAX 1024
#define OPS_PROVIDER_FILE_MAX (1u << 20)
#define OPS_PROVIDER_FILE "providers.conf"

struct ops_provider_set {
	char name[32];
	char hosts[OPS_PROVIDER_HOSTS_MAX][OPS_PROVIDER_NAME_MAX + 1];
	size_t nhosts;
};

struct ops_provider {
	char id[32];
	char name[128];
	char match[OPS_PROVIDER_MATCH_MAX][OPS_PROVIDER_NAME_MAX + 1];
	size_t nmatch;
	struct ops_provider_set sets[OPS_PROVIDER_SETS_MAX];
	size_t nsets;
	unsigned gen;			/* which parse call defined it */
};

struct ops_providers {
	struct ops_provider *v;
	size_t n;
	unsigned gen;
	char files[2][4096];		/* files read, for reports ("" none) */
};

/* Adds the profiles of one file's text (len octets, NUL not allowed in
 * it) to ps, which starts zeroed; a profile whose id an earlier call
 * defined replaces that one.  0, or -1 with "NAME:LINE: reason" in err
 * (ps then holds the earlier calls' profiles only). */
int ops_providers_parse(struct ops_providers *ps, const char *name,
    const char *text, size_t len, char *err, size_t errsize);
/* Reads the shipped file (next to the binary: ../share/ferry/ or, in a
 * build tree, ../data/) and then conf_dir/providers.conf when it exists.
 * 0, or -1 with err set (a file that exists but cannot be parsed). */
int ops_providers_load(struct ops_providers *ps, const char *conf_dir,
    char *err, size_t errsize);
void ops_providers_free(struct ops_providers *ps);

/* Whether host matches pattern: equal (ASCII case-blind, a final dot
 * ignored), or pattern "*.suffix" and host ends in ".suffix". */
bool ops_provider_match(const char *pattern, const char *host);
/* Whether one of p's match patterns matches host. */
bool ops_provider_claims(const struct ops_provider *p, const char *host);
/* The profile that claims the most of hosts[0..n), NULL when none. */
const struct ops_provider *ops_providers_find(const struct ops_providers *ps,
    const char *const *hosts, size_t n);
/* The profile's set with the most entries present among hosts (ties: the
 * earlier set), with that count in *present_r. */
const struct ops_provider_set *ops_provider_best_set(
    const struct ops_provider *p, const char *const *hosts, size_t n,
    size_t *present_r);
/* Whether set entry e is present among hosts. */
bool ops_provider_present(const char *e, const char *const *hosts, size_t n);

#endif

/* The configuration file parser: `key = value`, '#' comments (a '#' that
 * starts a line or follows white space), lists comma-separated.  A table
 * maps each key to a typed setter, so an unknown key or a bad value is
 * reported as "FILE:LINE: reason" and nothing is half-applied: callers
 * parse into a fresh struct and swap it in only on success. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/conf_show.h"
#include "ferry.h"
#include "lib/diskwatch.h"
#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "mailbox/mbox.h"
#include "policy/policy.h"
#include "policy/scan_conn.h"

#define CONF_FILE_MAX (1024 * 1024)

struct conf_key {
	const char *name;
	int (*set)(struct conf *c, const struct conf_key *k, char *v,
	    const char **why_r);
	size_t off;
	uint64_t min, max;
};

#define FIELD(f) offsetof(struct conf, f)
#define AT(c, k, type) ((type *)(void *)((char *)(c) + (k)->off))

static int
conf_set_string(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	size_t size = (size_t)k->max;

	if (str_lcpy(AT(c, k, char), v, size) >= size) {
		*why_r = "value too long";
		return -1;
	}
	return 0;
}

/* spam_folder: "off" (or empty), a special use ("\\Junk": the folder
 * that has it, mbox_delivery_dir) or a valid folder name other than
 * INBOX (mbox_name_check: nothing that could leave the Maildir). */
static int
conf_set_spam_folder(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	struct mbox_error err;

	if (v[0] == '\0' || str_ieq(v, "off")) {
		AT(c, k, char)[0] = '\0';
		return 0;
	}
	if (v[0] == '\\') {
		if (mbox_special_parse(v) == MBOX_SPECIAL_NONE) {
			*why_r = "not a special use (\\Junk, \\Archive, ...)";
			return -1;
		}
	} else if (mbox_name_check(v, &err) < 0 || mbox_name_is_inbox(v)) {
		*why_r = "not a folder name (or INBOX)";
		return -1;
	}
	return conf_set_string(c, k, v, why_r);
}

static bool
conf_host_valid(const char *v, size_t max)
{
	size_t n = strlen(v);

	return n > 0 && n <= max && strspn(v,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")
	    == n && v[0] != '.' && v[0] != '-' && strstr(v, "..") == NULL;
}

static int
conf_set_hostname(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	if (!conf_host_valid(v, CONF_HOST_MAX)) {
		*why_r = "not a valid host name";
		return -1;
	}
	str_lcpy(c->hostname, v, sizeof(c->hostname));
	return 0;
}

static int
conf_set_node_name(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	if (!conf_host_valid(v, sizeof(c->node_name) - 1)) {
		*why_r = "not a node name (letters, digits, '-' and '.', "
		    "at most 63)";
		return -1;
	}
	str_lcpy(c->node_name, v, sizeof(c->node_name));
	return 0;
}

const char *
conf_node_name(const struct conf *c)
{
	return c->node_name[0] != '\0' ? c->node_name : c->hostname;
}

static int
conf_set_path(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	if (v[0] != '/' && v[0] != '.') {
		*why_r = "must be a path (absolute, or relative starting with .)";
		return -1;
	}
	return conf_set_string(c, k, v, why_r);
}

/* store: empty (the SQLite file state_dir/ferry.db) or a PostgreSQL
 * connection URI (src/store/store_db_pg.c). */
static int
conf_set_store(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	if (v[0] != '\0' && strncmp(v, "postgresql://", 13) != 0 &&
	    strncmp(v, "postgres://", 11) != 0) {
		*why_r = "expected postgresql://... (or nothing: "
		    "state_dir/ferry.db)";
		return -1;
	}
	return conf_set_string(c, k, v, why_r);
}

static int
conf_set_uint(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	uint64_t n;

	if (str_parse_uint(v, k->min, k->max, &n) < 0) {
		static __thread char why[96];

		snprintf(why, sizeof(why), "expected a number from %llu to %llu",
		    (unsigned long long)k->min, (unsigned long long)k->max);
		*why_r = why;
		return -1;
	}
	*AT(c, k, unsigned) = (unsigned)n;
	return 0;
}

static int
conf_set_size(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	if (str_parse_size(v, AT(c, k, uint64_t)) < 0) {
		*why_r = "expected a size such as 4096, 512K, 50M or 1G";
		return -1;
	}
	return 0;
}

static int
conf_set_min_free(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	if (diskwatch_parse(v, &c->min_free_bytes, &c->min_free_pct) < 0) {
		*why_r = "expected a size such as 500M or 2G, or a percentage "
		    "from 0% to 99%";
		return -1;
	}
	return 0;
}

static int
conf_set_duration(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	uint64_t s;

	if (str_parse_duration(v, &s) < 0 || s < k->min || s > k->max) {
		*why_r = "expected a duration such as 30s, 5m, 4h or 5d";
		return -1;
	}
	*AT(c, k, uint64_t) = s;
	return 0;
}

static int
conf_set_bool(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	if (str_ieq(v, "yes") || str_ieq(v, "true") || strcmp(v, "1") == 0)
		*AT(c, k, bool) = true;
	else if (str_ieq(v, "no") || str_ieq(v, "false") || strcmp(v, "0") == 0)
		*AT(c, k, bool) = false;
	else {
		*why_r = "expected yes or no";
		return -1;
	}
	return 0;
}

static int
conf_set_log_level(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	int l = log_level_parse(v);

	if (l < 0) {
		*why_r = "expected debug, info, warn or error";
		return -1;
	}
	c->log_level = l;
	return 0;
}

static int
conf_set_cidrs(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	static __thread char why[128];
	struct cidr_list *l = AT(c, k, struct cidr_list);
	const char *bad;

	cidr_list_free(l);
	if (cidr_list_parse(l, v, &bad) < 0) {
		snprintf(why, sizeof(why), "not a network address: %s", bad);
		*why_r = why;
		return -1;
	}
	return 0;
}

static int
conf_set_listen(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	static __thread char why[128];
	struct conf_listen_list *l = AT(c, k, struct conf_listen_list);
	char *save = NULL, *tok;
	struct conf_listen one;

	free(l->v);
	l->v = NULL;
	l->n = 0;
	for (tok = strtok_r(v, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (conf_listen_parse(tok, &one) < 0) {
			snprintf(why, sizeof(why),
			    "expected HOST:PORT, not \"%.64s\"", tok);
			*why_r = why;
			return -1;
		}
		l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
		l->v[l->n++] = one;
	}
	return 0;
}

/* "1.2.3.4", "1.2.3.4:53", "::1", "[::1]:53", "host.example" -> a list of
 * host/port pairs, port k->min when not given. */
static int
conf_set_hostports(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	struct conf_listen_list *l = AT(c, k, struct conf_listen_list);
	char *save = NULL, *tok, buf[96];
	struct conf_listen one;
	size_t colons;

	free(l->v);
	l->v = NULL;
	l->n = 0;
	for (tok = strtok_r(v, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		colons = 0;
		for (const char *p = tok; *p != '\0'; p++)
			colons += (*p == ':');
		if (tok[0] != '[' && colons != 1) {
			snprintf(buf, sizeof(buf), "[%.64s]:%llu", tok,
			    (unsigned long long)k->min);
			if (colons == 0)
				snprintf(buf, sizeof(buf), "%.64s:%llu", tok,
				    (unsigned long long)k->min);
		} else if (tok[0] == '[' && strstr(tok, "]:") == NULL)
			snprintf(buf, sizeof(buf), "%.64s:%llu", tok,
			    (unsigned long long)k->min);
		else
			snprintf(buf, sizeof(buf), "%.80s", tok);
		if (conf_listen_parse(buf, &one) < 0) {
			*why_r = "expected HOST or HOST:PORT";
			return -1;
		}
		l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
		l->v[l->n++] = one;
	}
	return 0;
}

static void
conf_strlist_free(struct conf_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Comma/space-separated words, lower-cased (domains, addresses, zones). */
static int
conf_set_strlist(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	struct conf_strlist *l = AT(c, k, struct conf_strlist);
	char *save = NULL, *tok;

	conf_strlist_free(l);
	for (tok = strtok_r(v, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		size_t n = strlen(tok);

		if (n > 0 && tok[n - 1] == '.')
			tok[n - 1] = '\0';
		l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
		l->v[l->n++] = str_lower(xstrdup(tok));
	}
	return 0;
}

/* clamd, spamd: empty (off), "HOST:PORT", "[V6]:PORT" or an absolute
 * unix socket path, checked now so that a typo fails at start or reload
 * instead of turning every message into a 451 later. */
static int
conf_set_scanner(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	char host[PATH_MAX];
	uint16_t port;
	bool is_unix;

	if (v[0] != '\0' && scan_conn_target_parse(v, &is_unix, host,
	    sizeof(host), &port) < 0) {
		*why_r = "expected HOST:PORT, [IPV6]:PORT or /path/to/socket";
		return -1;
	}
	return conf_set_string(c, k, v, why_r);
}

/* checks: names of policy checks, each known (as `ferry rule` insists). */
static int
conf_set_checks(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	static __thread char why[160];
	struct conf_strlist *l = AT(c, k, struct conf_strlist);

	if (conf_set_strlist(c, k, v, why_r) < 0)
		return -1;
	for (size_t i = 0; i < l->n; i++)
		if (!policy_check_known(l->v[i])) {
			snprintf(why, sizeof(why), "unknown check \"%.64s\" "
			    "(known: %s)", l->v[i], policy_check_list());
			*why_r = why;
			return -1;
		}
	return 0;
}

/* outbound_checks: the content scanners run on authenticated senders'
 * mail, "clamd" and/or "spamd". */
static int
conf_set_outbound_checks(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	static __thread char why[160];
	struct conf_strlist *l = AT(c, k, struct conf_strlist);

	if (conf_set_strlist(c, k, v, why_r) < 0)
		return -1;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], "clamd") != 0 &&
		    strcmp(l->v[i], "spamd") != 0) {
			snprintf(why, sizeof(why), "unknown outbound check "
			    "\"%.64s\" (known: clamd, spamd)", l->v[i]);
			*why_r = why;
			return -1;
		}
	return 0;
}

static int
conf_tls_mode_parse(const char *s)
{
	static const char *names[] = { "", "none", "may", "encrypt", "verify" };

	for (int i = 1; i < 5; i++)
		if (str_ieq(s, names[i]))
			return i;
	return -1;
}

/* HOST, HOST:PORT, [HOST], [HOST]:PORT into r (the brackets: no MX). */
static int
conf_route_target(const char *s, struct conf_route *r)
{
	const char *host = s, *end, *port = NULL;
	uint64_t p;

	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return -1;
		host = s + 1;
		r->no_mx = true;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
	} else {
		end = strchr(s, ':');
		if (end != NULL)
			port = end + 1;
		else
			end = s + strlen(s);
	}
	if (end == host || (size_t)(end - host) >= sizeof(r->host))
		return -1;
	memcpy(r->host, host, (size_t)(end - host));
	r->host[end - host] = '\0';
	str_lower(r->host);
	if (port != NULL) {
		if (str_parse_uint(port, 1, 65535, &p) < 0)
			return -1;
		snprintf(r->port, sizeof(r->port), "%u", (unsigned)p);
	}
	return 0;
}

static int
conf_route_options(char *save, struct conf_route *r, bool fallback,
    const char **why_r)
{
	char *tok;

	while ((tok = strtok_r(NULL, " \t", &save)) != NULL) {
		if (strncmp(tok, "tls=", 4) == 0 &&
		    (r->tls = conf_tls_mode_parse(tok + 4)) > 0)
			continue;
		if (strncmp(tok, "auth=", 5) == 0 && tok[5] != '\0' &&
		    str_lcpy(r->auth_file, tok + 5, sizeof(r->auth_file)) <
		    sizeof(r->auth_file))
			continue;
		if (strncmp(tok, "fallback=", 9) == 0 && fallback) {
			struct conf_route fb;

			memset(&fb, 0, sizeof(fb));
			if (conf_route_target(tok + 9, &fb) < 0) {
				*why_r = "fallback= expects HOST, HOST:PORT "
				    "or [HOST]:PORT";
				return -1;
			}
			str_lcpy(r->fb_host, fb.host, sizeof(r->fb_host));
			str_lcpy(r->fb_port, fb.port, sizeof(r->fb_port));
			r->fb_no_mx = fb.no_mx;
			continue;
		}
		*why_r = fallback ? "expected tls=none|may|encrypt|verify, "
		    "auth=FILE or fallback=HOST[:PORT]" :
		    "expected tls=none|may|encrypt|verify or auth=FILE";
		return -1;
	}
	return 0;
}

/* route_mx's MX host pattern: "mx.example.com", "*.example.com" (kept
 * as ".example.com") or ".example.com".  0 or -1. */
static int
conf_route_mx_pattern(const char *pat, char *dst, size_t size)
{
	const char *p = pat[0] == '*' && pat[1] == '.' ? pat + 1 : pat;
	size_t n = strlen(p);

	if (n > 0 && p[n - 1] == '.')
		n--;		/* a fully qualified name */
	if (n < 2 || n >= size || memchr(p, '*', n) != NULL ||
	    memchr(p, '[', n) != NULL || memchr(p, ':', n) != NULL ||
	    p[n - 1] == '.' || (p[0] == '.' && p[1] == '.'))
		return -1;
	memcpy(dst, p, n);
	dst[n] = '\0';
	str_lower(dst);
	return 0;
}

/* route and route_mx (k->name tells which). */
static int
conf_set_route(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	bool by_mx = strcmp(k->name, "route_mx") == 0;
	struct conf_route_list *l = by_mx ? &c->routes_mx : &c->routes;
	struct conf_route r;
	char *save = NULL, *dom, *target;

	memset(&r, 0, sizeof(r));
	dom = strtok_r(v, " \t", &save);
	target = strtok_r(NULL, " \t", &save);
	if (dom == NULL || target == NULL ||
	    str_lcpy(r.domain, dom, sizeof(r.domain)) >= sizeof(r.domain)) {
		*why_r = by_mx ? "expected MXHOST|*.SUFFIX HOST[:PORT] "
		    "[tls=MODE] [auth=FILE] [fallback=HOST[:PORT]]" :
		    "expected DOMAIN HOST[:PORT] [tls=MODE] [auth=FILE] "
		    "[fallback=HOST[:PORT]]";
		return -1;
	}
	str_lower(r.domain);
	if (by_mx && conf_route_mx_pattern(dom, r.domain,
	    sizeof(r.domain)) < 0) {
		*why_r = "route_mx matches an MX host name: mx.example.com "
		    "or *.example.com";
		return -1;
	}
	if (conf_route_target(target, &r) < 0) {
		*why_r = "expected HOST, HOST:PORT or [HOST]:PORT";
		return -1;
	}
	if (conf_route_options(save, &r, true, why_r) < 0)
		return -1;
	l->v = xreallocarray(l->v, l->n + 1, sizeof(r));
	l->v[l->n++] = r;
	return 0;
}

static int
conf_set_fallback_relay(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	char *save = NULL, *target;

	memset(&c->fallback_relay, 0, sizeof(c->fallback_relay));
	target = strtok_r(v, " \t", &save);
	if (target == NULL)
		return 0;
	str_lcpy(c->fallback_relay.domain, "*",
	    sizeof(c->fallback_relay.domain));
	if (conf_route_target(target, &c->fallback_relay) < 0) {
		*why_r = "expected HOST, HOST:PORT or [HOST]:PORT";
		return -1;
	}
	return conf_route_options(save, &c->fallback_relay, false, why_r);
}

static int
conf_set_tls_policy(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	struct conf_tls_policy p;
	char *save = NULL, *dom, *mode;

	memset(&p, 0, sizeof(p));
	dom = strtok_r(v, " \t", &save);
	mode = strtok_r(NULL, " \t", &save);
	if (dom == NULL || mode == NULL || strtok_r(NULL, " \t", &save) ||
	    str_lcpy(p.domain, dom, sizeof(p.domain)) >= sizeof(p.domain) ||
	    (p.mode = conf_tls_mode_parse(mode)) < 0) {
		*why_r = "expected DOMAIN none|may|encrypt|verify";
		return -1;
	}
	str_lower(p.domain);
	c->tls_policies = xreallocarray(c->tls_policies, c->ntls_policies + 1,
	    sizeof(p));
	c->tls_policies[c->ntls_policies++] = p;
	return 0;
}

static int
conf_set_tls_sni(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	struct conf_sni n;
	char *save = NULL, *dom, *cert, *key;

	memset(&n, 0, sizeof(n));
	dom = strtok_r(v, " \t", &save);
	cert = strtok_r(NULL, " \t", &save);
	key = strtok_r(NULL, " \t", &save);
	if (dom == NULL || cert == NULL || key == NULL ||
	    strtok_r(NULL, " \t", &save) != NULL ||
	    str_lcpy(n.domain, dom, sizeof(n.domain)) >= sizeof(n.domain) ||
	    str_lcpy(n.cert, cert, sizeof(n.cert)) >= sizeof(n.cert) ||
	    str_lcpy(n.key, key, sizeof(n.key)) >= sizeof(n.key)) {
		*why_r = "expected DOMAIN CERTFILE KEYFILE";
		return -1;
	}
	str_lower(n.domain);
	c->tls_sni = xreallocarray(c->tls_sni, c->ntls_sni + 1, sizeof(n));
	c->tls_sni[c->ntls_sni++] = n;
	return 0;
}

static int
conf_set_choice(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	static const struct {
		const char *key, *word;
		int value;
	} choices[] = {
		{ "dnsbl_action", "reject", 0 }, { "dnsbl_action", "tag", 1 },
		{ "scan_failure", "tempfail", 0 }, { "scan_failure", "accept", 1 },
		{ "require_rdns", "no", CONF_RDNS_NO },
		{ "require_rdns", "ptr", CONF_RDNS_PTR },
		{ "require_rdns", "fcrdns", CONF_RDNS_FCRDNS },
	};
	static __thread char why[96];
	size_t i;

	for (i = 0; i < sizeof(choices) / sizeof(choices[0]); i++)
		if (strcmp(choices[i].key, k->name) == 0 &&
		    str_ieq(choices[i].word, v)) {
			if (strcmp(k->name, "require_rdns") == 0)
				*AT(c, k, int) = choices[i].value;
			else
				*AT(c, k, bool) = choices[i].value != 0;
			return 0;
		}
	snprintf(why, sizeof(why), "not one of the allowed words");
	for (i = 0; i < sizeof(choices) / sizeof(choices[0]); i++)
		if (strcmp(choices[i].key, k->name) == 0)
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
			    "%s %s", strchr(why, ':') ? "," : ":",
			    choices[i].word);
	*why_r = why;
	return -1;
}

static int
conf_set_score(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno != 0 || end == v || *end != '\0' || d < -1e6 || d > 1e6) {
		*why_r = "expected a number such as 5 or 7.5";
		return -1;
	}
	*AT(c, k, double) = d;
	return 0;
}

static int
conf_set_exempt(struct conf *c, const struct conf_key *k, char *v,
    const char **why_r)
{
	struct conf_exempt e;
	char *save = NULL, *net, *tok;

	memset(&e, 0, sizeof(e));
	net = strtok_r(v, " \t", &save);
	if (net == NULL || cidr_parse(net, &e.net) < 0) {
		*why_r = "expected CIDR CHECK[,CHECK...]";
		return -1;
	}
	while ((tok = strtok_r(NULL, ", \t", &save)) != NULL) {
		if (!policy_check_known(tok)) {
			static __thread char why[160];

			snprintf(why, sizeof(why), "unknown check \"%.64s\" "
			    "(known: %s)", tok, policy_check_list());
			*why_r = why;
			conf_strlist_free(&e.checks);
			return -1;
		}
		e.checks.v = xreallocarray(e.checks.v, e.checks.n + 1,
		    sizeof(char *));
		e.checks.v[e.checks.n++] = str_lower(xstrdup(tok));
	}
	if (e.checks.n == 0) {
		*why_r = "expected CIDR CHECK[,CHECK...]";
		return -1;
	}
	c->exempts = xreallocarray(c->exempts, c->nexempts + 1, sizeof(e));
	c->exempts[c->nexempts++] = e;
	return 0;
}

static const struct conf_key conf_keys[] = {
	{ "hostname", conf_set_hostname, 0, 0, 0 },
	{ "node_name", conf_set_node_name, 0, 0, 0 },
	{ "state_dir", conf_set_path, FIELD(state_dir), 0, PATH_MAX },
	{ "store", conf_set_store, FIELD(store), 0, CONF_STORE_MAX },
	{ "run_as", conf_set_string, FIELD(run_as), 0, 64 },
	{ "log_file", conf_set_path, FIELD(log_file), 0, PATH_MAX },
	{ "maildrop_dir", conf_set_path, FIELD(maildrop_dir), 0, PATH_MAX },
	{ "log_level", conf_set_log_level, 0, 0, 0 },
	{ "smtp_listen", conf_set_listen, FIELD(smtp_listen), 0, 0 },
	{ "relay_networks", conf_set_cidrs, FIELD(relay_networks), 0, 0 },
	{ "message_size_limit", conf_set_size, FIELD(message_size_limit), 0, 0 },
	{ "max_recipients", conf_set_uint, FIELD(max_recipients), 1, 100000 },
	{ "max_hops", conf_set_uint, FIELD(max_hops), 1, 1000 },
	{ "max_connections", conf_set_uint, FIELD(max_connections), 1, 1000000 },
	{ "max_connections_per_ip", conf_set_uint,
	    FIELD(max_connections_per_ip), 1, 1000000 },
	{ "smtp_max_errors", conf_set_uint, FIELD(smtp_max_errors), 1, 1000 },
	{ "smtp_max_line", conf_set_uint, FIELD(smtp_max_line), 512, 4096 },
	{ "smtp_max_text_line", conf_set_uint, FIELD(smtp_max_text_line),
	    1000, 1000000 },
	{ "smtp_timeout", conf_set_duration, FIELD(smtp_timeout), 1, 86400 },
	{ "smtp_data_timeout", conf_set_duration, FIELD(smtp_data_timeout),
	    1, 86400 },
	{ "smtp_greeting_delay", conf_set_duration, FIELD(smtp_greeting_delay),
	    0, 60 },
	{ "local_part_case_sensitive", conf_set_bool,
	    FIELD(local_part_case_sensitive), 0, 0 },
	{ "recipient_delimiter", conf_set_string, FIELD(recipient_delimiter),
	    0, 8 },
	{ "queue_workers", conf_set_uint, FIELD(queue_workers), 1, 256 },
	{ "direct_delivery", conf_set_bool, FIELD(direct_delivery), 0, 0 },
	{ "queue_lifetime", conf_set_duration, FIELD(queue_lifetime), 1,
	    365 * 86400 },
	{ "history_keep", conf_set_duration, FIELD(history_keep), 0,
	    366 * 86400 },
	{ "retry_min", conf_set_duration, FIELD(retry_min), 1, 86400 },
	{ "retry_max", conf_set_duration, FIELD(retry_max), 1, 7 * 86400 },
	{ "min_free_space", conf_set_min_free, 0, 0, 0 },
	{ "pop3_timeout", conf_set_duration, FIELD(pop3_timeout), 1, 86400 },
	{ "imap_timeout", conf_set_duration, FIELD(imap_timeout), 1, 86400 },

	{ "dns_resolvers", conf_set_hostports, FIELD(dns_resolvers), 53, 0 },
	{ "dns_fallback_resolvers", conf_set_hostports,
	    FIELD(dns_fallback_resolvers), 53, 0 },
	{ "dnssec", conf_set_bool, FIELD(dnssec), 0, 0 },
	{ "dns_stale_max", conf_set_duration, FIELD(dns_stale_max), 0,
	    30 * 86400 },

	{ "remote_smtp_port", conf_set_uint, FIELD(remote_smtp_port), 1, 65535 },
	{ "timeout_connect", conf_set_duration, FIELD(timeout_connect), 1, 3600 },
	{ "timeout_tls", conf_set_duration, FIELD(timeout_tls), 1, 3600 },
	{ "timeout_helo", conf_set_duration, FIELD(timeout_helo), 1, 3600 },
	{ "timeout_mail", conf_set_duration, FIELD(timeout_mail), 1, 3600 },
	{ "timeout_rcpt", conf_set_duration, FIELD(timeout_rcpt), 1, 3600 },
	{ "timeout_data_init", conf_set_duration, FIELD(timeout_data_init),
	    1, 3600 },
	{ "timeout_data_block", conf_set_duration, FIELD(timeout_data_block),
	    1, 3600 },
	{ "timeout_data_done", conf_set_duration, FIELD(timeout_data_done),
	    1, 3600 },
	{ "concurrency_remote", conf_set_uint, FIELD(concurrency_remote),
	    1, 10000 },
	{ "concurrency_per_domain", conf_set_uint,
	    FIELD(concurrency_per_domain), 1, 10000 },
	{ "connect_parallel", conf_set_uint, FIELD(connect_parallel), 1, 16 },
	{ "route", conf_set_route, 0, 0, 0 },
	{ "route_mx", conf_set_route, 0, 0, 0 },
	{ "fallback_relay", conf_set_fallback_relay, 0, 0, 0 },
	{ "tls_policy", conf_set_tls_policy, 0, 0, 0 },
	{ "host_down_memory", conf_set_duration, FIELD(host_down_memory),
	    0, 86400 },
	{ "tls_broken_memory", conf_set_duration, FIELD(tls_broken_memory),
	    0, 7 * 86400 },
	{ "reach_probe_interval", conf_set_duration,
	    FIELD(reach_probe_interval), 0, 86400 },
	{ "reach_probe_max_interval", conf_set_duration,
	    FIELD(reach_probe_max_interval), 1, 86400 },
	{ "delay_warning", conf_set_duration, FIELD(delay_warning), 0,
	    365 * 86400 },
	{ "backup_domains", conf_set_strlist, FIELD(backup_domains), 0, 0 },
	{ "backup_recipients", conf_set_strlist, FIELD(backup_recipients),
	    0, 0 },

	{ "submission_listen", conf_set_listen, FIELD(submission_listen), 0, 0 },
	{ "submissions_listen", conf_set_listen, FIELD(submissions_listen),
	    0, 0 },
	{ "pop3_listen", conf_set_listen, FIELD(pop3_listen), 0, 0 },
	{ "pop3s_listen", conf_set_listen, FIELD(pop3s_listen), 0, 0 },
	{ "imap_listen", conf_set_listen, FIELD(imap_listen), 0, 0 },
	{ "imaps_listen", conf_set_listen, FIELD(imaps_listen), 0, 0 },
	{ "admin_listen", conf_set_listen, FIELD(admin_listen), 0, 0 },
	{ "admin_plain_http", conf_set_bool, FIELD(admin_plain_http), 0, 0 },
	{ "admin_users", conf_set_strlist, FIELD(admin_users), 0, 0 },
	{ "admin_session_idle", conf_set_duration, FIELD(admin_session_idle),
	    1, 7 * 86400 },
	{ "admin_timeout", conf_set_duration, FIELD(admin_timeout), 1, 3600 },
	{ "admin_session_lifetime", conf_set_duration,
	    FIELD(admin_session_lifetime), 60, 30 * 86400 },
	{ "tls_cert", conf_set_path, FIELD(tls_cert), 0, PATH_MAX },
	{ "tls_key", conf_set_path, FIELD(tls_key), 0, PATH_MAX },
	{ "tls_sni", conf_set_tls_sni, 0, 0, 0 },
	{ "auth_plaintext_networks", conf_set_cidrs,
	    FIELD(auth_plaintext_networks), 0, 0 },
	{ "imap_trusted_proxies", conf_set_cidrs, FIELD(imap_trusted_proxies),
	    0, 0 },
	{ "pop3_trusted_proxies", conf_set_cidrs, FIELD(pop3_trusted_proxies),
	    0, 0 },
	{ "imap_max_user_sessions", conf_set_uint,
	    FIELD(imap_max_user_sessions), 1, 100000 },
	{ "imap_max_connections_per_ip", conf_set_uint,
	    FIELD(imap_max_connections_per_ip), 0, 1000000 },
	{ "sender_check", conf_set_bool, FIELD(sender_check), 0, 0 },
	{ "auth_ban_max_failures", conf_set_uint, FIELD(auth_ban_max_failures),
	    1, 100000 },
	{ "auth_ban_window", conf_set_duration, FIELD(auth_ban_window), 1,
	    30 * 86400 },
	{ "auth_ban_time", conf_set_duration, FIELD(auth_ban_time), 1,
	    365 * 86400 },
	{ "auth_ban_exempt", conf_set_cidrs, FIELD(auth_ban_exempt), 0, 0 },
	{ "auth_cache_ttl", conf_set_duration, FIELD(auth_cache_ttl), 0,
	    7 * 86400 },
	{ "metrics_listen", conf_set_listen, FIELD(metrics_listen), 0, 0 },
	{ "metrics_allow", conf_set_cidrs, FIELD(metrics_allow), 0, 0 },

	{ "checks", conf_set_checks, FIELD(checks), 0, 0 },
	{ "check_trusted_clients", conf_set_bool, FIELD(check_trusted_clients),
	    0, 0 },
	{ "client_allow", conf_set_cidrs, FIELD(client_allow), 0, 0 },
	{ "client_deny", conf_set_cidrs, FIELD(client_deny), 0, 0 },
	{ "dnsbl", conf_set_strlist, FIELD(dnsbl), 0, 0 },
	{ "dnsbl_action", conf_set_choice, FIELD(dnsbl_tag_only), 0, 0 },
	{ "require_rdns", conf_set_choice, FIELD(require_rdns), 0, 0 },
	{ "conn_rate_limit", conf_set_uint, FIELD(conn_rate_limit), 0, 1000000 },
	{ "conn_rate_window", conf_set_duration, FIELD(conn_rate_window), 1,
	    86400 },
	{ "helo_reject_malformed", conf_set_bool, FIELD(helo_reject_malformed),
	    0, 0 },
	{ "helo_reject_bare_ip", conf_set_bool, FIELD(helo_reject_bare_ip),
	    0, 0 },
	{ "helo_reject_self", conf_set_bool, FIELD(helo_reject_self), 0, 0 },
	{ "mfcheck", conf_set_bool, FIELD(mfcheck), 0, 0 },
	{ "spf", conf_set_bool, FIELD(spf), 0, 0 },
	{ "spf_reject_fail", conf_set_bool, FIELD(spf_reject_fail), 0, 0 },
	{ "dkim_key_dir", conf_set_path, FIELD(dkim_key_dir), 0, PATH_MAX },
	{ "dkim_sign", conf_set_bool, FIELD(dkim_sign), 0, 0 },
	{ "dkim_verify", conf_set_bool, FIELD(dkim_verify), 0, 0 },
	{ "arc_verify", conf_set_bool, FIELD(arc_verify), 0, 0 },
	{ "arc_seal", conf_set_bool, FIELD(arc_seal), 0, 0 },
	{ "arc_trusted_sealers", conf_set_strlist, FIELD(arc_trusted_sealers),
	    0, 0 },
	{ "srs", conf_set_bool, FIELD(srs), 0, 0 },
	{ "srs_domain", conf_set_string, FIELD(srs_domain), 0, 256 },
	{ "srs_max_age", conf_set_duration, FIELD(srs_max_age), 86400,
	    1000 * 86400 },
	{ "srs_secret_file", conf_set_path, FIELD(srs_secret_file), 0,
	    PATH_MAX },
	{ "dmarc", conf_set_bool, FIELD(dmarc), 0, 0 },
	{ "dmarc_public_suffix_list", conf_set_path, FIELD(dmarc_psl), 0,
	    PATH_MAX },
	{ "dmarc_report_from", conf_set_string, FIELD(dmarc_report_from), 0,
	    320 },
	{ "dmarc_report_org", conf_set_string, FIELD(dmarc_report_org), 0,
	    256 },
	{ "dmarc_report_ingest", conf_set_bool, FIELD(dmarc_report_ingest), 0,
	    0 },
	{ "dmarc_report_mailboxes", conf_set_strlist,
	    FIELD(dmarc_report_mailboxes), 0, 0 },
	{ "dmarc_keep", conf_set_duration, FIELD(dmarc_keep), 86400,
	    3650 * 86400 },
	{ "local_forgery_check", conf_set_bool, FIELD(local_forgery_check),
	    0, 0 },
	{ "greylist", conf_set_bool, FIELD(greylist), 0, 0 },
	{ "greylist_delay", conf_set_duration, FIELD(greylist_delay), 0,
	    86400 },
	{ "greylist_window", conf_set_duration, FIELD(greylist_window), 1,
	    30 * 86400 },
	{ "greylist_expire", conf_set_duration, FIELD(greylist_expire), 1,
	    365 * 86400 },
	{ "bad_rcpt_limit", conf_set_uint, FIELD(bad_rcpt_limit), 0, 100000 },
	{ "bad_rcpt_window", conf_set_duration, FIELD(bad_rcpt_window), 1,
	    86400 },
	{ "bad_rcpt_block", conf_set_duration, FIELD(bad_rcpt_block), 1,
	    86400 },
	{ "clamd", conf_set_scanner, FIELD(clamd), 0, PATH_MAX },
	{ "spamd", conf_set_scanner, FIELD(spamd), 0, PATH_MAX },
	{ "spam_tag_score", conf_set_score, FIELD(spam_tag_score), 0, 0 },
	{ "spam_reject_score", conf_set_score, FIELD(spam_reject_score), 0, 0 },
	{ "spam_folder", conf_set_spam_folder, FIELD(spam_folder), 0, 201 },
	{ "spam_subject_prefix", conf_set_string, FIELD(spam_subject_prefix),
	    0, 64 },
	{ "scan_failure", conf_set_choice, FIELD(scan_failure_accept), 0, 0 },
	{ "scan_max_size", conf_set_size, FIELD(scan_max_size), 0, 0 },
	{ "exempt", conf_set_exempt, 0, 0, 0 },
	{ "transcript_ips", conf_set_cidrs, FIELD(transcript_ips), 0, 0 },
	{ "send_limit_messages_per_hour", conf_set_uint,
	    FIELD(send_limit_msgs_hour), 0, 100000000 },
	{ "send_limit_recipients_per_day", conf_set_uint,
	    FIELD(send_limit_rcpts_day), 0, 100000000 },
	{ "domain_send_limit_messages_per_hour", conf_set_uint,
	    FIELD(domain_send_limit_msgs_hour), 0, 100000000 },
	{ "domain_send_limit_recipients_per_day", conf_set_uint,
	    FIELD(domain_send_limit_rcpts_day), 0, 100000000 },
	{ "send_stop_factor", conf_set_uint, FIELD(send_stop_factor), 0,
	    1000000 },
	{ "send_stop_min_messages", conf_set_uint, FIELD(send_stop_min), 1,
	    100000000 },
	{ "send_stop_learn_days", conf_set_uint, FIELD(send_stop_learn_days),
	    1, 92 },
	{ "send_stop_bounces", conf_set_uint, FIELD(send_stop_bounces), 0,
	    100000000 },
	{ "send_stop_spam", conf_set_uint, FIELD(send_stop_spam), 0,
	    100000000 },
	{ "outbound_checks", conf_set_outbound_checks, FIELD(outbound_checks),
	    0, 0 },
};

void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	if (gethostname(c->hostname, sizeof(c->hostname) - 1) != 0 ||
	    c->hostname[0] == '\0')
		str_lcpy(c->hostname, "localhost", sizeof(c->hostname));
	str_lcpy(c->state_dir, "/var/lib/ferry", sizeof(c->state_dir));
	c->log_level = LOG_LVL_INFO;
	c->message_size_limit = 50 * 1024 * 1024;
	c->max_recipients = 100;
	c->max_hops = 50;
	c->max_connections = 1000;
	c->max_connections_per_ip = 20;
	c->imap_max_user_sessions = 20;
	c->smtp_max_errors = 10;
	c->smtp_max_line = 512;
	c->smtp_max_text_line = 1000;
	c->smtp_timeout = 300;		/* RFC 5321 4.5.3.2.7 */
	c->smtp_data_timeout = 600;	/* RFC 5321 4.5.3.2.5-6 */
	c->smtp_greeting_delay = 1;
	str_lcpy(c->recipient_delimiter, "+", sizeof(c->recipient_delimiter));
	c->queue_workers = 4;
	c->direct_delivery = true;
	c->dkim_sign = true;
	c->dkim_verify = true;
	c->srs = true;
	c->arc_verify = true;
	c->arc_seal = true;
	c->srs_max_age = 21 * 86400;
	c->dmarc = true;
	c->local_forgery_check = true;
	c->dmarc_report_ingest = true;
	c->dmarc_keep = 30 * 86400;
	str_lcpy(c->dmarc_psl, "/usr/share/publicsuffix/public_suffix_list.dat",
	    sizeof(c->dmarc_psl));
	c->queue_lifetime = 5 * 86400;
	c->history_keep = 7 * 86400;
	c->retry_min = 300;
	c->retry_max = 4 * 3600;
	c->min_free_pct = 1;
	c->pop3_timeout = 600;		/* RFC 1939 section 3: >= 10 min */
	c->imap_timeout = 1800;		/* RFC 9051 section 5.4: >= 30 min */
	c->admin_session_idle = 1800;
	c->admin_session_lifetime = 12 * 3600;
	c->admin_timeout = 30;
	c->remote_smtp_port = 25;
	c->timeout_connect = 30;
	c->timeout_tls = 60;
	c->timeout_helo = 300;		/* RFC 5321 4.5.3.2.1 (greeting) */
	c->timeout_mail = 300;		/* 4.5.3.2.2 */
	c->timeout_rcpt = 300;		/* 4.5.3.2.3 */
	c->timeout_data_init = 120;	/* 4.5.3.2.4 */
	c->timeout_data_block = 180;	/* 4.5.3.2.5 */
	c->timeout_data_done = 600;	/* 4.5.3.2.6 */
	c->concurrency_remote = 100;
	c->concurrency_per_domain = 10;
	c->connect_parallel = 4;
	c->host_down_memory = 600;
	c->tls_broken_memory = 3600;
	c->reach_probe_interval = 60;
	c->reach_probe_max_interval = 300;
	c->dns_stale_max = 86400;
	c->delay_warning = 4 * 3600;
	c->sender_check = true;
	c->auth_ban_max_failures = 5;
	c->auth_ban_window = 600;
	c->auth_ban_time = 3600;
	c->auth_cache_ttl = 3600;
	c->conn_rate_window = 60;
	c->greylist_delay = 300;
	c->greylist_window = 86400;
	c->greylist_expire = 36 * 86400;
	c->bad_rcpt_limit = 5;
	c->bad_rcpt_window = 600;
	c->bad_rcpt_block = 900;
	c->spam_tag_score = 5.0;
	c->spam_reject_score = 0;
	str_lcpy(c->spam_subject_prefix, ":SPAM: ",
	    sizeof(c->spam_subject_prefix));
	c->scan_max_size = 10 * 1024 * 1024;
	/* metrics_allow stays empty: loopback only (metrics_http.c), so
	 * that conf_defaults() allocates nothing */
	c->send_limit_msgs_hour = 300;
	c->send_limit_rcpts_day = 3000;
	c->send_stop_factor = 10;
	c->send_stop_min = 100;
	c->send_stop_learn_days = 14;
	c->send_stop_bounces = 30;
	c->send_stop_spam = 5;
}

static const struct conf_key *
conf_key_find(const char *name)
{
	for (size_t i = 0; i < sizeof(conf_keys) / sizeof(conf_keys[0]); i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

/* Edit distance (insertions, deletions, substitutions, and swaps of two
 * neighbours) when it is at most max, else max + 1; names longer than 63
 * characters count as far.  Bounded so that an unknown key costs little
 * against the whole table: a length difference beyond max is far
 * without a look; only the cells within max of the diagonal are worked
 * out (those beyond are more than max: max + 1 stands in for them); and
 * the rows stop once none can come back to max (a row takes its cells
 * from the row above, or with a swap from the one before that plus 1). */
static size_t
conf_key_distance(const char *a, const char *b, size_t max)
{
	size_t la = strlen(a), lb = strlen(b), above = 0;
	unsigned char d[64][64];	/* no distance here exceeds 63 */

	if (la >= 64 || lb >= 64 || (la > lb ? la - lb : lb - la) > max)
		return max + 1;
	if (max > 63)
		max = 63;
	memset(d, (int)max + 1, sizeof(d));
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned char)j;
	for (size_t i = 1; i <= la; i++) {
		size_t lo = i > max ? i - max : 1;
		size_t hi = i + max < lb ? i + max : lb;
		size_t least = lo > 1 ? max + 1 : i;

		d[i][0] = (unsigned char)i;
		for (size_t j = lo; j <= hi; j++) {
			size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

			if (d[i - 1][j] + 1u < best)
				best = d[i - 1][j] + 1u;
			if (d[i][j - 1] + 1u < best)
				best = d[i][j - 1] + 1u;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1u < best)
				best = d[i - 2][j - 2] + 1u;
			d[i][j] = (unsigned char)best;
			if (best < least)
				least = best;
		}
		if (least > max && (i == 1 || above + 1 > max))
			return max + 1;
		above = least;
	}
	return d[la][lb] <= max ? d[la][lb] : max + 1;
}

/* A lower bound of the edit distance from the name (whose octet counts,
 * by their low 6 bits, are in count) to key: every edit adds at most one
 * octet the name has too few of and takes away at most one it has too
 * many of.  Far cheaper than the distance itself. */
static size_t
conf_key_least(int count[64], size_t n, const char *key)
{
	size_t surplus = n, missing = 0;
	const char *k;

	for (k = key; *k != '\0'; k++) {
		int *c = &count[(unsigned char)*k & 63];

		if (*c > 0)
			surplus--;
		else
			missing++;
		(*c)--;
	}
	for (k = key; *k != '\0'; k++)
		count[(unsigned char)*k & 63]++;
	return surplus > missing ? surplus : missing;
}

const char *
conf_key_nearest(const char *name)
{
	const char *best = NULL;
	size_t n = strlen(name), max;
	int count[64];
	char low[64];

	if (n == 0 || n >= sizeof(low))
		return NULL;
	str_lcpy(low, name, sizeof(low));
	str_lower(low);
	memset(count, 0, sizeof(count));
	for (size_t i = 0; i < n; i++)
		count[(unsigned char)low[i] & 63]++;
	/* Close enough to be a typo: a third of the name, at least 2; then
	 * only a key closer than the best so far (the first of equals
	 * wins). */
	max = n / 3 > 2 ? n / 3 : 2;
	for (size_t i = 0; i < sizeof(conf_keys) / sizeof(conf_keys[0]); i++) {
		size_t d;

		if (conf_key_least(count, n, conf_keys[i].name) > max)
			continue;
		d = conf_key_distance(low, conf_keys[i].name, max);
		if (d <= max) {
			best = conf_keys[i].name;
			if (d == 0)
				break;
			max = d - 1;
		}
	}
	return best;
}

/* Strips a comment: '#' at the start or after white space. */
static void
conf_strip_comment(char *line)
{
	for (char *p = line; *p != '\0'; p++)
		if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
}

static int
conf_parse_line(struct conf *c, char *line, const char **why_r)
{
	static __thread char why[128];
	const struct conf_key *k;
	char *eq, *key, *val;

	conf_strip_comment(line);
	key = str_trim(line);
	if (*key == '\0')
		return 0;
	if ((eq = strchr(key, '=')) == NULL) {
		*why_r = "expected \"key = value\"";
		return -1;
	}
	*eq = '\0';
	key = str_trim(key);
	val = str_trim(eq + 1);
	if ((k = conf_key_find(key)) == NULL) {
		const char *near = conf_key_nearest(key);

		if (near != NULL)
			snprintf(why, sizeof(why), "unknown key \"%.64s\" "
			    "(did you mean \"%s\"?)", key, near);
		else
			snprintf(why, sizeof(why), "unknown key \"%.64s\"",
			    key);
		*why_r = why;
		return -1;
	}
	if (k->set(c, k, val, why_r) < 0) {
		snprintf(why, sizeof(why), "%s: %s", k->name, *why_r);
		*why_r = why;
		return -1;
	}
	return 0;
}

static int
conf_check(struct conf *c, const char **why_r)
{
	if (c->state_dir[0] == '\0') {
		*why_r = "state_dir must be set";
		return -1;
	}
	if (c->retry_min > c->retry_max) {
		*why_r = "retry_min is larger than retry_max";
		return -1;
	}
	return 0;
}

int
conf_parse(struct conf *c, const char *name, const char *text, size_t len,
    const char **error_r)
{
	static __thread char err[PATH_MAX + 256];
	const char *why = NULL, *p = text, *end = text + len, *nl;
	unsigned lineno = 0;
	char line[8192];

	while (p < end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if ((size_t)(nl - p) >= sizeof(line))
			why = "line too long";
		else if (memchr(p, '\0', (size_t)(nl - p)) != NULL)
			why = "NUL byte in line";
		else {
			memcpy(line, p, (size_t)(nl - p));
			line[nl - p] = '\0';
			if (conf_parse_line(c, line, &why) == 0)
				why = NULL;
		}
		if (why != NULL) {
			snprintf(err, sizeof(err), "%s:%u: %s", name, lineno, why);
			*error_r = err;
			return -1;
		}
		p = nl + 1;
	}
	if (conf_check(c, &why) < 0) {
		snprintf(err, sizeof(err), "%s: %s", name, why);
		*error_r = err;
		return -1;
	}
	return 0;
}

int
conf_load(struct conf *c, const char *path, const char **error_r)
{
	static __thread char err[PATH_MAX + 128];
	struct fbuf b;
	int r;

	fbuf_init(&b, 0);
	if (fsio_read_file(path, &b, CONF_FILE_MAX) < 0) {
		snprintf(err, sizeof(err), "%s: %s", path, strerror(errno));
		*error_r = err;
		fbuf_release(&b);
		return -1;
	}
	str_lcpy(c->path, path, sizeof(c->path));
	r = conf_parse(c, path, fbuf_str(&b), b.len, error_r);
	fbuf_release(&b);
	return r;
}

int
conf_snapshot_load(const char *path, struct conf **conf_r,
    const char **error_r)
{
	struct conf *c = xmalloc(sizeof(*c));

	conf_defaults(c);
	if (conf_load(c, path, error_r) < 0) {
		conf_free(c);
		free(c);
		return -1;
	}
	c->refs = 1;
	*conf_r = c;
	return 0;
}

const struct conf *
conf_ref(const struct conf *c)
{
	/* The count is the one mutable field of a snapshot.  0: not a
	 * snapshot (the CLI's and unit tests' own struct conf). */
	if (__atomic_load_n(&c->refs, __ATOMIC_RELAXED) == 0)
		return c;
	__atomic_add_fetch(&((struct conf *)c)->refs, 1, __ATOMIC_RELAXED);
	return c;
}

void
conf_unref(const struct conf **cp)
{
	struct conf *c = (struct conf *)*cp;

	if (c == NULL)
		return;
	*cp = NULL;
	if (__atomic_load_n(&c->refs, __ATOMIC_RELAXED) == 0)
		return;
	if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	conf_free(c);
	free(c);
}

static void
conf_listen_free(struct conf_listen_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
conf_free(struct conf *c)
{
	/* Every plain word list of the table (a key added later cannot be
	 * forgotten here); the lists with setters of their own below. */
	for (size_t i = 0; i < sizeof(conf_keys) / sizeof(conf_keys[0]); i++)
		if (conf_keys[i].set == conf_set_strlist)
			conf_strlist_free(AT(c, &conf_keys[i],
			    struct conf_strlist));
	conf_listen_free(&c->smtp_listen);
	conf_listen_free(&c->dns_resolvers);
	conf_listen_free(&c->dns_fallback_resolvers);
	conf_listen_free(&c->submission_listen);
	conf_listen_free(&c->submissions_listen);
	conf_listen_free(&c->pop3_listen);
	conf_listen_free(&c->pop3s_listen);
	conf_listen_free(&c->imap_listen);
	conf_listen_free(&c->imaps_listen);
	conf_listen_free(&c->admin_listen);
	cidr_list_free(&c->relay_networks);
	cidr_list_free(&c->auth_plaintext_networks);
	cidr_list_free(&c->imap_trusted_proxies);
	cidr_list_free(&c->pop3_trusted_proxies);
	cidr_list_free(&c->auth_ban_exempt);
	conf_listen_free(&c->metrics_listen);
	cidr_list_free(&c->metrics_allow);
	free(c->routes.v);
	c->routes.v = NULL;
	c->routes.n = 0;
	free(c->routes_mx.v);
	c->routes_mx.v = NULL;
	c->routes_mx.n = 0;
	free(c->tls_policies);
	c->tls_policies = NULL;
	c->ntls_policies = 0;
	free(c->tls_sni);
	c->tls_sni = NULL;
	c->ntls_sni = 0;
	conf_strlist_free(&c->checks);
	conf_strlist_free(&c->outbound_checks);
	cidr_list_free(&c->client_allow);
	cidr_list_free(&c->client_deny);
	cidr_list_free(&c->transcript_ips);
	for (size_t i = 0; i < c->nexempts; i++)
		conf_strlist_free(&c->exempts[i].checks);
	free(c->exempts);
	c->exempts = NULL;
	c->nexempts = 0;
}

bool
conf_exempted(const struct conf *c, const struct sockaddr *sa,
    const char *name)
{
	for (size_t i = 0; i < c->nexempts; i++)
		if (cidr_match(&c->exempts[i].net, sa) &&
		    conf_strlist_has(&c->exempts[i].checks, name))
			return true;
	return false;
}

/* Exact domain, then each ".parent" suffix, then "*" (for routes). */
static bool
conf_domain_matches(const char *pattern, const char *domain)
{
	size_t pl = strlen(pattern), dl = strlen(domain);

	if (pattern[0] == '.')
		return dl > pl && str_ieq(domain + dl - pl, pattern);
	return str_ieq(pattern, domain);
}

int
conf_tls_policy_for(const struct conf *c, const char *domain)
{
	for (size_t i = 0; i < c->ntls_policies; i++)
		if (conf_domain_matches(c->tls_policies[i].domain, domain))
			return c->tls_policies[i].mode;
	for (size_t i = 0; i < c->ntls_policies; i++)
		if (strcmp(c->tls_policies[i].domain, "*") == 0)
			return c->tls_policies[i].mode;
	return CONF_TLS_MAY;
}

const struct conf_route *
conf_route_for(const struct conf *c, const char *domain)
{
	for (size_t i = 0; i < c->routes.n; i++)
		if (c->routes.v[i].domain[0] != '.' &&
		    conf_domain_matches(c->routes.v[i].domain, domain))
			return &c->routes.v[i];
	for (size_t i = 0; i < c->routes.n; i++)
		if (c->routes.v[i].domain[0] == '.' &&
		    conf_domain_matches(c->routes.v[i].domain, domain))
			return &c->routes.v[i];
	for (size_t i = 0; i < c->routes.n; i++)
		if (strcmp(c->routes.v[i].domain, "*") == 0)
			return &c->routes.v[i];
	return NULL;
}

const struct conf_route *
conf_route_mx_for(const struct conf *c, const char *mxhost)
{
	char h[CONF_HOST_MAX + 2];
	size_t n = str_lcpy(h, mxhost, sizeof(h));

	if (n >= sizeof(h))
		return NULL;
	if (n > 0 && h[n - 1] == '.')
		h[--n] = '\0';
	for (size_t i = 0; i < c->routes_mx.n; i++)
		if (c->routes_mx.v[i].domain[0] != '.' &&
		    str_ieq(c->routes_mx.v[i].domain, h))
			return &c->routes_mx.v[i];
	for (size_t i = 0; i < c->routes_mx.n; i++)
		if (c->routes_mx.v[i].domain[0] == '.' &&
		    conf_domain_matches(c->routes_mx.v[i].domain, h))
			return &c->routes_mx.v[i];
	return NULL;
}

bool
conf_strlist_has(const struct conf_strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (str_ieq(l->v[i], s))
			return true;
	return false;
}

const char *
conf_path(const char *opt)
{
	const char *env;

	if (opt != NULL)
		return opt;
	env = getenv("FERRY_CONF");
	if (env != NULL && *env != '\0')
		return env;
	return CONF_DEFAULT_PATH;
}

int
conf_listen_parse(const char *s, struct conf_listen *l)
{
	const char *colon, *host = s;
	size_t hlen;
	uint64_t port;

	memset(l, 0, sizeof(*l));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			return -1;
		host = s + 1;
		hlen = (size_t)(rb - host);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return -1;
		hlen = (size_t)(colon - s);
	}
	if (hlen >= sizeof(l->host) ||
	    str_parse_uint(colon + 1, 1, 65535, &port) < 0)
		return -1;
	memcpy(l->host, host, hlen);
	l->host[hlen] = '\0';
	if (l->host[0] == '\0')
		str_lcpy(l->host, "0.0.0.0", sizeof(l->host));
	snprintf(l->port, sizeof(l->port), "%u", (unsigned)port);
	return 0;
}

int
conf_state_path(const struct conf *c, char *dst, size_t size, const char *rel)
{
	if ((size_t)snprintf(dst, size, "%s/%s", c->state_dir, rel) >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
conf_store_path(const struct conf *c, char *dst, size_t size)
{
	if (c->store[0] == '\0')
		return conf_state_path(c, dst, size, FERRY_DB_FILE);
	if (str_lcpy(dst, c->store, size) >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

bool
conf_store_shared(const struct conf *c)
{
	return strncmp(c->store, "postgresql://", 13) == 0 ||
	    strncmp(c->store, "postgres://", 11) == 0;
}

int
conf_maildrop_path(const struct conf *c, char *dst, size_t size)
{
	if (c->maildrop_dir[0] == '\0')
		return conf_state_path(c, dst, size, "maildrop");
	if (str_lcpy(dst, c->maildrop_dir, size) >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

bool
conf_listen_loopback(const struct conf_listen *l)
{
	return strcmp(l->host, "localhost") == 0 ||
	    strcmp(l->host, "::1") == 0 || strncmp(l->host, "127.", 4) == 0;
}

/* The settings page's view of the key table (conf_show.h): the kind of
 * each setter's field. */
static enum conf_show_kind
conf_key_kind(const struct conf_key *k)
{
	if (k->set == conf_set_string || k->set == conf_set_path ||
	    k->set == conf_set_scanner || k->set == conf_set_spam_folder)
		return CONF_SHOW_STRING;
	if (k->set == conf_set_uint)
		return CONF_SHOW_UINT;
	if (k->set == conf_set_size)
		return CONF_SHOW_U64SIZE;
	if (k->set == conf_set_duration)
		return CONF_SHOW_DURATION;
	if (k->set == conf_set_bool)
		return CONF_SHOW_BOOL;
	if (k->set == conf_set_listen || k->set == conf_set_hostports)
		return CONF_SHOW_LISTEN;
	if (k->set == conf_set_cidrs)
		return CONF_SHOW_CIDRS;
	if (k->set == conf_set_strlist || k->set == conf_set_checks ||
	    k->set == conf_set_outbound_checks)
		return CONF_SHOW_STRLIST;
	if (k->set == conf_set_score)
		return CONF_SHOW_SCORE;
	return CONF_SHOW_OTHER;
}

void
conf_each_key(const struct conf *c, conf_key_fn *fn, void *ctx)
{
	for (size_t i = 0; i < sizeof(conf_keys) / sizeof(conf_keys[0]); i++) {
		const struct conf_key *k = &conf_keys[i];
		enum conf_show_kind kind = conf_key_kind(k);

		fn(k->name, kind, kind == CONF_SHOW_OTHER ? NULL :
		    (const char *)c + k->off, ctx);
	}
}

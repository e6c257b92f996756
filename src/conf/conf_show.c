/* The configuration in force as text (conf_show.h).  Values are written
 * from the parsed snapshot, so what the page shows is what the server
 * uses, defaults included; sizes and durations in plain units (bytes,
 * seconds) so that nothing is rounded. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "conf/conf.h"
#include "conf/conf_show.h"
#include "lib/cidr.h"

struct conf_show_ctx {
	const struct conf *c;
	conf_show_cb *cb;
	void *ctx;
	struct fbuf v;
};

bool
conf_show_secret(const char *name)
{
	static const char *const words[] = { "password", "passwd", "secret",
		"token", "conninfo", "credential", "apikey", "api_key" };

	/* store: a PostgreSQL connection string may carry a password. */
	if (strcmp(name, "store") == 0)
		return true;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(name, words[i]) != NULL)
			return true;
	return false;
}

static void
conf_show_cidr(struct fbuf *b, const struct cidr *n)
{
	char addr[INET6_ADDRSTRLEN];

	if (inet_ntop(n->family, n->addr, addr, sizeof(addr)) == NULL)
		fbuf_adds(b, "?");
	else
		fbuf_addf(b, "%s/%u", addr, n->prefix);
}

static const char *
conf_show_tls(int mode)
{
	static const char *const names[] = { "", "none", "may", "encrypt",
		"verify" };

	return mode >= 0 && mode <= CONF_TLS_VERIFY ? names[mode] : "?";
}

static void
conf_show_route(struct fbuf *b, const struct conf_route *r, bool domain)
{
	if (domain)
		fbuf_addf(b, "%s ", r->domain);
	fbuf_addf(b, r->no_mx ? "[%s]" : "%s", r->host);
	if (r->port[0] != '\0')
		fbuf_addf(b, ":%s", r->port);
	if (r->tls != CONF_TLS_UNSET)
		fbuf_addf(b, " tls=%s", conf_show_tls(r->tls));
	/* The file holds a password; its name does not. */
	if (r->auth_file[0] != '\0')
		fbuf_addf(b, " auth=%s", r->auth_file);
	if (r->fb_host[0] != '\0')
		fbuf_addf(b, r->fb_no_mx ? " fallback=[%s]%s%s" :
		    " fallback=%s%s%s", r->fb_host, r->fb_port[0] != '\0' ?
		    ":" : "", r->fb_port);
}

static void
conf_show_sep(struct fbuf *b, const char *sep)
{
	if (b->len > 0)
		fbuf_adds(b, sep);
}

/* The keys whose values are not a plain field. */
static void
conf_show_other(const struct conf *c, const char *name, struct fbuf *b)
{
	static const char *const levels[] = { "debug", "info", "warn",
		"error" };
	static const char *const rdns[] = { "no", "ptr", "fcrdns" };

	if (strcmp(name, "hostname") == 0)
		fbuf_adds(b, c->hostname);
	else if (strcmp(name, "node_name") == 0)
		fbuf_adds(b, conf_node_name(c));
	else if (strcmp(name, "store") == 0)
		fbuf_adds(b, c->store);
	else if (strcmp(name, "log_level") == 0)
		fbuf_adds(b, c->log_level >= 0 && c->log_level < 4 ?
		    levels[c->log_level] : "?");
	else if (strcmp(name, "min_free_space") == 0 && c->min_free_pct > 0)
		fbuf_addf(b, "%u%%", c->min_free_pct);
	else if (strcmp(name, "min_free_space") == 0)
		fbuf_addf(b, "%llu", (unsigned long long)c->min_free_bytes);
	else if (strcmp(name, "dnsbl_action") == 0)
		fbuf_adds(b, c->dnsbl_tag_only ? "tag" : "reject");
	else if (strcmp(name, "scan_failure") == 0)
		fbuf_adds(b, c->scan_failure_accept ? "accept" : "tempfail");
	else if (strcmp(name, "require_rdns") == 0)
		fbuf_adds(b, c->require_rdns >= 0 && c->require_rdns < 3 ?
		    rdns[c->require_rdns] : "?");
	else if (strcmp(name, "route") == 0)
		for (size_t i = 0; i < c->routes.n; i++) {
			conf_show_sep(b, "; ");
			conf_show_route(b, &c->routes.v[i], true);
		}
	else if (strcmp(name, "route_mx") == 0)
		for (size_t i = 0; i < c->routes_mx.n; i++) {
			conf_show_sep(b, "; ");
			if (c->routes_mx.v[i].domain[0] == '.')
				fbuf_adds(b, "*");
			conf_show_route(b, &c->routes_mx.v[i], true);
		}
	else if (strcmp(name, "fallback_relay") == 0) {
		if (c->fallback_relay.host[0] != '\0')
			conf_show_route(b, &c->fallback_relay, false);
	} else if (strcmp(name, "tls_policy") == 0)
		for (size_t i = 0; i < c->ntls_policies; i++) {
			conf_show_sep(b, "; ");
			fbuf_addf(b, "%s %s", c->tls_policies[i].domain,
			    conf_show_tls(c->tls_policies[i].mode));
		}
	else if (strcmp(name, "tls_sni") == 0)
		for (size_t i = 0; i < c->ntls_sni; i++) {
			conf_show_sep(b, "; ");
			fbuf_addf(b, "%s %s %s", c->tls_sni[i].domain,
			    c->tls_sni[i].cert, c->tls_sni[i].key);
		}
	else if (strcmp(name, "exempt") == 0)
		for (size_t i = 0; i < c->nexempts; i++) {
			conf_show_sep(b, "; ");
			conf_show_cidr(b, &c->exempts[i].net);
			for (size_t k = 0; k < c->exempts[i].checks.n; k++)
				fbuf_addf(b, "%s%s", k == 0 ? " " : ",",
				    c->exempts[i].checks.v[k]);
		}
	else
		fbuf_adds(b, "?");
}

static void
conf_show_field(struct fbuf *b, enum conf_show_kind kind, const void *f)
{
	const struct conf_listen_list *l = f;
	const struct cidr_list *n = f;
	const struct conf_strlist *s = f;

	switch (kind) {
	case CONF_SHOW_STRING:
		fbuf_adds(b, f);
		break;
	case CONF_SHOW_UINT:
		fbuf_addf(b, "%u", *(const unsigned *)f);
		break;
	case CONF_SHOW_U64SIZE:
		fbuf_addf(b, "%llu", (unsigned long long)*(const uint64_t *)f);
		break;
	case CONF_SHOW_DURATION:
		fbuf_addf(b, "%llus", (unsigned long long)*(const uint64_t *)f);
		break;
	case CONF_SHOW_BOOL:
		fbuf_adds(b, *(const bool *)f ? "yes" : "no");
		break;
	case CONF_SHOW_LISTEN:
		for (size_t i = 0; i < l->n; i++)
			fbuf_addf(b, strchr(l->v[i].host, ':') != NULL ?
			    "%s[%s]:%s" : "%s%s:%s", i > 0 ? ", " : "",
			    l->v[i].host, l->v[i].port);
		break;
	case CONF_SHOW_CIDRS:
		for (size_t i = 0; i < n->n; i++) {
			conf_show_sep(b, ", ");
			conf_show_cidr(b, &n->v[i]);
		}
		break;
	case CONF_SHOW_STRLIST:
		for (size_t i = 0; i < s->n; i++)
			fbuf_addf(b, "%s%s", i > 0 ? ", " : "", s->v[i]);
		break;
	case CONF_SHOW_SCORE:
		fbuf_addf(b, "%g", *(const double *)f);
		break;
	case CONF_SHOW_OTHER:
	default:
		break;
	}
}

static void
conf_show_one(const char *name, enum conf_show_kind kind, const void *field,
    void *arg)
{
	struct conf_show_ctx *x = arg;
	bool secret = conf_show_secret(name);

	fbuf_reset(&x->v);
	if (kind == CONF_SHOW_OTHER)
		conf_show_other(x->c, name, &x->v);
	else
		conf_show_field(&x->v, kind, field);
	if (secret)
		x->cb(name, x->v.len > 0 ? "(set)" : "", true, x->ctx);
	else
		x->cb(name, fbuf_str(&x->v), false, x->ctx);
}

void
conf_show(const struct conf *c, conf_show_cb *cb, void *ctx)
{
	struct conf_show_ctx x = { c, cb, ctx, { NULL, 0, 0, 0 } };

	fbuf_init(&x.v, 0);
	conf_each_key(c, conf_show_one, &x);
	fbuf_release(&x.v);
}

/* Unit tests of the configuration parser: every value type, lists,
 * repeatable keys, and the FILE:LINE: reason errors. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/conf_show.h"
#include "lib/fbuf.h"
#include "test.h"

static int
parse(struct conf *c, const char *text, const char **error)
{
	conf_defaults(c);
	return conf_parse(c, "t.conf", text, strlen(text), error);
}

static void
test_conf_values(void)
{
	struct conf c;
	const char *error = NULL;
	const char *text =
	    "# comment\n"
	    "hostname = mx1.example.test   # trailing comment\n"
	    "state_dir = /var/tmp/ferry\n"
	    "smtp_listen = 127.0.0.1:2525, [::1]:2526\n"
	    "relay_networks = 127.0.0.0/8, ::1, 192.0.2.0/24\n"
	    "message_size_limit = 10M\n"
	    "max_recipients = 50\n"
	    "max_hops = 30\n"
	    "smtp_timeout = 2m\n"
	    "queue_lifetime = 5d\n"
	    "local_part_case_sensitive = yes\n"
	    "log_level = debug\n"
	    "\n";

	test_begin("conf values of every type");
	test_assert(parse(&c, text, &error) == 0);
	test_assert_streq(c.hostname, "mx1.example.test");
	/* node_name: the host name until set. */
	test_assert_streq(conf_node_name(&c), "mx1.example.test");
	conf_free(&c);
	test_assert(parse(&c, "node_name = node-a.1\n", &error) == 0);
	test_assert_streq(conf_node_name(&c), "node-a.1");
	conf_free(&c);
	test_assert(parse(&c, text, &error) == 0);
	test_assert_streq(c.state_dir, "/var/tmp/ferry");
	test_assert(c.smtp_listen.n == 2);
	test_assert_streq(c.smtp_listen.v[0].host, "127.0.0.1");
	test_assert_streq(c.smtp_listen.v[0].port, "2525");
	test_assert_streq(c.smtp_listen.v[1].host, "::1");
	test_assert(c.relay_networks.n == 3);
	test_assert(c.message_size_limit == 10 * 1024 * 1024);
	test_assert(c.max_recipients == 50);
	test_assert(c.max_hops == 30);
	test_assert(c.smtp_timeout == 120);
	test_assert(c.queue_lifetime == 5 * 86400);
	test_assert(c.local_part_case_sensitive);
	test_assert(c.log_level == 0);
	conf_free(&c);
	test_end();
}

static void
test_conf_repeatable(void)
{
	struct conf c;
	const char *error = NULL;
	const char *text =
	    "state_dir = /x\n"
	    "route = gmail.com relay.example.net:587 tls=encrypt auth=/etc/a\n"
	    "route = .example.com [127.0.0.9]\n"
	    "route = * smart.example.net\n"
	    "tls_policy = example.org verify\n"
	    "tls_policy = .example.org none\n"
	    "dns_resolvers = 127.0.0.1:5353, 8.8.8.8, ::1\n"
	    "backup_domains = A.test, b.test.\n"
	    "fallback_relay = [127.0.0.7]:2526\n";
	const struct conf_route *r;

	test_begin("conf repeatable keys, routes, policies");
	test_assert(parse(&c, text, &error) == 0);
	test_assert(c.routes.n == 3);
	r = conf_route_for(&c, "gmail.com");
	test_assert(r != NULL && strcmp(r->host, "relay.example.net") == 0 &&
	    strcmp(r->port, "587") == 0 && r->tls == CONF_TLS_ENCRYPT &&
	    strcmp(r->auth_file, "/etc/a") == 0);
	r = conf_route_for(&c, "a.example.com");
	test_assert(r != NULL && r->no_mx && strcmp(r->host, "127.0.0.9") == 0);
	r = conf_route_for(&c, "other.org");
	test_assert(r != NULL && strcmp(r->host, "smart.example.net") == 0);
	test_assert(conf_tls_policy_for(&c, "example.org") == CONF_TLS_VERIFY);
	test_assert(conf_tls_policy_for(&c, "mx.example.org") == CONF_TLS_NONE);
	test_assert(conf_tls_policy_for(&c, "x.test") == CONF_TLS_MAY);
	test_assert(c.dns_resolvers.n == 3);
	test_assert_streq(c.dns_resolvers.v[0].port, "5353");
	test_assert_streq(c.dns_resolvers.v[1].port, "53");
	test_assert_streq(c.dns_resolvers.v[2].host, "::1");
	test_assert(conf_strlist_has(&c.backup_domains, "a.test"));
	test_assert(conf_strlist_has(&c.backup_domains, "B.TEST"));
	test_assert(c.fallback_relay.no_mx &&
	    strcmp(c.fallback_relay.port, "2526") == 0);
	conf_free(&c);
	test_end();
}

static void
test_conf_show_route_mx(const char *name, const char *value, bool secret,
    void *ctx)
{
	if (strcmp(name, "route_mx") == 0)
		fbuf_adds(ctx, value);
}

static void
test_conf_route_mx(void)
{
	struct conf c;
	const char *error = NULL;
	const char *text =
	    "route_mx = *.google.com relay.example.net:587 tls=encrypt "
	    "auth=/etc/a fallback=[192.0.2.9]:2525\n"
	    "route_mx = ASPMX.L.Google.com. [192.0.2.1]\n"
	    "route_mx = .outlook.com [192.0.2.2]\n"
	    "route = gmail.com direct.example.net fallback=fb.example.net\n";
	const struct conf_route *r;
	struct fbuf b;

	test_begin("conf route_mx and per-route fallbacks");
	test_assert(parse(&c, text, &error) == 0);
	if (error != NULL)
		fprintf(stderr, "  got: %s\n", error);
	test_assert(c.routes_mx.n == 3 && c.routes.n == 1);
	/* exact names first, whatever the order written */
	r = conf_route_mx_for(&c, "aspmx.l.google.com.");
	test_assert(r != NULL && strcmp(r->host, "192.0.2.1") == 0 &&
	    r->no_mx);
	r = conf_route_mx_for(&c, "ALT1.ASPMX.L.GOOGLE.COM");
	test_assert(r != NULL && strcmp(r->host, "relay.example.net") == 0 &&
	    strcmp(r->port, "587") == 0 && r->tls == CONF_TLS_ENCRYPT &&
	    strcmp(r->fb_host, "192.0.2.9") == 0 && r->fb_no_mx &&
	    strcmp(r->fb_port, "2525") == 0);
	test_assert(conf_route_mx_for(&c, "google.com") == NULL);
	test_assert(conf_route_mx_for(&c, "notgoogle.com") == NULL);
	r = conf_route_mx_for(&c, "x.mail.protection.outlook.com");
	test_assert(r != NULL && strcmp(r->host, "192.0.2.2") == 0 &&
	    r->fb_host[0] == '\0');
	test_assert(conf_route_mx_for(&c, "") == NULL);
	r = conf_route_for(&c, "gmail.com");
	test_assert(r != NULL && strcmp(r->fb_host, "fb.example.net") == 0 &&
	    !r->fb_no_mx && r->fb_port[0] == '\0');
	fbuf_init(&b, 0);
	conf_show(&c, test_conf_show_route_mx, &b);
	test_assert_streq(fbuf_str(&b), "*.google.com relay.example.net:587 "
	    "tls=encrypt auth=/etc/a fallback=[192.0.2.9]:2525; "
	    "aspmx.l.google.com [192.0.2.1]; *.outlook.com [192.0.2.2]");
	fbuf_release(&b);
	conf_free(&c);
	test_end();
}

static void
test_conf_errors(void)
{
	static const struct {
		const char *text;
		const char *error;
	} cases[] = {
		{ "state_dir = /x\nbogus = 1\n", "t.conf:2: unknown key \"bogus\"" },
		{ "max_recipients = 0\n", "t.conf:1: max_recipients: expected a number from 1 to 100000" },
		{ "max_recipients = 12x\n", "t.conf:1: max_recipients: expected a number from 1 to 100000" },
		{ "max_hops = 0\n", "t.conf:1: max_hops: expected a number from 1 to 1000" },
		{ "max_hops = many\n", "t.conf:1: max_hops: expected a number from 1 to 1000" },
		{ "message_size_limit = 10Q\n", "t.conf:1: message_size_limit: expected a size such as 4096, 512K, 50M or 1G" },
		{ "min_free_space = 100%\n", "t.conf:1: min_free_space: expected a size such as 500M or 2G, or a percentage from 0% to 99%" },
		{ "min_free_space = lots\n", "t.conf:1: min_free_space: expected a size such as 500M or 2G, or a percentage from 0% to 99%" },
		{ "smtp_timeout = soon\n", "t.conf:1: smtp_timeout: expected a duration such as 30s, 5m, 4h or 5d" },
		{ "relay_networks = 10.0.0.0/33\n", "t.conf:1: relay_networks: not a network address: 10.0.0.0/33" },
		{ "smtp_listen = 127.0.0.1\n", "t.conf:1: smtp_listen: expected HOST:PORT, not \"127.0.0.1\"" },
		{ "smtp_listen = 127.0.0.1:99999\n", "t.conf:1: smtp_listen: expected HOST:PORT, not \"127.0.0.1:99999\"" },
		{ "hostname = bad..name\n", "t.conf:1: hostname: not a valid host name" },
		{ "node_name = a/b\n", "t.conf:1: node_name: not a node name (letters, digits, '-' and '.', at most 63)" },
		{ "node_name = 0123456789012345678901234567890123456789012345678901234567890123\n", "t.conf:1: node_name: not a node name (letters, digits, '-' and '.', at most 63)" },
		{ "just words\n", "t.conf:1: expected \"key = value\"" },
		{ "sender_check = maybe\n", "t.conf:1: sender_check: expected yes or no" },
		{ "direct_delivery = sometimes\n", "t.conf:1: direct_delivery: expected yes or no" },
		{ "auth_cache_ttl = forever\n", "t.conf:1: auth_cache_ttl: expected a duration such as 30s, 5m, 4h or 5d" },
		{ "route = example.com\n", "t.conf:1: route: expected DOMAIN HOST[:PORT] [tls=MODE] [auth=FILE] [fallback=HOST[:PORT]]" },
		{ "route = example.com h tls=sometimes\n", "t.conf:1: route: expected tls=none|may|encrypt|verify, auth=FILE or fallback=HOST[:PORT]" },
		{ "route = example.com h fallback=[h\n", "t.conf:1: route: fallback= expects HOST, HOST:PORT or [HOST]:PORT" },
		{ "route = example.com h fallback=h:0\n", "t.conf:1: route: fallback= expects HOST, HOST:PORT or [HOST]:PORT" },
		{ "fallback_relay = h fallback=g\n", "t.conf:1: fallback_relay: expected tls=none|may|encrypt|verify or auth=FILE" },
		{ "route_mx = *.google.com\n", "t.conf:1: route_mx: expected MXHOST|*.SUFFIX HOST[:PORT] [tls=MODE] [auth=FILE] [fallback=HOST[:PORT]]" },
		{ "route_mx = * relay.example.net\n", "t.conf:1: route_mx: route_mx matches an MX host name: mx.example.com or *.example.com" },
		{ "route_mx = *google.com relay.example.net\n", "t.conf:1: route_mx: route_mx matches an MX host name: mx.example.com or *.example.com" },
		{ "route_mx = a.*.com relay.example.net\n", "t.conf:1: route_mx: route_mx matches an MX host name: mx.example.com or *.example.com" },
		{ "route_mx = [10.0.0.1] relay.example.net\n", "t.conf:1: route_mx: route_mx matches an MX host name: mx.example.com or *.example.com" },
		{ "route_mx = ..x relay.example.net\n", "t.conf:1: route_mx: route_mx matches an MX host name: mx.example.com or *.example.com" },
		{ "route_mx = *.x.com [relay\n", "t.conf:1: route_mx: expected HOST, HOST:PORT or [HOST]:PORT" },
		{ "route_mx = *.x.com relay tls=often\n", "t.conf:1: route_mx: expected tls=none|may|encrypt|verify, auth=FILE or fallback=HOST[:PORT]" },
		{ "retry_min = 2h\nretry_max = 1h\n", "t.conf: retry_min is larger than retry_max" },
		{ "state_dir = relative\n", "t.conf:1: state_dir: must be a path (absolute, or relative starting with .)" },
	};
	struct conf c;
	const char *error;

	test_begin("conf errors name FILE:LINE and the reason");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		error = NULL;
		test_assert_idx(parse(&c, cases[i].text, &error) == -1, i);
		test_assert_idx(error != NULL &&
		    strcmp(error, cases[i].error) == 0, i);
		if (error != NULL && strcmp(error, cases[i].error) != 0)
			fprintf(stderr, "  got: %s\n", error);
		conf_free(&c);
	}
	test_end();
}

/* Typo suggestions: the first known key at the least edit distance
 * (insert, delete, substitute, swap of neighbours), when that is at most
 * a third of the name (at least 2); none otherwise. */
static void
test_conf_key_nearest(void)
{
	static const struct {
		const char *name;
		const char *near;	/* NULL: no suggestion */
	} cases[] = {
		{ "max_recipient", "max_recipients" },	/* insertion */
		{ "max_recipientss", "max_recipients" },	/* deletion */
		{ "smtp_lsiten", "smtp_listen" },	/* swap */
		{ "mset_hostname", NULL },
		{ "ohstname", "hostname" },		/* swap at the start */
		{ "hostnaem", "hostname" },		/* swap at the end */
		{ "SPAMD", "spamd" },			/* case-blind */
		{ "spamd", "spamd" },			/* exact */
		{ "hXstnXme", "hostname" },		/* 2 of 8: the limit */
		{ "hXXtnXme", NULL },			/* 3 of 8: too far */
		{ "relay_network", "relay_networks" },
		{ "xsmtp_timeout_x", "smtp_timeout" },	/* 2, at the ends */
		/* 5 of 15: the limit; 6 is too far */
		{ "QQQQQrecipients", "max_recipients" },
		{ "QQQQQQecipients", NULL },
		/* ties go to the key that comes first in the table */
		{ "smap_timeout", "smtp_timeout" },	/* 1 from imap_timeout */
		{ "pop3__listen", "pop3_listen" },	/* 1 from pop3s_listen */
		/* a later key that is closer wins over an earlier one */
		{ "submissions_listem", "submissions_listen" },
		{ "sxx", "spf" },
		{ "zzzzqqqq", NULL },
		{ "", NULL },
		/* 63 characters: considered; 64: too long to compare */
		{ "dmarc_report_mailboxes_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NULL },
		{ "dmarc_report_mailboxesxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NULL },
		{ "domain_send_limit_messages_per_hourxx", "domain_send_limit_messages_per_hour" },
		{ "a", NULL },
		{ "ab", NULL },
		{ "srx", "srs" },
		/* octets the key has more of than the name */
		{ "r", "srs" },
		{ "tieou_ail", "timeout_mail" },
		{ "ima_trusted_roxies", "imap_trusted_proxies" },
	};

	test_begin("conf unknown key: the nearest known key");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = conf_key_nearest(cases[i].name);

		test_assert_idx(cases[i].near != NULL ? got != NULL &&
		    strcmp(got, cases[i].near) == 0 : got == NULL, i);
		if (cases[i].near != NULL ? got == NULL ||
		    strcmp(got, cases[i].near) != 0 : got != NULL)
			fprintf(stderr, "  %s: got %s\n", cases[i].name,
			    got != NULL ? got : "(none)");
	}
	test_end();
}

static void
test_conf_nul_and_long_line(void)
{
	struct conf c;
	const char *error = NULL;
	char text[10000];

	test_begin("conf NUL byte and overlong line");
	conf_defaults(&c);
	test_assert(conf_parse(&c, "t.conf", "hostname = a\0b\n", 15,
	    &error) == -1);
	test_assert_streq(error, "t.conf:1: NUL byte in line");
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	test_assert(parse(&c, text, &error) == -1);
	test_assert_streq(error, "t.conf:1: line too long");
	conf_free(&c);
	test_end();
}

/* Snapshots: loaded whole or not at all; references keep one alive
 * until the last is dropped (ASan checks the frees); a plain struct conf
 * is left alone. */
static void
test_conf_snapshot(void)
{
	char path[] = "/tmp/ferry-test-conf-XXXXXX";
	const char *error = NULL, *text = "hostname = snap.test\n"
	    "backup_domains = a.test, b.test\n";
	const struct conf *a, *b;
	struct conf *snap = NULL, plain;
	FILE *f;
	int fd;

	test_begin("conf snapshots and references");
	test_assert(conf_snapshot_load("/nonexistent/ferry.conf", &snap,
	    &error) == -1 && snap == NULL);
	test_assert(error != NULL && strstr(error, "/nonexistent") != NULL);
	fd = mkstemp(path);
	test_assert(fd >= 0);
	f = fdopen(fd, "w");
	fputs("max_recipients = many\n", f);
	fclose(f);
	test_assert(conf_snapshot_load(path, &snap, &error) == -1);
	test_assert(strstr(error, ":1:") != NULL);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	test_assert(conf_snapshot_load(path, &snap, &error) == 0);
	a = snap;
	test_assert(a->refs == 1 && strcmp(a->hostname, "snap.test") == 0);
	b = conf_ref(a);
	test_assert(b == a && a->refs == 2);
	conf_unref(&b);
	test_assert(b == NULL && a->refs == 1);
	/* Still readable after a reference came and went. */
	test_assert(conf_strlist_has(&a->backup_domains, "b.test"));
	conf_unref(&a);
	test_assert(a == NULL);
	conf_unref(&a);		/* NULL: nothing */
	conf_defaults(&plain);
	a = conf_ref(&plain);
	test_assert(a == &plain && plain.refs == 0);
	conf_unref(&a);
	test_assert(plain.refs == 0);
	conf_free(&plain);
	unlink(path);
	test_end();
}

int
main(void)
{
	test_conf_snapshot();
	test_conf_values();
	test_conf_repeatable();
	test_conf_route_mx();
	test_conf_errors();
	test_conf_key_nearest();
	test_conf_nul_and_long_line();
	return test_exit();
}

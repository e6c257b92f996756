/* Unit tests for the inbound check pipeline: the per-IP trackers, the
 * gates' pure helpers, and whole runs on a real event loop with a store
 * in a temporary directory (gates that need no DNS: client, rate,
 * helo, greylist, bad_rcpt; DNS gates are covered by the integration
 * tests against tests/integration/fakedns.py). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "policy/policy_private.h"
#include "lib/workpool.h"
#include "store/store.h"
#include "test.h"

static char test_dir[64];

struct test_run {
	bool called;
	struct policy_result r;
};

static void
test_sa(struct sockaddr_storage *ss, const char *ip)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1)
		s6->sin6_family = AF_INET6;
}

static void
test_track(void)
{
	struct policy_track *t = policy_track_create(2);

	test_begin("policy_track windows and blocks");
	test_assert(policy_track_hit(t, "a", 1000, 60) == 1);
	test_assert(policy_track_hit(t, "a", 1001, 60) == 2);
	test_assert(policy_track_count(t, "a", 1059, 60) == 2);
	/* Half of the previous window still counts half. */
	test_assert(policy_track_count(t, "a", 1090, 60) == 1);
	test_assert(policy_track_count(t, "a", 1200, 60) == 0);
	test_assert(policy_track_hit(t, "b", 1000, 60) == 1);
	/* Full (max 2): a new key goes uncounted until idle ones go. */
	test_assert(policy_track_hit(t, "c", 1001, 60) == 0);
	test_assert(policy_track_hit(t, "c", 1300, 60) == 1);
	policy_track_block(t, "c", 1300, 1310);
	test_assert(policy_track_blocked(t, "c", 1305) == 1310);
	test_assert(policy_track_blocked(t, "c", 1310) == 0);
	test_assert(policy_track_count(t, "c", 1305, 60) == 0);
	test_assert(policy_track_blocked(t, "zzz", 1305) == 0);
	policy_track_free(&t);
	test_assert(t == NULL);
	test_end();
}

static void
test_helo(void)
{
	static const struct {
		const char *helo;
		bool bad;
	} cases[] = {
		{ "mail.example.org", false }, { "[192.0.2.1]", false },
		{ "[IPv6:2001:db8::1]", false }, { "192.0.2.1", true },
		{ "2001:db8::1", true }, { "localhost", true },
		{ "[999.1.1.1]", true }, { "mx.self.test", true },
		{ "MX.SELF.TEST", true }, { "-bad.example.org", true },
		{ "a..b", true }, { "host.123", true }, { "x_y.example", true },
		{ "a.b", false },
	};
	struct conf c;

	test_begin("gate_helo_problem");
	conf_defaults(&c);
	snprintf(c.hostname, sizeof(c.hostname), "mx.self.test");
	c.helo_reject_malformed = c.helo_reject_bare_ip = true;
	c.helo_reject_self = true;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		test_assert_idx((gate_helo_problem(&c, cases[i].helo) !=
		    NULL) == cases[i].bad, i);
	c.helo_reject_malformed = false;
	test_assert(gate_helo_problem(&c, "localhost") == NULL);
	test_assert(gate_helo_problem(&c, "192.0.2.1") != NULL);
	c.helo_reject_bare_ip = false;
	test_assert(gate_helo_problem(&c, "192.0.2.1") == NULL);
	conf_free(&c);
	test_end();
}

static void
test_helpers(void)
{
	struct sockaddr_storage ss;
	char net[64];

	test_begin("greylist networks and DNSBL answers");
	test_sa(&ss, "192.0.2.77");
	test_assert(gate_greylist_net((struct sockaddr *)&ss, net,
	    sizeof(net)) == 0);
	test_assert_streq(net, "192.0.2.0/24");
	test_sa(&ss, "2001:db8:1:2:3:4:5:6");
	test_assert(gate_greylist_net((struct sockaddr *)&ss, net,
	    sizeof(net)) == 0);
	test_assert_streq(net, "2001:db8:1:2::/64");
	test_sa(&ss, "::ffff:198.51.100.9");
	test_assert(gate_greylist_net((struct sockaddr *)&ss, net,
	    sizeof(net)) == 0);
	test_assert_streq(net, "198.51.100.0/24");
	test_sa(&ss, "127.0.0.2");
	test_assert(gate_dnsbl_listed((struct sockaddr *)&ss));
	test_sa(&ss, "127.255.255.254");
	test_assert(!gate_dnsbl_listed((struct sockaddr *)&ss));
	test_sa(&ss, "192.0.2.1");
	test_assert(!gate_dnsbl_listed((struct sockaddr *)&ss));
	test_assert(policy_check_known("dnsbl") && policy_check_known("SPF"));
	test_assert(!policy_check_known("nonsense"));
	test_end();
}

struct test_env {
	struct event_base *base;
	struct conf conf;
	struct store *store;
	struct workpool *wp;
	struct store_pool *stores;
	struct policy *p;
	struct policy_client c;
};

static void
test_done_cb(const struct policy_result *r, void *arg)
{
	struct test_run *t = arg;

	t->called = true;
	t->r = *r;
}

/* Runs one stage to its end; the result's verdict. */
static enum policy_verdict
test_stage(struct test_env *e, enum policy_stage stage,
    struct policy_result *r)
{
	struct test_run t = { false, { 0 } };
	struct store_rule *rules;
	size_t n;

	if (stage == POLICY_RCPT) {
		/* What the session's recipient lookup does on a worker. */
		test_assert(policy_rules_load(e->store, e->c.rcpt_domain,
		    &rules, &n) == 0);
		policy_client_set_rules(&e->c, rules, n);
		free(rules);
	}
	policy_run(e->p, &e->c, stage, test_done_cb, &t);
	test_assert(!t.called);		/* never inline */
	while (!t.called)
		event_base_loop(e->base, EVLOOP_ONCE);
	if (r != NULL)
		*r = t.r;
	return t.r.verdict;
}

static void
test_env_open(struct test_env *e, const char *conf_text, const char *ip)
{
	const char *error = NULL;
	char db[128];
	struct sockaddr_storage ss;

	memset(e, 0, sizeof(*e));
	e->base = event_base_new();
	conf_defaults(&e->conf);
	if (conf_parse(&e->conf, "test", conf_text, strlen(conf_text),
	    &error) < 0)
		fprintf(stderr, "conf: %s\n", error);
	snprintf(db, sizeof(db), "%s/ferry.db", test_dir);
	unlink(db);
	if (store_open(&e->store, db, &error) < 0)
		fprintf(stderr, "store: %s\n", error);
	store_domain_add(e->store, "example.test", NULL);
	store_domain_add(e->store, "other.test", NULL);
	e->wp = workpool_create(e->base, 2);
	if (store_pool_create(&e->stores, e->wp, db, &error) < 0)
		fprintf(stderr, "store pool: %s\n", error);
	e->p = policy_create(e->base, &e->conf, NULL, e->stores);
	test_sa(&ss, ip);
	policy_client_init(&e->c, (struct sockaddr *)&ss, "0123456789abcdef");
}

static void
test_env_close(struct test_env *e)
{
	policy_client_free(&e->c);
	policy_free(&e->p);
	workpool_free(&e->wp);
	store_pool_free(&e->stores);
	store_close(&e->store);
	conf_free(&e->conf);
	event_base_free(e->base);
}

/* HELO name, MAIL sender and RCPT recipient, as the session sets them. */
static void
test_tx(struct test_env *e, const char *sender, const char *rcpt)
{
	policy_client_reset_tx(&e->c);
	snprintf(e->c.sender, sizeof(e->c.sender), "%s", sender);
	e->c.rcpt = rcpt;
	e->c.rcpt_domain = strrchr(rcpt, '@') + 1;
}

static long
test_rule(struct test_env *e, const char *domain, const char *action,
    const char *kind, const char *value)
{
	struct store_rule r;

	memset(&r, 0, sizeof(r));
	snprintf(r.domain, sizeof(r.domain), "%s", domain);
	snprintf(r.action, sizeof(r.action), "%s", action);
	snprintf(r.kind, sizeof(r.kind), "%s", kind);
	snprintf(r.value, sizeof(r.value), "%s", value);
	test_assert(store_rule_add(e->store, &r, NULL) == 0);
	return (long)r.id;
}

static void
test_deferred_and_rules(void)
{
	struct test_env e;
	struct policy_result r;
	long deny, allow;

	test_begin("client_deny decided at RCPT; rules allow, deny, skip");
	test_env_open(&e, "client_deny = 192.0.2.0/24\n"
	    "helo_reject_bare_ip = yes\n", "192.0.2.7");
	test_assert(test_stage(&e, POLICY_CONNECT, &r) == POLICY_ACCEPT);
	test_assert(e.c.npending == 1);
	snprintf(e.c.helo, sizeof(e.c.helo), "192.0.2.7");
	test_assert(test_stage(&e, POLICY_HELO, NULL) == POLICY_ACCEPT);
	test_assert(e.c.npending == 2);
	test_tx(&e, "a@sender.test", "u@example.test");
	test_assert(test_stage(&e, POLICY_MAIL, NULL) == POLICY_ACCEPT);
	test_assert(test_stage(&e, POLICY_RCPT, &r) == POLICY_REJECT);
	test_assert(r.code == 554 && strcmp(r.enhanced, "5.7.1") == 0);
	test_assert_streq(r.check, "client");
	/* skip client: the HELO verdict decides next. */
	test_rule(&e, "example.test", "skip", "check", "client");
	test_assert(test_stage(&e, POLICY_RCPT, &r) == POLICY_REJECT);
	test_assert_streq(r.check, "helo");
	test_rule(&e, "example.test", "skip", "check", "helo,dnsbl");
	test_assert(test_stage(&e, POLICY_RCPT, &r) == POLICY_ACCEPT);
	/* Other domains are not affected. */
	e.c.rcpt = "u@other.test";
	e.c.rcpt_domain = "other.test";
	test_assert(test_stage(&e, POLICY_RCPT, &r) == POLICY_REJECT);
	allow = test_rule(&e, "other.test", "allow", "sender", "@SENDER.test");
	test_assert(test_stage(&e, POLICY_RCPT, &r) == POLICY_ALLOW);
	test_assert(r.rule_id == allow);
	/* deny wins over allow. */
	deny = test_rule(&e, "other.test", "deny", "ip", "192.0.2.0/28");
	test_assert(test_stage(&e, POLICY_RCPT, &r) == POLICY_REJECT);
	test_assert(r.code == 550 && r.rule_id == deny);
	test_assert_streq(r.check, "rule");
	test_assert(store_rule_del(e.store, deny, NULL) == 0);
	test_assert(store_rule_del(e.store, deny, NULL) < 0);
	/* A new HELO drops the old HELO verdict. */
	snprintf(e.c.helo, sizeof(e.c.helo), "mail.sender.test");
	test_assert(test_stage(&e, POLICY_HELO, NULL) == POLICY_ACCEPT);
	test_assert(e.c.npending == 1);
	test_env_close(&e);
	test_end();
}

static void
test_trusted_exempt_allow(void)
{
	struct test_env e;

	test_begin("trusted clients, exemptions, client_allow");
	test_env_open(&e, "client_deny = 192.0.2.0/24\n"
	    "client_allow = 192.0.2.9\n"
	    "exempt = 192.0.2.8 client\n", "192.0.2.7");
	e.c.trusted = true;
	test_assert(!policy_stage_active(e.p, &e.c, POLICY_CONNECT));
	test_assert(test_stage(&e, POLICY_CONNECT, NULL) == POLICY_ACCEPT);
	test_assert(e.c.npending == 0);
	e.c.trusted = false;
	test_assert(policy_stage_active(e.p, &e.c, POLICY_CONNECT));
	test_assert(!policy_stage_active(e.p, &e.c, POLICY_DATA));
	test_env_close(&e);

	test_env_open(&e, "client_deny = 192.0.2.0/24\n"
	    "exempt = 192.0.2.8 client, helo\n", "192.0.2.8");
	test_assert(test_stage(&e, POLICY_CONNECT, NULL) == POLICY_ACCEPT);
	test_assert(e.c.npending == 0);
	test_env_close(&e);

	test_env_open(&e, "client_deny = 192.0.2.0/24\n"
	    "client_allow = 192.0.2.9\n"
	    "helo_reject_bare_ip = yes\n", "192.0.2.9");
	test_assert(test_stage(&e, POLICY_CONNECT, NULL) == POLICY_ACCEPT);
	test_assert(e.c.allowed_by != NULL && e.c.npending == 0);
	snprintf(e.c.helo, sizeof(e.c.helo), "192.0.2.9");
	test_assert(test_stage(&e, POLICY_HELO, NULL) == POLICY_ACCEPT);
	test_assert(e.c.npending == 0);
	test_env_close(&e);
	test_end();
}

static void
test_greylist(void)
{
	struct test_env e;
	struct policy_result r;

	test_begin("greylist: first 451, retry passes, network trusted");
	test_env_open(&e, "greylist = yes\ngreylist_delay = 0\n",
	    "198.51.100.20");
	test_tx(&e, "a@sender.test", "u@example.test");
	test_assert(test_stage(&e, POLICY_RCPT, &r) == POLICY_TEMPFAIL);
	test_assert(r.code == 451 && strcmp(r.enhanced, "4.7.1") == 0);
	test_assert_streq(r.check, "greylist");
	test_assert(test_stage(&e, POLICY_RCPT, &r) == POLICY_ACCEPT);
	/* The /24 passed: another triplet from a neighbour passes too. */
	test_sa(&e.c.addr, "198.51.100.21");
	test_tx(&e, "b@sender.test", "v@example.test");
	test_assert(test_stage(&e, POLICY_RCPT, &r) == POLICY_ACCEPT);
	test_sa(&e.c.addr, "203.0.113.1");
	test_assert(test_stage(&e, POLICY_RCPT, &r) == POLICY_TEMPFAIL);
	/* skip greylist for a domain. */
	test_rule(&e, "example.test", "skip", "check", "greylist");
	test_sa(&e.c.addr, "203.0.113.99");
	test_assert(test_stage(&e, POLICY_RCPT, &r) == POLICY_ACCEPT);
	test_env_close(&e);

	test_env_open(&e, "greylist = yes\ngreylist_delay = 1h\n",
	    "198.51.100.20");
	test_tx(&e, "a@sender.test", "u@example.test");
	test_assert(test_stage(&e, POLICY_RCPT, &r) == POLICY_TEMPFAIL);
	test_assert(test_stage(&e, POLICY_RCPT, &r) == POLICY_TEMPFAIL);
	test_assert(strstr(r.text, "seconds") != NULL);
	test_env_close(&e);
	test_end();
}

static void
test_bad_rcpt_and_rate(void)
{
	struct test_env e;
	struct policy_result r;
	int blocked = 0;

	test_begin("dictionary-attack block and connection rate");
	test_env_open(&e, "bad_rcpt_limit = 3\nconn_rate_limit = 2\n",
	    "192.0.2.50");
	for (int i = 0; i < 4; i++)
		blocked += policy_note_bad_rcpt(e.p, &e.c);
	test_assert(blocked == 1);
	test_assert(policy_note_bad_rcpt(e.p, &e.c));
	test_tx(&e, "a@sender.test", "u@example.test");
	test_assert(test_stage(&e, POLICY_MAIL, &r) == POLICY_TEMPFAIL);
	test_assert(r.code == 451 && strcmp(r.enhanced, "4.7.1") == 0);
	/* Not overridable by a domain rule. */
	test_rule(&e, "example.test", "allow", "ip", "192.0.2.0/24");
	test_assert(test_stage(&e, POLICY_RCPT, &r) == POLICY_TEMPFAIL);
	test_assert(test_stage(&e, POLICY_CONNECT, &r) == POLICY_TEMPFAIL);
	test_assert(r.code == 421);
	test_sa(&e.c.addr, "192.0.2.51");
	snprintf(e.c.ip, sizeof(e.c.ip), "192.0.2.51");
	test_assert(test_stage(&e, POLICY_CONNECT, &r) == POLICY_ACCEPT);
	test_assert(test_stage(&e, POLICY_CONNECT, &r) == POLICY_ACCEPT);
	test_assert(test_stage(&e, POLICY_CONNECT, &r) == POLICY_TEMPFAIL);
	test_assert(r.code == 421);
	test_assert_streq(r.check, "rate");
	test_env_close(&e);
	test_end();
}

static void
test_abort(void)
{
	struct test_env e;
	struct test_run t = { false, { 0 } };
	struct policy_run *run;

	test_begin("policy_run_abort: the callback never runs");
	test_env_open(&e, "client_deny = 192.0.2.0/24\n", "192.0.2.7");
	run = policy_run(e.p, &e.c, POLICY_CONNECT, test_done_cb, &t);
	policy_run_abort(&run);
	test_assert(run == NULL);
	event_base_loop(e.base, EVLOOP_NONBLOCK);
	test_assert(!t.called);
	test_env_close(&e);
	test_end();
}

int
main(void)
{
	snprintf(test_dir, sizeof(test_dir), "/tmp/ferry-test-policy-XXXXXX");
	if (mkdtemp(test_dir) == NULL)
		return 1;
	test_track();
	test_helo();
	test_helpers();
	test_deferred_and_rules();
	test_trusted_exempt_allow();
	test_greylist();
	test_bad_rcpt_and_rate();
	test_abort();
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", test_dir);
		if (system(cmd) != 0)
			return 1;
	}
	return test_exit();
}

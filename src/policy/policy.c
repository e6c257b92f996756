/* The inbound check pipeline: runs a stage's enabled gates in the order
 * of `checks` (gates not named there follow in the built-in order),
 * logs each verdict, and hands the session one result.  Connect, HELO
 * and MAIL verdicts (except the abuse gates marked `immediate`) are kept
 * on the client and decided at RCPT, per recipient, where the recipient
 * domain's rules apply first: deny (550 5.7.1), allow (accept whatever
 * the checks say), skip CHECK,... (those checks' verdicts do not count
 * for this domain; at DATA, a check is skipped when every recipient's
 * domain skips it).  Relay clients and authenticated users skip the
 * checks unless check_trusted_clients; `exempt` lines skip named checks
 * per client network.  The session's callback never runs inline from
 * policy_run(): each run starts from a zero timer on the loop.
 * RFC 5321 4.2 (reply codes), RFC 3463 (enhanced codes), RFC 7372. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "lib/cidr.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "policy/policy_private.h"
#include "store/store.h"

#define POLICY_TRACK_MAX 100000		/* addresses per tracker */
#define POLICY_RULES_MAX 256		/* rules read per domain */


/* The gates, in the built-in order. */
static const struct policy_gate *const policy_gates[] = {
	&gate_client, &gate_rate, &gate_bad_rcpt, &gate_dnsbl, &gate_rdns,
	&gate_helo, &gate_mfcheck, &gate_spf, &gate_greylist, &gate_clamd,
	&gate_spamd,
};

#define POLICY_NGATES (sizeof(policy_gates) / sizeof(policy_gates[0]))
#define POLICY_ALL_CHECKS 0xffffffffu

struct policy_run {
	struct policy *p;
	struct policy_client *c;
	enum policy_stage stage;
	policy_done_cb *cb;
	void *arg;
	const struct policy_gate *order[POLICY_NGATES];
	size_t norder, nimmediate, next;
	struct policy_gate_call call;
	void *job;
	bool in_start, finished, done, rules_done;
	bool probe;			/* policy_stage_active(): no run */
	uint32_t skip;			/* checks not counted in this run */
	long skip_rule;			/* a rule that skipped some */
	struct event *ev;
	struct policy_result res;
	char note[200];
};

static void policy_step(struct policy_run *r);

const char *
policy_stage_name(enum policy_stage stage)
{
	static const char *const names[] = { "connect", "helo", "mail",
		"rcpt", "data" };

	return stage < POLICY_STAGES ? names[stage] : "?";
}

const char *
policy_verdict_name(enum policy_verdict v)
{
	static const char *const names[] = { "accept", "tag", "tempfail",
		"reject", "allow" };

	return v <= POLICY_ALLOW ? names[v] : "?";
}

static uint32_t
policy_check_bit(const char *name)
{
	int i = policy_check_index(name);

	return i < 0 ? 0 : 1u << i;
}

struct policy *
policy_create(struct event_base *base, const struct conf *conf,
    struct dns *dns, struct store_pool *stores)
{
	struct policy *p = xcalloc(1, sizeof(*p));

	p->base = base;
	p->conf = conf_ref(conf);
	p->dns = dns;
	p->stores = stores;
	p->rate = policy_track_create(POLICY_TRACK_MAX);
	p->bad_rcpt = policy_track_create(POLICY_TRACK_MAX);
	for (size_t i = 0; i < conf->checks.n; i++)
		if (!policy_check_known(conf->checks.v[i]))
			log_warnx("- policy unknown-check name=%s",
			    log_q(conf->checks.v[i]));
	return p;
}

void
policy_set_conf(struct policy *p, const struct conf *conf)
{
	const struct conf *old = p->conf;

	p->conf = conf_ref(conf);
	conf_unref(&old);
}

void
policy_free(struct policy **pp)
{
	struct policy *p = *pp;

	if (p == NULL)
		return;
	policy_track_free(&p->rate);
	policy_track_free(&p->bad_rcpt);
	free(p->greylist_trust);
	conf_unref(&p->conf);
	free(p);
	*pp = NULL;
}

void
policy_client_init(struct policy_client *c, const struct sockaddr *sa,
    const char *session_id)
{
	memset(c, 0, sizeof(*c));
	memcpy(&c->addr, sa, sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	cidr_addr_str(sa, c->ip, sizeof(c->ip));
	fbuf_init(&c->headers, 16384);
	for (int i = 0; i < POLICY_STAGES; i++)
		c->headers_at[i] = SIZE_MAX;
	c->session_id = session_id;
}

/* Forgets what stage and the later stages left on the client. */
static void
policy_client_drop_from(struct policy_client *c, enum policy_stage stage)
{
	size_t k = 0;

	if (c->headers_at[stage] != SIZE_MAX &&
	    c->headers_at[stage] <= c->headers.len) {
		c->headers.len = c->headers_at[stage];
		if (c->headers.data != NULL)
			c->headers.data[c->headers.len] = '\0';
	}
	for (int i = stage; i < POLICY_STAGES; i++)
		c->headers_at[i] = SIZE_MAX;
	for (size_t i = 0; i < c->npending; i++)
		if (c->pending[i].stage < stage)
			c->pending[k++] = c->pending[i];
	c->npending = k;
	if (stage <= POLICY_MAIL) {
		c->tx_skip = 0;
		c->tx_rcpts = 0;
		c->subject_prefix[0] = '\0';
		c->spam = false;
		c->spam_score = 0;
	}
	if (stage <= POLICY_CONNECT)
		c->allowed_by = NULL;
}

void
policy_client_reset_tx(struct policy_client *c)
{
	policy_client_drop_from(c, POLICY_MAIL);
}

void
policy_client_free(struct policy_client *c)
{
	fbuf_release(&c->headers);
	free(c->rules);
	c->rules = NULL;
	c->nrules = 0;
	free(c->pending);
	c->pending = NULL;
	c->npending = 0;
}

/* The snapshot a client's checks read (policy.h). */
static const struct conf *
policy_client_conf(const struct policy *p, const struct policy_client *c)
{
	return c->conf != NULL ? c->conf : p->conf;
}

/* Trusted clients skip every check unless check_trusted_clients;
 * another node of the system skips them all. */
static bool
policy_skip_all(const struct policy *p, const struct policy_client *c)
{
	return c->peer || (c->trusted &&
	    !policy_client_conf(p, c)->check_trusted_clients);
}

/* A trusted client's DATA stage that runs outbound_checks only. */
static bool
policy_outbound_only(const struct policy *p, const struct policy_client *c,
    enum policy_stage stage)
{
	return c->outbound && stage == POLICY_DATA && policy_skip_all(p, c) &&
	    policy_client_conf(p, c)->outbound_checks.n > 0;
}

bool
policy_check_skipped(const struct policy *p, const struct policy_client *c,
    const char *name)
{
	return policy_skip_all(p, c) || c->allowed_by != NULL ||
	    (c->tx_skip & policy_check_bit(name)) != 0 ||
	    conf_exempted(policy_client_conf(p, c),
	    (const struct sockaddr *)&c->addr, name);
}

static bool
policy_gate_at(const struct policy_gate *g, enum policy_stage stage)
{
	return g->every_stage || g->stage == stage;
}

static const struct policy_gate *
policy_gate_by_name(const char *name)
{
	for (size_t i = 0; i < POLICY_NGATES; i++)
		/* policy_gates[] is a constant table without NULLs */
		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
		if (str_ieq(policy_gates[i]->name, name))
			return policy_gates[i];
	return NULL;
}

static bool
policy_listed(const struct policy_gate *const *v, size_t n,
    const struct policy_gate *g)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == g)
			return true;
	return false;
}

/* The gates in configured order; immediate ones first (they decide
 * before rules and kept verdicts). */
static void
policy_order(struct policy_run *r)
{
	const struct conf *conf = r->call.conf;
	const struct policy_gate *all[POLICY_NGATES];
	bool outbound = policy_outbound_only(r->p, r->c, r->stage);
	size_t n = 0;

	for (size_t i = 0; i < conf->checks.n; i++) {
		const struct policy_gate *g =
		    policy_gate_by_name(conf->checks.v[i]);

		if (g != NULL && !policy_listed(all, n, g))
			all[n++] = g;
	}
	for (size_t i = 0; i < POLICY_NGATES; i++)
		if (!policy_listed(all, n, policy_gates[i]))
			all[n++] = policy_gates[i];
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			const struct policy_gate *g = all[i];

			if (g->immediate != (pass == 0) ||
			    !policy_gate_at(g, r->stage) || !g->enabled(conf) ||
			    (outbound && !conf_strlist_has(&conf->outbound_checks,
			    g->name)) ||
			    (r->probe && g->needed != NULL &&
			    !g->needed(r->p, r->c)))
				continue;
			r->order[r->norder++] = g;
			if (pass == 0)
				r->nimmediate++;
		}
}

void
policy_client_set_rules(struct policy_client *c, const struct store_rule *v,
    size_t n)
{
	free(c->rules);
	c->rules = NULL;
	c->nrules = 0;
	if (n == 0)
		return;
	c->rules = xreallocarray(NULL, n, sizeof(*c->rules));
	memcpy(c->rules, v, n * sizeof(*c->rules));
	c->nrules = n;
}

/* Collects at most POLICY_RULES_MAX rules. */
struct policy_rules {
	struct store_rule *v;
	size_t n;
};

static void
policy_rules_add(const struct store_rule *rule, void *ctx)
{
	struct policy_rules *rs = ctx;

	if (rs->n >= POLICY_RULES_MAX)
		return;
	rs->v = xreallocarray(rs->v, rs->n + 1, sizeof(*rs->v));
	rs->v[rs->n++] = *rule;
}

int
policy_rules_load(struct store *conn, const char *domain,
    struct store_rule **v_r, size_t *n_r)
{
	struct policy_rules rs = { NULL, 0 };
	const char *error = "no store connection";

	*v_r = NULL;
	*n_r = 0;
	if (domain == NULL || domain[0] == '\0')
		return 0;
	if (conn == NULL || store_rule_list(conn, domain, policy_rules_add,
	    &rs, &error) < 0) {
		log_warnx("- policy rules-failed domain=%s error=%s",
		    log_q(domain), log_q(error));
		free(rs.v);
		return -1;
	}
	*v_r = rs.v;
	*n_r = rs.n;
	return 0;
}

bool
policy_stage_active(struct policy *p, const struct policy_client *c,
    enum policy_stage stage)
{
	struct policy_run r;

	if (policy_skip_all(p, c) && !policy_outbound_only(p, c, stage))
		return false;
	memset(&r, 0, sizeof(r));
	r.p = p;
	r.c = (struct policy_client *)c;	/* only read by needed() */
	r.stage = stage;
	r.probe = true;
	r.call.conf = policy_client_conf(p, c);	/* borrowed: no run */
	policy_order(&r);
	if (r.norder > 0)
		return true;
	if (stage != POLICY_RCPT)
		return false;
	return c->npending > 0 || c->nrules > 0;
}

static bool
policy_rule_sender_match(const char *value, const char *sender)
{
	const char *at;

	if (strcmp(value, "<>") == 0)
		return sender[0] == '\0';
	if (value[0] == '@') {
		at = strrchr(sender, '@');
		return at != NULL && str_ieq(at + 1, value + 1);
	}
	return str_ieq(value, sender);
}

static bool
policy_rule_matches(const struct store_rule *rule,
    const struct policy_client *c)
{
	struct cidr net;

	if (strcmp(rule->kind, "sender") == 0)
		return policy_rule_sender_match(rule->value, c->sender);
	if (strcmp(rule->kind, "ip") == 0)
		return cidr_parse(rule->value, &net) == 0 &&
		    cidr_match(&net, (const struct sockaddr *)&c->addr);
	return false;
}

/* The checks a skip rule names, as bits. */
static uint32_t
policy_rule_skip_mask(const char *value)
{
	char buf[512], *save = NULL, *tok;
	uint32_t mask = 0;

	str_lcpy(buf, value, sizeof(buf));
	for (tok = strtok_r(buf, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save))
		mask |= policy_check_bit(tok);
	return mask;
}

static void
policy_result_set(struct policy_result *res, enum policy_verdict v, int code,
    const char *enhanced, const char *text, const char *check, long rule)
{
	res->verdict = v;
	res->code = code;
	str_lcpy(res->enhanced, enhanced, sizeof(res->enhanced));
	str_lcpy(res->text, text, sizeof(res->text));
	res->check = check;
	res->rule_id = rule;
}

/* Applies the domain's deny and allow rules and collects its skips.
 * True when a rule decided. */
static bool
policy_rcpt_rules(struct policy_run *r)
{
	const struct store_rule *allow = NULL;
	char text[300];

	for (size_t i = 0; i < r->c->nrules; i++) {
		const struct store_rule *rule = &r->c->rules[i];

		if (strcmp(rule->action, "skip") == 0) {
			r->skip |= policy_rule_skip_mask(rule->value);
			r->skip_rule = (long)rule->id;
		} else if (!policy_rule_matches(rule, r->c))
			continue;
		else if (strcmp(rule->action, "deny") == 0) {
			snprintf(text, sizeof(text), "Refused by the policy "
			    "of %s (rule %lld)", rule->domain,
			    (long long)rule->id);
			policy_result_set(&r->res, POLICY_REJECT, 550, "5.7.1",
			    text, "rule", (long)rule->id);
			return true;
		} else if (strcmp(rule->action, "allow") == 0 && allow == NULL)
			allow = rule;
	}
	if (allow == NULL)
		return false;
	policy_result_set(&r->res, POLICY_ALLOW, 250, "2.1.5", "Ok", "rule",
	    (long)allow->id);
	r->skip = POLICY_ALL_CHECKS;
	return true;
}

/* RCPT, between the immediate gates and the others: rules, then the
 * verdicts kept from earlier stages.  True when decided. */
static bool
policy_rcpt_decide(struct policy_run *r)
{
	if (policy_rcpt_rules(r))
		return true;
	for (size_t i = 0; i < r->c->npending; i++) {
		const struct policy_pending *pd = &r->c->pending[i];

		if (r->skip & policy_check_bit(pd->check)) {
			log_info("%s policy check=%s stage=rcpt verdict=skip "
			    "rule=%ld rcpt=%s", r->c->session_id, pd->check,
			    r->skip_rule, log_q(r->c->rcpt));
			continue;
		}
		policy_result_set(&r->res, pd->verdict, pd->code,
		    pd->enhanced, pd->text, pd->check, 0);
		return true;
	}
	return false;
}

/* Why a gate does not run for this client now, or NULL. */
static const char *
policy_gate_skip_reason(struct policy_run *r, const struct policy_gate *g)
{
	if (!g->immediate && r->c->allowed_by != NULL)
		return "allowed";
	if (r->skip & policy_check_bit(g->name))
		return "rule";
	if (conf_exempted(r->call.conf, (const struct sockaddr *)&r->c->addr,
	    g->name))
		return "exempt";
	return NULL;
}

void
policy_gate_note(struct policy_gate_call *call, const char *fmt, ...)
{
	struct policy_run *r = call->pipeline;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->note, sizeof(r->note), fmt, ap);
	va_end(ap);
}

static void
policy_log_verdict(struct policy_run *r, enum policy_verdict v, int code,
    const char *enhanced, const char *text, bool deferred)
{
	struct fbuf b;

	if (!log_enabled(LOG_LVL_INFO)) {
		r->note[0] = '\0';
		return;
	}
	fbuf_init(&b, 0);
	fbuf_addf(&b, "%s policy check=%s stage=%s verdict=%s",
	    r->c->session_id, r->call.gate->name, policy_stage_name(r->stage),
	    policy_verdict_name(v));
	if (v == POLICY_TEMPFAIL || v == POLICY_REJECT)
		fbuf_addf(&b, " code=%d dsn=%s reason=%s%s", code, enhanced,
		    log_q(text), deferred ? " deferred=rcpt" : "");
	if (r->note[0] != '\0')
		fbuf_addf(&b, " %s", r->note);
	log_info("%s", b.data);
	fbuf_release(&b);
	r->note[0] = '\0';
}

/* A connect/HELO/MAIL verdict kept for RCPT. */
static void
policy_keep(struct policy_run *r, enum policy_verdict v, int code,
    const char *enhanced, const char *text)
{
	struct policy_client *c = r->c;
	struct policy_pending *pd;

	if (c->npending >= POLICY_PENDING_MAX)
		return;
	if (c->pending == NULL)
		c->pending = xcalloc(POLICY_PENDING_MAX, sizeof(*c->pending));
	pd = &c->pending[c->npending++];
	pd->check = r->call.gate->name;
	pd->stage = r->stage;
	pd->verdict = v;
	pd->code = code;
	str_lcpy(pd->enhanced, enhanced, sizeof(pd->enhanced));
	str_lcpy(pd->text, text, sizeof(pd->text));
}

static void
policy_gate_record(struct policy_run *r, enum policy_verdict v, int code,
    const char *enhanced, const char *text)
{
	const struct policy_gate *g = r->call.gate;
	bool keep = !g->immediate && r->stage < POLICY_RCPT;

	if (v == POLICY_ALLOW) {
		/* client_allow: the rest of the session is not checked. */
		policy_log_verdict(r, v, 0, "", "", false);
		r->c->allowed_by = g->name;
		r->c->npending = 0;
		return;
	}
	if (v != POLICY_TEMPFAIL && v != POLICY_REJECT) {
		policy_log_verdict(r, v, 0, "", "", false);
		return;
	}
	policy_log_verdict(r, v, code, enhanced, text, keep);
	if (keep) {
		policy_keep(r, v, code, enhanced, text);
		return;
	}
	policy_result_set(&r->res, v, code, enhanced, text, g->name, 0);
	r->done = true;
}

void
policy_gate_finish(struct policy_gate_call *call, enum policy_verdict v,
    int code, const char *enhanced, const char *fmt, ...)
{
	struct policy_run *r = call->pipeline;
	char text[300];
	va_list ap;

	text[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(text, sizeof(text), fmt, ap);
		va_end(ap);
	}
	if (enhanced == NULL)
		enhanced = "";
	/* A DNS or scanner failure never becomes a permanent rejection. */
	if (v == POLICY_REJECT && (code < 500 || code > 599))
		v = POLICY_TEMPFAIL;
	if (v == POLICY_TEMPFAIL && (code < 400 || code > 499))
		code = 451;
	r->job = NULL;
	r->finished = true;
	policy_gate_record(r, v, code, enhanced, text);
	if (!r->in_start)
		policy_step(r);
}

void
policy_log_decision(const struct policy_client *c, enum policy_stage stage,
    const struct policy_result *res)
{
	struct fbuf b;
	bool quiet = res->verdict == POLICY_ACCEPT ||
	    res->verdict == POLICY_TAG;

	if ((quiet && stage != POLICY_RCPT && stage != POLICY_MAIL) ||
	    !log_enabled(LOG_LVL_INFO))
		return;
	fbuf_init(&b, 0);
	fbuf_addf(&b, "%s policy decision stage=%s verdict=%s ip=%s",
	    c->session_id, policy_stage_name(stage),
	    policy_verdict_name(res->verdict), c->ip);
	if (res->check != NULL)
		fbuf_addf(&b, " check=%s", res->check);
	if (res->rule_id != 0)
		fbuf_addf(&b, " rule=%ld", res->rule_id);
	if (stage >= POLICY_MAIL)
		fbuf_addf(&b, " from=<%s>", c->sender);
	if (stage == POLICY_RCPT && c->rcpt != NULL)
		fbuf_addf(&b, " rcpt=<%s>", c->rcpt);
	if (!quiet && res->verdict != POLICY_ALLOW)
		fbuf_addf(&b, " code=%d dsn=%s reason=%s", res->code,
		    res->enhanced, log_q(res->text));
	log_info("%s", b.data);
	fbuf_release(&b);
}

/* RCPT passed: the DATA checks skipped for the message are those that
 * every accepted recipient's domain skips. */
static void
policy_rcpt_passed(struct policy_run *r)
{
	struct policy_client *c = r->c;

	if (c->tx_rcpts == 0)
		c->tx_skip = r->skip;
	else
		c->tx_skip &= r->skip;
	c->tx_rcpts++;
}

static void
policy_complete(struct policy_run *r)
{
	struct policy_result res;

	if (!r->done)
		policy_result_set(&r->res, POLICY_ACCEPT, 250, "", "Ok", NULL,
		    0);
	if (r->stage == POLICY_RCPT && (r->res.verdict == POLICY_ACCEPT ||
	    r->res.verdict == POLICY_ALLOW || r->res.verdict == POLICY_TAG))
		policy_rcpt_passed(r);
	res = r->res;
	policy_log_decision(r->c, r->stage, &res);
	if (res.verdict == POLICY_REJECT || res.verdict == POLICY_TEMPFAIL)
		metrics_smtp_refused(res.check != NULL ? res.check :
		    res.rule_id != 0 ? "rule" : NULL, res.code);
	r->cb(&res, r->arg);
	event_free(r->ev);
	conf_unref(&r->call.conf);
	free(r);
}

static void
policy_step(struct policy_run *r)
{
	const struct policy_gate *g;
	const char *why;
	void *job;

	while (!r->done) {
		if (r->next == r->nimmediate && !r->rules_done) {
			r->rules_done = true;
			if (r->stage == POLICY_RCPT && policy_rcpt_decide(r)) {
				r->done = true;
				break;
			}
			continue;
		}
		if (r->next >= r->norder)
			break;
		g = r->order[r->next++];
		r->call.gate = g;
		if ((why = policy_gate_skip_reason(r, g)) != NULL) {
			log_debug("%s policy check=%s stage=%s verdict=skip "
			    "why=%s", r->c->session_id, g->name,
			    policy_stage_name(r->stage), why);
			continue;
		}
		r->finished = false;
		r->in_start = true;
		job = g->start(&r->call);
		r->in_start = false;
		if (!r->finished) {
			r->job = job;
			return;
		}
	}
	policy_complete(r);
}

static void
policy_run_start(evutil_socket_t fd, short what, void *arg)
{
	struct policy_run *r = arg;

	if (policy_skip_all(r->p, r->c) &&
	    !policy_outbound_only(r->p, r->c, r->stage)) {
		policy_complete(r);
		return;
	}
	policy_order(r);
	policy_step(r);
}

struct policy_run *
policy_run(struct policy *p, struct policy_client *client,
    enum policy_stage stage, policy_done_cb *cb, void *arg)
{
	struct policy_run *r = xcalloc(1, sizeof(*r));
	struct timeval now = { 0, 0 };

	r->p = p;
	r->c = client;
	r->stage = stage;
	r->cb = cb;
	r->arg = arg;
	r->call.policy = p;
	r->call.client = client;
	r->call.stage = stage;
	r->call.conf = conf_ref(policy_client_conf(p, client));
	r->call.base = p->base;
	r->call.dns = p->dns;
	r->call.stores = p->stores;
	r->call.pipeline = r;
	if (stage == POLICY_DATA)
		r->skip = client->tx_skip;
	if (stage != POLICY_RCPT) {
		policy_client_drop_from(client, stage);
		client->headers_at[stage] = client->headers.len;
	}
	r->ev = evtimer_new(p->base, policy_run_start, r);
	evtimer_add(r->ev, &now);
	return r;
}

void
policy_run_abort(struct policy_run **runp)
{
	struct policy_run *r = *runp;

	if (r == NULL)
		return;
	if (r->job != NULL && r->call.gate != NULL &&
	    r->call.gate->abort != NULL)
		r->call.gate->abort(r->job);
	event_free(r->ev);
	conf_unref(&r->call.conf);
	free(r);
	*runp = NULL;
}

bool
policy_note_bad_rcpt(struct policy *p, const struct policy_client *c)
{
	const struct conf *conf = policy_client_conf(p, c);
	int64_t now = (int64_t)time(NULL);
	unsigned n;

	if (conf->bad_rcpt_limit == 0 || policy_skip_all(p, c) ||
	    conf_exempted(conf, (const struct sockaddr *)&c->addr, "bad_rcpt"))
		return false;
	if (policy_track_blocked(p->bad_rcpt, c->ip, now) != 0)
		return true;
	n = policy_track_hit(p->bad_rcpt, c->ip, now,
	    (int64_t)conf->bad_rcpt_window);
	if (n <= conf->bad_rcpt_limit)
		return false;
	policy_track_block(p->bad_rcpt, c->ip, now,
	    now + (int64_t)conf->bad_rcpt_block);
	log_info("%s policy check=bad_rcpt stage=rcpt verdict=block ip=%s "
	    "unknown=%u window=%llu block=%llu", c->session_id, c->ip, n,
	    (unsigned long long)conf->bad_rcpt_window,
	    (unsigned long long)conf->bad_rcpt_block);
	return true;
}

/* The operations layer: actor scope (an admin does everything, a
 * postmaster only its domains' objects, and its share of the queue), the
 * results of the domain and user operations on a real store, who may
 * change sending limits, holds and suspensions, and the
 * wire form of queue results (round trip and malformed bodies). */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fbuf.h"
#include "lib/xalloc.h"
#include "conf/conf.h"
#include "net/control.h"
#include "ops/ops_account.h"
#include "ops/ops_alias.h"
#include "ops/ops_ban.h"
#include "ops/ops_queue.h"
#include "ops/ops_rule.h"
#include "ops/ops_send.h"
#include "store/store.h"
#include "test.h"

static char test_dir[] = "/tmp/test_ops.XXXXXX";

static void
test_ops_scope_check(void)
{
	static const char *const mine[] = { "a.example", "c.example" };
	struct ops_actor admin, pm = { OPS_POSTMASTER, "pm@a.example", mine,
	    2 }, user = { OPS_USER, "u@a.example", NULL, 0 };
	struct ops_status st;

	test_begin("ops scope checks");
	ops_actor_cli(&admin);
	test_assert(ops_check_domain(&admin, "b.example", &st) == 0);
	test_assert(ops_check_domain(&pm, "a.example", &st) == 0);
	test_assert(ops_check_domain(&pm, "C.Example", &st) == 0);
	test_assert(ops_check_domain(&pm, "b.example", &st) < 0);
	test_assert(st.code == OPS_EPERM);
	test_assert_streq(st.text, "b.example: not allowed for pm@a.example");
	test_assert(ops_check_domain(&pm, "a.example.evil", &st) < 0);
	test_assert(ops_check_domain(&user, "a.example", &st) < 0);
	test_assert(ops_check_admin(&admin, "queue", &st) == 0);
	test_assert(ops_check_admin(&pm, "queue", &st) < 0 &&
	    st.code == OPS_EPERM);
	test_end();
}

static bool
test_has_user(const struct ops_user_list *l, const char *addr)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].address, addr) == 0)
			return true;
	return false;
}

static void
test_ops_accounts(struct store *s)
{
	static const char *const mine[] = { "a.example" };
	struct ops_actor admin, pm = { OPS_POSTMASTER, "pm@a.example", mine,
	    1 };
	struct ops_ctx ca = { &admin, s, { false, "+" }, NULL };
	struct ops_ctx cp = { &pm, s, { false, "+" }, NULL };
	struct ops_domain_list dl;
	struct ops_user_list ul;
	struct ops_status st;
	char addr[320];

	test_begin("ops domains and users, admin and postmaster");
	ops_actor_cli(&admin);
	test_assert(ops_domain_add(&ca, "A.Example.", &st) == 0);
	test_assert(ops_domain_add(&ca, "b.example", &st) == 0);
	test_assert(ops_domain_add(&ca, "bad..example", &st) < 0 &&
	    st.code == OPS_EINVAL);
	test_assert(ops_domain_add(&cp, "c.example", &st) < 0 &&
	    st.code == OPS_EPERM);
	test_assert(ops_domain_del(&cp, "b.example", &st) < 0 &&
	    st.code == OPS_EPERM);
	test_assert(ops_domain_list(&ca, &dl, &st) == 0 && dl.n == 2);
	ops_domain_list_free(&dl);
	test_assert(ops_domain_list(&cp, &dl, &st) == 0 && dl.n == 1 &&
	    strcmp(dl.v[0], "a.example") == 0);
	ops_domain_list_free(&dl);

	test_assert(ops_user_check_new(&ca, "X@A.example", addr, sizeof(addr),
	    &st) == 0);
	test_assert_streq(addr, "x@a.example");
	test_assert(ops_user_add(&ca, addr, "$y$hash", 0, &st) == 0);
	test_assert(ops_user_check_new(&ca, "x@a.example", addr,
	    sizeof(addr), &st) < 0 && st.code == OPS_EEXIST);
	test_assert_streq(st.text, "x@a.example: user exists");
	test_assert(ops_user_check_new(&ca, "x@nowhere.example", addr,
	    sizeof(addr), &st) < 0 && st.code == OPS_ENOENT);
	test_assert(ops_user_add(&ca, "y@b.example", "$y$hash", 1024,
	    &st) == 0);
	/* The postmaster of a.example sees and changes only a.example. */
	test_assert(ops_user_check_new(&cp, "z@b.example", addr, sizeof(addr),
	    &st) < 0 && st.code == OPS_EPERM);
	test_assert(ops_user_check_new(&cp, "z@a.example", addr, sizeof(addr),
	    &st) == 0);
	test_assert(ops_user_add(&cp, "z@b.example", "$y$h", 0, &st) < 0 &&
	    st.code == OPS_EPERM);
	test_assert(ops_user_del(&cp, "y@b.example", &st) < 0 &&
	    st.code == OPS_EPERM);
	test_assert(ops_user_set_quota(&cp, "y@b.example", 1, &st) < 0 &&
	    st.code == OPS_EPERM);
	test_assert(ops_user_set_password(&cp, "y@b.example", "$y$h",
	    &st) < 0 && st.code == OPS_EPERM);
	test_assert(ops_user_list(&cp, "b.example", &ul, &st) < 0 &&
	    st.code == OPS_EPERM);
	ops_user_list_free(&ul);
	test_assert(ops_user_list(&cp, NULL, &ul, &st) == 0);
	test_assert(ul.n == 1 && test_has_user(&ul, "x@a.example"));
	ops_user_list_free(&ul);
	test_assert(ops_user_list(&ca, NULL, &ul, &st) == 0 && ul.n == 2);
	test_assert(test_has_user(&ul, "y@b.example"));
	for (size_t i = 0; i < ul.n; i++)
		if (strcmp(ul.v[i].address, "y@b.example") == 0)
			test_assert(ul.v[i].quota == 1024 &&
			    strcmp(ul.v[i].domain, "b.example") == 0);
	ops_user_list_free(&ul);
	test_assert(ops_user_list(&ca, "nowhere.example", &ul, &st) < 0 &&
	    st.code == OPS_ENOENT);
	test_assert_streq(st.text, "nowhere.example: no such domain");
	ops_user_list_free(&ul);
	/* Still there after the refused delete; gone after the admin's. */
	test_assert(ops_user_check(&ca, "y@b.example", addr, sizeof(addr),
	    &st) == 0);
	test_assert(ops_user_del(&ca, "y@b.example", &st) == 0);
	test_assert(ops_user_check(&ca, "y@b.example", addr, sizeof(addr),
	    &st) < 0 && st.code == OPS_ENOENT);
	test_assert_streq(st.text, "y@b.example: no such user");
	test_end();
}

/* Runs after test_ops_accounts: a.example and b.example exist. */
static void
test_ops_alias_rule_ban(struct store *s)
{
	static const char *const mine[] = { "a.example" };
	struct ops_actor admin, pm = { OPS_POSTMASTER, "pm@a.example", mine,
	    1 };
	struct conf conf;
	struct ops_ctx ca = { &admin, s, { false, "+" }, &conf };
	struct ops_ctx cp = { &pm, s, { false, "+" }, &conf };
	char *t1[] = { "x@a.example, y@remote.example", "x@a.example" };
	char *t2[] = { "z@b.example" };
	char *ip[] = { "10.0.0.0/8" };
	char *checks[] = { "dnsbl, rdns" };
	struct ops_alias_list al;
	struct ops_rule_list rl;
	struct ops_ban_list bl;
	struct store_rule r, rb;
	struct ops_status st;

	test_begin("ops aliases, rules and bans in scope");
	ops_actor_cli(&admin);
	conf_defaults(&conf);
	test_assert(ops_alias_add(&cp, "Info@A.example", t1, 2, &st) == 0);
	test_assert(ops_alias_add(&cp, "@b.example", t2, 1, &st) < 0 &&
	    st.code == OPS_EPERM);
	test_assert(ops_alias_add(&ca, "@b.example", t2, 1, &st) == 0);
	test_assert(ops_alias_add(&ca, "x@nowhere.example", t2, 1, &st) < 0 &&
	    st.code == OPS_ENOENT);
	test_assert(ops_alias_list(&cp, NULL, &al, &st) == 0 && al.n == 1);
	test_assert(al.n == 1 && strcmp(al.v[0].address, "info@a.example") ==
	    0 && al.v[0].ntargets == 2 && strcmp(al.v[0].targets[1],
	    "y@remote.example") == 0);
	ops_alias_list_free(&al);
	test_assert(ops_alias_del(&cp, "@b.example", &st) < 0 &&
	    st.code == OPS_EPERM);
	test_assert(ops_alias_list(&ca, "@b.example", &al, &st) == 0 &&
	    al.n == 1);
	ops_alias_list_free(&al);

	test_assert(ops_rule_add(&cp, "b.example", "deny", "ip", ip, 1, &r,
	    &st) < 0 && st.code == OPS_EPERM);
	test_assert(ops_rule_add(&ca, "b.example", "deny", "ip", ip, 1, &rb,
	    &st) == 0 && rb.id > 0);
	test_assert(ops_rule_add(&cp, "a.example", "skip", NULL, checks, 1,
	    &r, &st) == 0);
	test_assert_streq(r.value, "dnsbl,rdns");
	test_assert(ops_rule_add(&cp, "a.example", "allow", "ip", checks, 1,
	    &r, &st) < 0 && st.code == OPS_EINVAL);
	test_assert(ops_rule_add(&cp, "a.example", "frob", "ip", ip, 1,
	    &r, &st) < 0 && st.code == OPS_EUSAGE);
	test_assert(ops_rule_list(&cp, NULL, &rl, &st) == 0 && rl.n == 1);
	ops_rule_list_free(&rl);
	/* Another domain's rule is no rule for this postmaster. */
	test_assert(ops_rule_del(&cp, rb.id, &st) < 0 &&
	    st.code == OPS_ENOENT);
	test_assert(ops_rule_list(&ca, NULL, &rl, &st) == 0 && rl.n == 2);
	ops_rule_list_free(&rl);
	test_assert(ops_rule_del(&ca, rb.id, &st) == 0);

	test_assert(ops_ban_add(&cp, "192.0.2.1", 60, 1000, &st) < 0 &&
	    st.code == OPS_EPERM);
	test_assert(ops_ban_add(&ca, "::ffff:192.0.2.1", 60, 1000, &st) == 0);
	test_assert(ops_ban_add(&ca, "192.0.2", 60, 1000, &st) < 0 &&
	    st.code == OPS_EINVAL);
	test_assert(ops_ban_list(&ca, 1001, &bl, &st) == 0 && bl.n == 1 &&
	    strcmp(bl.v[0].ip, "192.0.2.1") == 0 && bl.v[0].until == 1060);
	ops_ban_list_free(&bl);
	test_assert(ops_ban_list(&cp, 1001, &bl, &st) < 0);
	ops_ban_list_free(&bl);
	test_assert(ops_ban_del(&ca, "192.0.2.1", 1001, &st) == 0);
	test_assert(ops_ban_del(&ca, "192.0.2.1", 1001, &st) < 0);
	conf_free(&conf);
	test_end();
}

/* A message from sender to the n recipients, committed to spool. */
static void
test_queue_msg(const char *spool, const char *sender, const char *const *rcpts,
    size_t n, char id[IDS_LEN + 1])
{
	struct spool_writer *w;
	struct spool_env env;

	memset(&env, 0, sizeof(env));
	test_assert(spool_writer_open(&w, spool) == 0);
	test_assert(spool_writer_write(w, "Subject: x\r\n\r\nhi\r\n", 19) == 0);
	env.arrival = 1700000000;
	env.sender = xstrdup(sender);
	env.client_addr = xstrdup("192.0.2.7");
	env.client_helo = xstrdup("helo.example");
	env.protocol = xstrdup("ESMTPA");
	env.auth_user = xstrdup(sender);
	env.nrcpts = n;
	env.rcpts = xcalloc(n, sizeof(*env.rcpts));
	for (size_t i = 0; i < n; i++) {
		env.rcpts[i].orig = xstrdup(rcpts[i]);
		env.rcpts[i].addr = xstrdup(rcpts[i]);
		env.rcpts[i].next_attempt = 1800000000;
	}
	test_assert(spool_writer_commit(&w, &env) == 0);
	snprintf(id, IDS_LEN + 1, "%s", env.id);
	spool_env_free(&env);
}

static int
test_rm(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(path);
}

/* The per-domain scope of ops_queue.h: a postmaster of a.example sees a
 * message from b.example to a.example and b.example with its own
 * recipient only, acts on that recipient only, and cannot see, delete
 * or hold b.example's own mail. */
static void
test_ops_queue_scope(void)
{
	static const char *const mine[] = { "a.example" };
	static const char *const both[] = { "r@A.example", "s@b.example" };
	static const char *const out[] = { "z@remote.example" };
	static const char *const theirs[] = { "y@b.example" };
	struct ops_actor admin, pm = { OPS_POSTMASTER, "pm@a.example", mine,
	    1 }, user = { OPS_USER, "u@a.example", NULL, 0 };
	struct ops_queue_retry rt = { NULL, NULL, 0, 0, 0 };
	struct ops_queue_ids wake = { NULL, 0, 0 };
	char spool[128], m1[IDS_LEN + 1], m2[IDS_LEN + 1], m3[IDS_LEN + 1];
	struct ops_queue_list l;
	struct ops_queue_msg m;
	struct ops_status st;
	const char *error;
	size_t n;

	test_begin("ops queue per-domain scope");
	ops_actor_cli(&admin);
	snprintf(spool, sizeof(spool), "%s/spool", test_dir);
	test_assert(spool_init(spool, &error) == 0);
	test_queue_msg(spool, "x@b.example", both, 2, m1);
	test_queue_msg(spool, "u@a.example", out, 1, m2);
	test_queue_msg(spool, "x@b.example", theirs, 1, m3);

	test_assert(ops_queue_list(&user, spool, &l, &st) < 0 &&
	    st.code == OPS_EPERM);
	ops_queue_list_free(&l);
	test_assert(ops_queue_list(&admin, spool, &l, &st) == 0 && l.n == 3);
	ops_queue_list_free(&l);
	test_assert(ops_queue_list(&pm, spool, &l, &st) == 0 && l.n == 2);
	for (size_t i = 0; i < l.n; i++) {
		const struct spool_env *e = &l.envs[i];

		test_assert(strcmp(e->id, m3) != 0);
		if (strcmp(e->id, m1) == 0)
			test_assert(e->nrcpts == 1 && strcmp(e->rcpts[0].addr,
			    "r@A.example") == 0 && e->auth_user == NULL);
		else
			test_assert(e->nrcpts == 1 && e->auth_user != NULL);
	}
	ops_queue_list_free(&l);

	/* Another domain's message is no message at all. */
	test_assert(ops_queue_show(&pm, spool, m3, &m, &st) < 0 &&
	    st.code == OPS_ENOENT);
	ops_queue_msg_free(&m);
	test_assert(ops_queue_delete(&pm, spool, m3, &st) < 0 &&
	    st.code == OPS_ENOENT);
	test_assert(ops_queue_hold(&pm, spool, m3, true, &wake, &st) < 0 &&
	    st.code == OPS_ENOENT);
	test_assert(ops_queue_bounce(&pm, spool, m3, &n, &wake, &st) < 0 &&
	    st.code == OPS_ENOENT);
	rt.id = m3;
	test_assert(ops_queue_retry(&pm, spool, &rt, &wake, &st) < 0 &&
	    st.code == OPS_ENOENT);
	test_assert(wake.n == 0);
	test_assert(ops_queue_show(&admin, spool, m3, &m, &st) == 0 &&
	    !m.env.held && m.env.nrcpts == 1 &&
	    m.env.rcpts[0].next_attempt == 1800000000);
	ops_queue_msg_free(&m);

	/* Shared: shown in part; whole-message changes refused; retry
	 * and bounce reach its own recipient only. */
	test_assert(ops_queue_show(&pm, spool, m1, &m, &st) == 0 &&
	    m.env.nrcpts == 1 && m.headers.len > 0);
	ops_queue_msg_free(&m);
	test_assert(ops_queue_delete(&pm, spool, m1, &st) < 0 &&
	    st.code == OPS_EPERM);
	test_assert(ops_queue_hold(&pm, spool, m1, true, &wake, &st) < 0 &&
	    st.code == OPS_EPERM);
	rt.id = NULL;
	test_assert(ops_queue_retry(&pm, spool, &rt, &wake, &st) == 0 &&
	    rt.matched == 2 && rt.messages == 2);
	test_assert(ops_queue_bounce(&pm, spool, m1, &n, &wake, &st) == 0 &&
	    n == 1);
	test_assert(ops_queue_show(&admin, spool, m1, &m, &st) == 0 &&
	    m.env.nrcpts == 2);
	test_assert(m.env.rcpts[0].state == SPOOL_RCPT_FAILED &&
	    m.env.rcpts[0].next_attempt == 0);
	test_assert(m.env.rcpts[1].state == SPOOL_RCPT_PENDING &&
	    m.env.rcpts[1].next_attempt == 1800000000);
	ops_queue_msg_free(&m);
	test_assert(ops_queue_show(&admin, spool, m3, &m, &st) == 0 &&
	    m.env.rcpts[0].next_attempt == 1800000000);
	ops_queue_msg_free(&m);

	/* Their own user's mail is theirs entirely. */
	test_assert(ops_queue_hold(&pm, spool, m2, true, &wake, &st) == 0);
	test_assert(ops_queue_delete(&pm, spool, m2, &st) == 0);
	test_assert(ops_queue_show(&admin, spool, m2, &m, &st) < 0 &&
	    st.code == OPS_ENOENT);
	ops_queue_msg_free(&m);
	test_assert(ops_queue_hold_user(&pm, spool, "u@a.example", true,
	    "send-hold: x", &n, &wake, &st) < 0 && st.code == OPS_EPERM);
	ops_queue_ids_free(&wake);
	nftw(spool, test_rm, 16, FTW_DEPTH | FTW_PHYS);
	test_end();
}

/* The actor over the control socket survives the round trip. */
static void
test_ops_queue_actor_args(void)
{
	static const char *const doms[] = { "a.example", "c.example" };
	struct ops_actor pm = { OPS_POSTMASTER, "pm@a.example", doms, 2 };
	struct ops_actor admin, back;
	struct control_arg args[2];
	const char *parsed[4];
	char buf[64];
	struct fbuf b;

	test_begin("ops queue actor over the control socket");
	fbuf_init(&b, 0);
	test_assert(ops_queue_actor_args(&pm, &b, args) == 2);
	test_assert_streq(args[0].value, "pm@a.example");
	test_assert_streq(args[1].value, "a.example,c.example");
	snprintf(buf, sizeof(buf), "%s", args[1].value);
	test_assert(ops_queue_actor_parse(args[0].value, buf, parsed, 4,
	    &back) == 0);
	test_assert(back.role == OPS_POSTMASTER && back.ndomains == 2 &&
	    strcmp(back.domains[1], "c.example") == 0);
	/* An empty scope is a postmaster of nothing, never an admin. */
	buf[0] = '\0';
	test_assert(ops_queue_actor_parse("x", buf, parsed, 4, &back) == 0 &&
	    back.role == OPS_POSTMASTER && back.ndomains == 0);
	snprintf(buf, sizeof(buf), "a,,b");
	test_assert(ops_queue_actor_parse("x", buf, parsed, 4, &back) < 0);
	snprintf(buf, sizeof(buf), "a,b,c,d,e");
	test_assert(ops_queue_actor_parse("x", buf, parsed, 4, &back) < 0);
	ops_actor_cli(&admin);
	admin.name = "ops@a.example";
	test_assert(ops_queue_actor_args(&admin, &b, args) == 1);
	test_assert(ops_queue_actor_parse(args[0].value, NULL, parsed, 4,
	    &back) == 0 && back.role == OPS_ADMIN);
	fbuf_release(&b);
	test_end();
}

static void
test_env(struct spool_env *env, const char *id, const char *sender)
{
	memset(env, 0, sizeof(*env));
	snprintf(env->id, sizeof(env->id), "%s", id);
	env->arrival = 1700000000;
	env->sender = xstrdup(sender);
	env->client_addr = xstrdup("192.0.2.7");
	env->client_helo = xstrdup("helo.example");
	env->protocol = xstrdup("ESMTP");
	env->size = 42;
	env->nrcpts = 1;
	env->rcpts = xcalloc(1, sizeof(*env->rcpts));
	env->rcpts[0].orig = xstrdup("r@b.example");
	env->rcpts[0].addr = xstrdup("r@b.example");
	env->rcpts[0].last_error = xstrdup("451 4.4.1 try\nagain");
	env->rcpts[0].attempts = 3;
}

static void
test_ops_queue_wire(void)
{
	static const char *bad[] = {
		"env", "env 5\nabc", "env x\n", "env -1\n", " 1\na",
		"thisisaverylongtag 1\na", "env 3\nE\nX", "what 1\na",
	};
	struct ops_queue_list l = { NULL, 0, 0, { NULL, 0, 0, 0 } }, back;
	struct ops_queue_msg m, mback;
	struct fbuf out;

	test_begin("ops queue wire round trip");
	fbuf_init(&l.warnings, 0);
	l.envs = xcalloc(2, sizeof(*l.envs));
	l.n = l.cap = 2;
	test_env(&l.envs[0], "0123456789abcdef", "a@a.example");
	test_env(&l.envs[1], "fedcba9876543210", "");
	fbuf_adds(&l.warnings, "x: unreadable envelope: bad\n");
	fbuf_init(&out, 0);
	ops_queue_wire_list(&l, &out);
	test_assert(ops_queue_unwire_list(out.data, out.len, &back) == 0);
	test_assert(back.n == 2);
	test_assert(back.n == 2 && strcmp(back.envs[1].id,
	    "fedcba9876543210") == 0 && back.envs[1].sender[0] == '\0' &&
	    strcmp(back.envs[0].rcpts[0].last_error,
	    "451 4.4.1 try\nagain") == 0 && back.envs[0].rcpts[0].attempts == 3);
	test_assert_streq(back.warnings.data, "x: unreadable envelope: bad\n");
	ops_queue_list_free(&back);
	/* An empty list is an empty body. */
	test_assert(ops_queue_unwire_list("", 0, &back) == 0 && back.n == 0);
	ops_queue_list_free(&back);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		test_assert_idx(ops_queue_unwire_list(bad[i], strlen(bad[i]),
		    &back) < 0, i);
		test_assert_idx(ops_queue_unwire_msg(bad[i], strlen(bad[i]),
		    &mback) < 0, i);
	}

	memset(&m, 0, sizeof(m));
	m.env = l.envs[0];
	fbuf_init(&m.headers, 0);
	fbuf_adds(&m.headers, "Subject: hi\r\n\r\n");
	fbuf_reset(&out);
	ops_queue_wire_msg(&m, &out);
	test_assert(ops_queue_unwire_msg(out.data, out.len, &mback) == 0);
	test_assert_streq(mback.env.id, "0123456789abcdef");
	test_assert_streq(mback.headers.data, "Subject: hi\r\n\r\n");
	test_assert(mback.headers_error == NULL);
	ops_queue_msg_free(&mback);
	/* A message body needs its envelope. */
	test_assert(ops_queue_unwire_msg("headers 0\n", 10, &mback) < 0);
	fbuf_release(&m.headers);

	fbuf_reset(&out);
	ops_queue_wire_count(&out, "matched", 12);
	ops_queue_wire_count(&out, "messages", 3);
	test_assert(ops_queue_unwire_count(out.data, out.len, "matched") == 12);
	test_assert(ops_queue_unwire_count(out.data, out.len, "messages") == 3);
	test_assert(ops_queue_unwire_count(out.data, out.len, "bounced") < 0);
	test_assert(ops_queue_unwire_count("n 2\n-1", 6, "n") < 0);
	fbuf_release(&out);
	ops_queue_list_free(&l);
	test_end();
}

static void
test_ops_send_scope(struct store *s)
{
	static const char *const mine[] = { "s1.example" };
	struct ops_actor admin, pm = { OPS_POSTMASTER, "pm@s1.example", mine,
	    1 }, user = { OPS_USER, "u@s1.example", NULL, 0 };
	struct ops_ctx ca = { &admin, s, { false, "+" }, NULL };
	struct ops_ctx cp = { &pm, s, { false, "+" }, NULL };
	struct ops_ctx cu = { &user, s, { false, "+" }, NULL };
	struct ops_send_hold_result hr;
	struct store_send_limits l;
	struct ops_send_info info;
	struct ops_status st;

	test_begin("ops sending limits, holds and suspensions: scope");
	ops_actor_cli(&admin);
	test_assert(ops_domain_add(&ca, "s1.example", &st) == 0);
	test_assert(ops_domain_add(&ca, "s2.example", &st) == 0);
	test_assert(ops_user_add(&ca, "u@s1.example", "x", 0, &st) == 0);
	test_assert(ops_user_add(&ca, "v@s2.example", "x", 0, &st) == 0);
	/* The postmaster sets its own users' limits, nobody else's, and
	 * not the domain's (an admin's decision: the ISP's quota). */
	test_assert(ops_send_limits_set(&cp, "U@s1.example", 5, OPS_SEND_KEEP,
	    &st) == 0);
	test_assert(store_send_limits_get(s, "u@s1.example", &l) == 1 &&
	    l.msgs_hour == 5 && l.rcpts_day == -1);
	test_assert(ops_send_limits_set(&cp, "v@s2.example", 0, 0, &st) < 0 &&
	    st.code == OPS_EPERM);
	test_assert(store_send_limits_get(s, "v@s2.example", &l) == 0);
	test_assert(ops_send_limits_set(&cp, "s1.example", 0, OPS_SEND_KEEP,
	    &st) < 0 && st.code == OPS_EPERM);
	test_assert(ops_send_limits_set(&ca, "s1.example", 50, OPS_SEND_KEEP,
	    &st) == 0);
	test_assert(ops_send_info(&cp, "s2.example", &info, &st) < 0 &&
	    st.code == OPS_EPERM);
	/* A user cannot lift its own limits or hold. */
	test_assert(ops_send_limits_set(&cu, "u@s1.example", 0, 0, &st) < 0 &&
	    st.code == OPS_EPERM);
	test_assert(store_send_limits_get(s, "u@s1.example", &l) == 1 &&
	    l.msgs_hour == 5);
	test_assert(ops_user_send_release(&cu, "u@s1.example", &hr, &st) < 0 &&
	    st.code == OPS_EPERM);
	test_assert(ops_user_send_hold(&cp, "v@s2.example", NULL, &hr,
	    &st) < 0 && st.code == OPS_EPERM);
	test_assert(ops_user_send_hold(&cp, "nobody@s1.example", NULL, &hr,
	    &st) < 0 && st.code == OPS_ENOENT);
	/* Suspending a domain is the admin's. */
	test_assert(ops_domain_suspend(&cp, "s1.example", "x", &st) < 0 &&
	    st.code == OPS_EPERM);
	test_assert(ops_domain_suspend(&cu, "s1.example", "x", &st) < 0 &&
	    st.code == OPS_EPERM);
	test_assert(ops_domain_suspend(&ca, "s1.example", "x", &st) == 0);
	test_assert(ops_domain_suspend(&ca, "s1.example", "x", &st) < 0 &&
	    st.code == OPS_EREFUSED);
	test_assert(ops_domain_resume(&cp, "s1.example", &st) < 0 &&
	    st.code == OPS_EPERM);
	test_assert(ops_domain_resume(&ca, "s1.example", &st) == 0);
	test_end();
}

int
main(void)
{
	char db[512];
	struct store *s;
	const char *error;

	test_ops_scope_check();
	if (mkdtemp(test_dir) == NULL)
		return 1;
	snprintf(db, sizeof(db), "%s/ferry.db", test_dir);
	/* Or the empty PostgreSQL database $FERRY_TEST_STORE names. */
	if (getenv("FERRY_TEST_STORE") != NULL)
		snprintf(db, sizeof(db), "%s", getenv("FERRY_TEST_STORE"));
	if (store_open(&s, db, &error) < 0) {
		fprintf(stderr, "store_open: %s\n", error);
		return 1;
	}
	test_ops_accounts(s);
	test_ops_alias_rule_ban(s);
	test_ops_send_scope(s);
	store_close(&s);
	test_ops_queue_scope();
	test_ops_queue_actor_args();
	test_ops_queue_wire();
	unlink(db);
	{
		char p[600];

		snprintf(p, sizeof(p), "%s-wal", db);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", db);
		unlink(p);
	}
	rmdir(test_dir);
	return test_exit();
}

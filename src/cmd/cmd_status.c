/* `ferry status [--json]`: what an operator looks at first.  Whether the
 * server runs and its roles with their uptimes, the configured
 * listeners, the queue by state and by destination with the held
 * messages, the bans in force, send-held users and suspended domains,
 * the resolvers, and the last warnings and errors of log_file.  The
 * facts are gathered by ops_status.h (shared with /admin/status); this
 * file prints them.  Read-only: it asks nobody and changes nothing, so
 * it works with the server stopped. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "net/dns.h"
#include "ops/ops_status.h"
#include "store/store.h"

#define CMD_STATUS_USAGE "status [--json]"

static void
cmd_status_print_clean(const char *fmt, const char *v)
{
	char *c = xstrdup(v != NULL ? v : "");

	ops_clean(c);
	printf(fmt, c);
	free(c);
}

static void
cmd_status_text_held(const struct ops_status_info *s)
{
	char age[32];

	if (s->held_messages == 0)
		return;
	printf("held messages: %zu\n", s->held_messages);
	for (size_t i = 0; i < s->nheld_msgs; i++) {
		const struct ops_status_held *h = &s->held_msgs[i];

		ops_status_span(age, sizeof(age), h->age);
		printf("  %s %s ", h->id, age);
		cmd_status_print_clean("<%s>", h->sender);
		cmd_status_print_clean(" %s\n", h->reason != NULL ?
		    h->reason : "(by the operator)");
	}
	if (s->nheld_msgs < s->held_messages)
		printf("  ... (`ferry queue list` shows all)\n");
}

static void
cmd_status_text_abuse(const struct ops_status_info *s)
{
	if (!s->abuse_known) {
		printf("outbound: unknown (no database yet)\n");
		return;
	}
	printf("outbound: %zu user%s send-held, %zu domain%s suspended\n",
	    s->nsend_holds, s->nsend_holds == 1 ? "" : "s", s->nsuspended,
	    s->nsuspended == 1 ? "" : "s");
	for (size_t i = 0; i < s->nsend_holds; i++) {
		cmd_status_print_clean("  send-held %s", s->send_holds[i].address);
		cmd_status_print_clean(" (%s)\n", s->send_holds[i].reason);
	}
	for (size_t i = 0; i < s->nsuspended; i++)
		printf("  suspended %s\n", s->suspended[i].domain);
}

/* What the queue's reachability memory believes now: addresses down
 * and TLS-broken (-1 each when the file is unreadable). */
static void
cmd_status_reach(const struct conf *c, long *down_r, long *tls_r)
{
	struct cmd_reach t;

	*down_r = *tls_r = -1;
	if (cmd_reach_load(c, &t) == 0) {
		*down_r = *tls_r = 0;
		for (size_t i = 0; i < t.n; i++) {
			*down_r += cmd_reach_is_down(&t, &t.v[i]);
			*tls_r += reach_tls_broken(&t.v[i], t.now,
			    (time_t)c->tls_broken_memory);
		}
	}
	cmd_reach_free(&t);
}

/* state_dir/resolvers (net/dns.h): the resolvers' health as the queue
 * saw it, one line each, read whole into b ("" when none). */
static void
cmd_status_resolvers(const struct conf *c, struct fbuf *b)
{
	char path[PATH_MAX];

	fbuf_init(b, 0);
	if (fsio_pathf(path, sizeof(path), "%s/%s", c->state_dir,
	    DNS_HEALTH_FILE) < 0 || fsio_read_file(path, b, 65536) < 0)
		fbuf_reset(b);
}

static void
cmd_status_text(const struct cli *cli, const struct ops_status_info *s)
{
	const struct conf *c = &cli->conf;
	char up[32];
	long down, tls;
	struct fbuf health;

	if (s->server.pid == 0)
		printf("server: not running (state_dir %s)\n", c->state_dir);
	else {
		ops_status_span(up, sizeof(up), s->server.up);
		printf("server: running pid=%d up %s\n", s->server.pid, up);
	}
	for (size_t i = 0; i < s->nroles; i++) {
		ops_status_span(up, sizeof(up), s->roles[i].up);
		printf("  role %s pid=%d up %s\n", s->roles[i].name,
		    s->roles[i].pid, up);
	}
	printf("listeners:");
	for (size_t i = 0; i < OPS_STATUS_KINDS; i++) {
		const struct conf_listen_list *l = ops_status_listen(c, i);

		for (size_t k = 0; k < l->n; k++)
			printf(" %s=%s:%s", ops_status_listen_kind(i),
			    l->v[k].host, l->v[k].port);
	}
	printf("\n");
	if (s->queue_error != NULL)
		printf("queue: %s\n", s->queue_error);
	else {
		ops_status_span(up, sizeof(up), s->oldest);
		printf("queue: %zu message%s, %zu recipient%s pending, %zu "
		    "held, %zu failed (bounce due)%s%s\n", s->messages,
		    s->messages == 1 ? "" : "s", s->pending,
		    s->pending == 1 ? "" : "s", s->held, s->failed,
		    s->messages > 0 ? ", oldest " : "",
		    s->messages > 0 ? up : "");
		for (size_t i = 0; i < s->ndests; i++)
			printf("  to %s: %zu\n", s->dests[i].domain,
			    s->dests[i].n);
	}
	cmd_status_text_held(s);
	if (s->bans < 0)
		printf("bans: unknown (no database yet)\n");
	else
		printf("bans: %lld in force\n", s->bans);
	cmd_status_text_abuse(s);
	printf("resolvers:");
	if (c->dns_resolvers.n == 0)
		printf(" the system's (/etc/resolv.conf)");
	for (size_t i = 0; i < c->dns_resolvers.n; i++)
		printf(" %s:%s", c->dns_resolvers.v[i].host,
		    c->dns_resolvers.v[i].port);
	printf(" (`ferry check dns NAME` asks them)\n");
	cmd_status_resolvers(c, &health);
	for (char *l = health.data, *nl; l != NULL && *l != '\0'; l = nl) {
		if ((nl = strchr(l, '\n')) != NULL)
			*nl++ = '\0';
		cmd_status_print_clean("  resolver %s\n", l);
	}
	fbuf_release(&health);
	cmd_status_reach(c, &down, &tls);
	if (down < 0)
		printf("reachability: unreadable (`ferry check reach`)\n");
	else
		printf("reachability: %ld address%s down, %ld TLS-broken "
		    "(`ferry check reach` lists them)\n", down,
		    down == 1 ? "" : "es", tls);
	if (c->log_file[0] == '\0')
		printf("last errors: unknown (log_file is not set)\n");
	else if (s->nerrors == 0)
		printf("last errors: none in %s\n", c->log_file);
	else {
		printf("last errors (%s):\n", c->log_file);
		for (size_t i = 0; i < s->nerrors; i++)
			printf("  %s\n", s->errors[i]);
	}
}

/* Held messages and the outbound abuse state (null without a store). */
static void
cmd_status_json_extra(struct json *j, const struct ops_status_info *s)
{
	json_key(j, "held_messages");
	json_array_begin(j);
	for (size_t i = 0; i < s->nheld_msgs; i++) {
		json_object_begin(j);
		json_key(j, "id");
		json_str(j, s->held_msgs[i].id);
		json_key(j, "sender");
		json_str(j, s->held_msgs[i].sender);
		json_key(j, "age");
		json_int(j, s->held_msgs[i].age);
		json_key(j, "reason");
		json_str(j, s->held_msgs[i].reason);
		json_object_end(j);
	}
	json_array_end(j);
	json_key(j, "send_held");
	if (!s->abuse_known)
		json_null(j);
	else {
		json_array_begin(j);
		for (size_t i = 0; i < s->nsend_holds; i++) {
			json_object_begin(j);
			json_key(j, "address");
			json_str(j, s->send_holds[i].address);
			json_key(j, "since");
			json_int(j, s->send_holds[i].since);
			json_key(j, "automatic");
			json_bool(j, s->send_holds[i].automatic);
			json_key(j, "reason");
			json_str(j, s->send_holds[i].reason);
			json_object_end(j);
		}
		json_array_end(j);
	}
	json_key(j, "suspended_domains");
	if (!s->abuse_known)
		json_null(j);
	else {
		json_array_begin(j);
		for (size_t i = 0; i < s->nsuspended; i++) {
			json_object_begin(j);
			json_key(j, "domain");
			json_str(j, s->suspended[i].domain);
			json_key(j, "since");
			json_int(j, s->suspended[i].since);
			json_object_end(j);
		}
		json_array_end(j);
	}
}

static void
cmd_status_json(const struct cli *cli, const struct ops_status_info *s)
{
	const struct conf *c = &cli->conf;
	struct fbuf out;
	struct json j;
	long down, tls;
	struct fbuf health;

	fbuf_init(&out, 0);
	json_init(&j, &out);
	json_object_begin(&j);
	json_key(&j, "running");
	json_bool(&j, s->server.pid != 0);
	json_key(&j, "pid");
	if (s->server.pid != 0)
		json_int(&j, s->server.pid);
	else
		json_null(&j);
	json_key(&j, "uptime");
	if (s->server.pid != 0)
		json_int(&j, s->server.up);
	else
		json_null(&j);
	json_key(&j, "roles");
	json_array_begin(&j);
	for (size_t i = 0; i < s->nroles; i++) {
		json_object_begin(&j);
		json_key(&j, "name");
		json_str(&j, s->roles[i].name);
		json_key(&j, "pid");
		json_int(&j, s->roles[i].pid);
		json_key(&j, "uptime");
		json_int(&j, s->roles[i].up);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_key(&j, "listeners");
	json_array_begin(&j);
	for (size_t i = 0; i < OPS_STATUS_KINDS; i++) {
		const struct conf_listen_list *l = ops_status_listen(c, i);

		for (size_t k = 0; k < l->n; k++) {
			json_object_begin(&j);
			json_key(&j, "kind");
			json_str(&j, ops_status_listen_kind(i));
			json_key(&j, "host");
			json_str(&j, l->v[k].host);
			json_key(&j, "port");
			json_str(&j, l->v[k].port);
			json_object_end(&j);
		}
	}
	json_array_end(&j);
	json_key(&j, "queue");
	json_object_begin(&j);
	json_key(&j, "messages");
	json_uint(&j, s->messages);
	json_key(&j, "pending");
	json_uint(&j, s->pending);
	json_key(&j, "held");
	json_uint(&j, s->held);
	json_key(&j, "failed");
	json_uint(&j, s->failed);
	json_key(&j, "oldest");
	if (s->oldest >= 0)
		json_int(&j, s->oldest);
	else
		json_null(&j);
	json_key(&j, "error");
	json_str(&j, s->queue_error);
	json_key(&j, "destinations");
	json_array_begin(&j);
	for (size_t i = 0; i < s->ndests; i++) {
		json_object_begin(&j);
		json_key(&j, "domain");
		json_str(&j, s->dests[i].domain);
		json_key(&j, "pending");
		json_uint(&j, s->dests[i].n);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_key(&j, "bans");
	if (s->bans >= 0)
		json_int(&j, s->bans);
	else
		json_null(&j);
	json_key(&j, "resolvers");
	json_array_begin(&j);
	for (size_t i = 0; i < c->dns_resolvers.n; i++) {
		char hp[320];

		snprintf(hp, sizeof(hp), "%s:%s", c->dns_resolvers.v[i].host,
		    c->dns_resolvers.v[i].port);
		json_str(&j, hp);
	}
	json_array_end(&j);
	cmd_status_resolvers(c, &health);
	json_key(&j, "resolver_health");
	json_array_begin(&j);
	for (char *l = health.data, *nl; l != NULL && *l != '\0'; l = nl) {
		if ((nl = strchr(l, '\n')) != NULL)
			*nl++ = '\0';
		json_str(&j, l);
	}
	json_array_end(&j);
	fbuf_release(&health);
	cmd_status_reach(c, &down, &tls);
	json_key(&j, "reachability");
	json_object_begin(&j);
	json_key(&j, "down");
	json_int(&j, down);
	json_key(&j, "tls_broken");
	json_int(&j, tls);
	json_object_end(&j);
	cmd_status_json_extra(&j, s);
	json_key(&j, "last_errors");
	json_array_begin(&j);
	for (size_t i = 0; i < s->nerrors; i++)
		json_str(&j, s->errors[i]);
	json_array_end(&j);
	json_object_end(&j);
	puts(out.data);
	fbuf_release(&out);
}

int
cmd_status(struct cli *cli, int argc, char **argv)
{
	struct ops_status_info s;
	struct ops_status st;
	struct ops_actor a;
	bool json = cli_take_flag(&argc, argv, "--json");

	if (argc != 1)
		return cli_usage(CMD_STATUS_USAGE);
	if (cli_load_conf(cli) < 0)
		return 1;
	ops_actor_cli(&a);
	if (ops_status_gather(&a, &cli->conf, NULL, false, &s, &st) < 0)
		return cli_fail("%s", st.text);
	if (json)
		cmd_status_json(cli, &s);
	else
		cmd_status_text(cli, &s);
	ops_status_info_free(&s);
	return 0;
}

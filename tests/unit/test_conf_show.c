/* The settings page's text of the configuration (conf_show.h): every key
 * is reported once with its effective value (set or default), in the
 * file's own notation, and keys that hold secrets show only "(set)". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_show.h"
#include "lib/xalloc.h"
#include "test.h"

struct seen {
	size_t n, unknown;
	char names[512][48];
	char *values[512];
	bool secret[512];
};

static void
test_collect(const char *name, const char *value, bool secret, void *ctx)
{
	struct seen *s = ctx;

	if (strcmp(value, "?") == 0)
		s->unknown++;
	if (s->n == 512)
		return;
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
	s->values[s->n] = xstrdup(value);
	s->secret[s->n++] = secret;
}

static const char *
test_value(const struct seen *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return s->values[i];
	return NULL;
}

static void
test_conf_show_values(void)
{
	const char *text =
	    "hostname = mx1.example.test\n"
	    "smtp_listen = 127.0.0.1:2525, [::1]:2526\n"
	    "relay_networks = 127.0.0.0/8, 2001:db8::/32\n"
	    "message_size_limit = 10M\n"
	    "max_recipients = 50\n"
	    "retry_min = 5m\n"
	    "greylist = yes\n"
	    "route = gmail.com [relay.example.net]:587 tls=verify "
	    "auth=/etc/ferry/relay.auth\n"
	    "tls_policy = secure.example encrypt\n"
	    "exempt = 192.0.2.0/24 greylist,dnsbl\n"
	    "require_rdns = fcrdns\n"
	    "min_free_space = 5%\n"
	    "spam_tag_score = 4.5\n"
	    "srs_secret_file = /etc/ferry/srs.key\n"
	    "log_level = warn\n";
	struct seen *s = xcalloc(1, sizeof(*s));
	const char *error = NULL;
	struct conf c;

	test_begin("conf show: the values in force");
	conf_defaults(&c);
	test_assert(conf_parse(&c, "t.conf", text, strlen(text), &error) == 0);
	conf_show(&c, test_collect, s);
	test_assert(s->n > 100 && s->unknown == 0);
	for (size_t i = 0; i < s->n; i++)
		for (size_t k = i + 1; k < s->n; k++)
			test_assert_idx(strcmp(s->names[i], s->names[k]) != 0, i);
	test_assert_streq(test_value(s, "hostname"), "mx1.example.test");
	test_assert_streq(test_value(s, "smtp_listen"),
	    "127.0.0.1:2525, [::1]:2526");
	test_assert_streq(test_value(s, "relay_networks"),
	    "127.0.0.0/8, 2001:db8::/32");
	test_assert_streq(test_value(s, "message_size_limit"), "10485760");
	test_assert_streq(test_value(s, "max_recipients"), "50");
	test_assert_streq(test_value(s, "retry_min"), "300s");
	test_assert_streq(test_value(s, "greylist"), "yes");
	test_assert_streq(test_value(s, "route"), "gmail.com "
	    "[relay.example.net]:587 tls=verify auth=/etc/ferry/relay.auth");
	test_assert_streq(test_value(s, "tls_policy"), "secure.example encrypt");
	test_assert_streq(test_value(s, "exempt"),
	    "192.0.2.0/24 greylist,dnsbl");
	test_assert_streq(test_value(s, "require_rdns"), "fcrdns");
	test_assert_streq(test_value(s, "min_free_space"), "5%");
	test_assert_streq(test_value(s, "spam_tag_score"), "4.5");
	test_assert_streq(test_value(s, "log_level"), "warn");
	/* Defaults are values in force too. */
	test_assert_streq(test_value(s, "fallback_relay"), "");
	test_assert(test_value(s, "queue_lifetime") != NULL &&
	    strcmp(test_value(s, "queue_lifetime"), "0s") != 0);
	/* A secret's key shows that it is set, never what it is. */
	test_assert_streq(test_value(s, "srs_secret_file"), "(set)");
	for (size_t i = 0; i < s->n; i++) {
		test_assert_idx(s->secret[i] == conf_show_secret(s->names[i]),
		    i);
		test_assert_idx(!s->secret[i] || strcmp(s->values[i], "") == 0 ||
		    strcmp(s->values[i], "(set)") == 0, i);
		free(s->values[i]);
	}
	test_assert(conf_show_secret("store") &&
	    conf_show_secret("pg_password") &&
	    conf_show_secret("store_conninfo") &&
	    conf_show_secret("api_token") && !conf_show_secret("tls_cert"));
	conf_free(&c);
	free(s);
	test_end();
}

int
main(void)
{
	test_conf_show_values();
	return test_exit();
}

/* Autoconfiguration documents and the autodiscover request reader
 * (admin/autoconfig.h): the services of a configuration in each
 * vocabulary, hostile addresses escaped, and the reader's limits. */
#include <stdlib.h>
#include <string.h>

#include "admin/autoconfig.h"
#include "admin/autoconfig_help.h"
#include "conf/conf.h"
#include "lib/fbuf.h"
#include "test.h"

static const char conf_text[] =
    "hostname = mx.example.net\n"
    "state_dir = /nonexistent\n"
    "submission_listen = 0.0.0.0:587, 0.0.0.0:26\n"
    "submissions_listen = 0.0.0.0:465\n"
    "imap_listen = 0.0.0.0:143\n"
    "imaps_listen = 0.0.0.0:993\n"
    "pop3s_listen = 0.0.0.0:995\n"
    "tls_cert = /etc/ferry/cert.pem\n"
    "tls_key = /etc/ferry/key.pem\n";

static void
test_load(struct conf *c, const char *text)
{
	const char *error;

	conf_defaults(c);
	if (conf_parse(c, "test", text, strlen(text), &error) < 0) {
		fprintf(stderr, "%s\n", error);
		abort();
	}
}

static void
test_address(void)
{
	static const char *const bad[] = { "", "@x.org", "a@", "a@b@c.org",
	    "a b@x.org", "a@x..org", "a@x.org.", "a\x01@x.org", "a@x y.org",
	    "a@x_y!.org", "\xc3\xa9@x.org",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "@x.org" };
	char addr[AUTOCONFIG_ADDR_MAX + 1], dom[256];

	test_begin("autoconfig_address");
	test_assert(autoconfig_address("Joe.User@Example.ORG", addr,
	    sizeof(addr), dom, sizeof(dom)) == 0);
	test_assert_streq(addr, "Joe.User@example.org");
	test_assert_streq(dom, "example.org");
	test_assert(autoconfig_address("<x>&\"'@example.org", addr,
	    sizeof(addr), dom, sizeof(dom)) == 0);
	test_assert_streq(addr, "<x>&\"'@example.org");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		test_assert_idx(autoconfig_address(bad[i], addr, sizeof(addr),
		    dom, sizeof(dom)) < 0, i);
	test_assert(autoconfig_address("a@example.org", addr, 8, dom,
	    sizeof(dom)) < 0);
	test_assert(autoconfig_host_domain("autoconfig.Example.org:443", dom,
	    sizeof(dom)) == 0);
	test_assert_streq(dom, "example.org");
	test_assert(autoconfig_host_domain("autodiscover.example.org", dom,
	    sizeof(dom)) == 0);
	test_assert_streq(dom, "example.org");
	test_assert(autoconfig_host_domain("example.org", dom,
	    sizeof(dom)) == 0);
	test_assert_streq(dom, "example.org");
	test_assert(autoconfig_host_domain("autoconfig.", dom,
	    sizeof(dom)) < 0);
	test_assert(autoconfig_host_domain("a<b>.org", dom, sizeof(dom)) < 0);
	test_assert(autoconfig_host_domain("", dom, sizeof(dom)) < 0);
	test_end();
}

static void
test_xml_text(void)
{
	struct fbuf b;

	test_begin("autoconfig_xml_text");
	fbuf_init(&b, 0);
	autoconfig_xml_text(&b, "a<b>&\"'\x01\xff\xc3\xa9\xed\xa0\x80z");
	test_assert_streq(b.data, "a&lt;b&gt;&amp;&quot;&apos;"
	    "\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbdz");
	fbuf_release(&b);
	test_end();
}

/* The offset of needle in hay, or -1. */
static long
test_at(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	return p == NULL ? -1 : p - hay;
}

static void
test_thunderbird(void)
{
	struct fbuf b;
	struct conf c;

	test_begin("autoconfig thunderbird");
	test_load(&c, conf_text);
	fbuf_init(&b, 0);
	autoconfig_thunderbird(&c, "example.org", NULL, &b);
	test_assert(test_at(b.data, "<emailProvider id=\"example.org\">") > 0);
	test_assert(test_at(b.data, "<incomingServer type=\"imap\">\n"
	    "      <hostname>mx.example.net</hostname>\n"
	    "      <port>993</port>\n      <socketType>SSL</socketType>\n"
	    "      <username>%EMAILADDRESS%</username>") > 0);
	/* Preference: IMAPS, IMAP, POP3S, then the outgoing servers. */
	test_assert(test_at(b.data, "<port>993</port>") <
	    test_at(b.data, "<port>143</port>"));
	test_assert(test_at(b.data, "<port>143</port>\n      <socketType>"
	    "STARTTLS") > 0);
	test_assert(test_at(b.data, "<port>143</port>") <
	    test_at(b.data, "<port>995</port>"));
	test_assert(test_at(b.data, "<port>995</port>") <
	    test_at(b.data, "<outgoingServer type=\"smtp\">"));
	test_assert(test_at(b.data, "<port>465</port>") <
	    test_at(b.data, "<port>587</port>"));
	test_assert(test_at(b.data, "<port>587</port>") <
	    test_at(b.data, "<port>26</port>"));
	test_assert(test_at(b.data, "<port>110</port>") < 0);
	fbuf_reset(&b);
	autoconfig_thunderbird(&c, "example.org", "<a>&@example.org", &b);
	test_assert(test_at(b.data, "<username>&lt;a&gt;&amp;@example.org"
	    "</username>") > 0);
	test_assert(test_at(b.data, "<a>") < 0);
	fbuf_release(&b);
	conf_free(&c);
	test_end();
}

static void
test_autodiscover(void)
{
	struct fbuf b;
	struct conf c;

	test_begin("autoconfig autodiscover");
	test_load(&c, conf_text);
	fbuf_init(&b, 0);
	autoconfig_autodiscover(&c, "example.org", "x\"<y@example.org", &b);
	test_assert(test_at(b.data, "<Type>IMAP</Type>\n"
	    "        <Server>mx.example.net</Server>\n"
	    "        <Port>993</Port>") > 0);
	test_assert(test_at(b.data, "<Type>POP3</Type>\n"
	    "        <Server>mx.example.net</Server>\n"
	    "        <Port>995</Port>") > 0);
	test_assert(test_at(b.data, "<Type>SMTP</Type>\n"
	    "        <Server>mx.example.net</Server>\n"
	    "        <Port>465</Port>") > 0);
	/* One Protocol per type: the preferred port. */
	test_assert(test_at(b.data, "<Port>143</Port>") < 0);
	test_assert(test_at(b.data, "<Port>587</Port>") < 0);
	test_assert(test_at(b.data, "<LoginName>x&quot;&lt;y@example.org"
	    "</LoginName>") > 0);
	test_assert(test_at(b.data, "<Encryption>SSL</Encryption>") > 0);
	fbuf_release(&b);
	conf_free(&c);
	/* STARTTLS only. */
	test_load(&c, "hostname = h.test\nimap_listen = 0.0.0.0:143\n"
	    "submission_listen = 0.0.0.0:587\ntls_cert = /c\ntls_key = /k\n");
	fbuf_init(&b, 0);
	autoconfig_autodiscover(&c, "example.org", NULL, &b);
	test_assert(test_at(b.data, "<Port>143</Port>") > 0);
	test_assert(test_at(b.data, "<Encryption>TLS</Encryption>") > 0);
	test_assert(test_at(b.data, "<Encryption>SSL</Encryption>") < 0);
	test_assert(test_at(b.data, "<Type>POP3</Type>") < 0);
	test_assert(test_at(b.data, "<LoginName>") < 0);
	fbuf_release(&b);
	conf_free(&c);
	test_end();
}

static void
test_mobileconfig(void)
{
	struct fbuf a, b;
	struct conf c;

	test_begin("autoconfig mobileconfig");
	test_load(&c, conf_text);
	fbuf_init(&a, 0);
	fbuf_init(&b, 0);
	autoconfig_mobileconfig(&c, "example.org", "u&@example.org", &a);
	autoconfig_mobileconfig(&c, "example.org", "u&@example.org", &b);
	/* The same UUIDs each time: a new download replaces the profile. */
	test_assert(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	test_assert(test_at(a.data, "<key>IncomingMailServerHostName</key>\n"
	    "\t\t\t<string>mx.example.net</string>\n"
	    "\t\t\t<key>IncomingMailServerPortNumber</key>\n"
	    "\t\t\t<integer>993</integer>") > 0);
	test_assert(test_at(a.data, "<key>OutgoingMailServerPortNumber</key>"
	    "\n\t\t\t<integer>465</integer>") > 0);
	test_assert(test_at(a.data, "<string>EmailTypeIMAP</string>") > 0);
	test_assert(test_at(a.data, "<string>u&amp;@example.org</string>") >
	    0);
	fbuf_reset(&b);
	autoconfig_mobileconfig(&c, "example.org", "v@example.org", &b);
	test_assert(a.len != b.len || memcmp(a.data, b.data, a.len) != 0);
	fbuf_release(&a);
	fbuf_release(&b);
	conf_free(&c);
	test_end();
}

#define REQ_HEAD "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n" \
	"<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/" \
	"autodiscover/outlook/requestschema/2006\">\n<Request>\n"
#define REQ_SCHEMA "<AcceptableResponseSchema>http://schemas.microsoft." \
	"com/exchange/autodiscover/outlook/responseschema/2006a" \
	"</AcceptableResponseSchema>\n"
#define REQ_TAIL "</Request>\n</Autodiscover>\n"

static void
test_request(void)
{
	static const struct {
		const char *body, *addr;
		bool outlook;
	} good[] = {
		{ REQ_HEAD "<EMailAddress>a@example.org</EMailAddress>\n"
		    REQ_SCHEMA REQ_TAIL, "a@example.org", true },
		{ REQ_HEAD "<EMailAddress> a@example.org\n</EMailAddress>"
		    REQ_TAIL, "a@example.org", true },
		{ "\xef\xbb\xbf<a:Autodiscover xmlns:a=\"x\"><a:Request>"
		    "<!-- hi --><a:EMailAddress>&lt;b&#x3E;&amp;&#64;x.org"
		    "</a:EMailAddress><a:AcceptableResponseSchema>http://"
		    "schemas.microsoft.com/exchange/autodiscover/mobilesync/"
		    "responseschema/2006</a:AcceptableResponseSchema>"
		    "</a:Request></a:Autodiscover>", "<b>&@x.org", false },
		{ REQ_HEAD "<Other><EMailAddress>no</EMailAddress></Other>"
		    "<EMailAddress attr='1' b=\"2\">c@d.org</EMailAddress>"
		    "<Empty/>" REQ_TAIL, "c@d.org", true },
	};
	static const char *const bad[] = {
		"",
		"<Autodiscover><Request></Request></Autodiscover>",
		REQ_HEAD "<EMailAddress>a@b.org</EMailAddress>",
		REQ_HEAD "<EMailAddress>a@b.org</EMailAddress></Request>"
		    "</Wrong>",
		"<!DOCTYPE x [<!ENTITY e \"a@b.org\">]>" REQ_HEAD
		    "<EMailAddress>&e;</EMailAddress>" REQ_TAIL,
		REQ_HEAD "<EMailAddress><![CDATA[a@b.org]]></EMailAddress>"
		    REQ_TAIL,
		REQ_HEAD "<EMailAddress>a@b.org</EMailAddress>"
		    "<EMailAddress>c@b.org</EMailAddress>" REQ_TAIL,
		REQ_HEAD "<EMailAddress>&#0;@b.org</EMailAddress>" REQ_TAIL,
		REQ_HEAD "<EMailAddress>&#xD800;@b.org</EMailAddress>"
		    REQ_TAIL,
		REQ_HEAD "<EMailAddress>&#99999999999;</EMailAddress>"
		    REQ_TAIL,
		REQ_HEAD "<EMailAddress>a<x/>@b.org</EMailAddress>" REQ_TAIL,
		REQ_HEAD "<EMailAddress a=\"<\">a@b.org</EMailAddress>"
		    REQ_TAIL,
		"<Other><Request><EMailAddress>a@b.org</EMailAddress>"
		    "</Request></Other>",
		"junk" REQ_HEAD "<EMailAddress>a@b.org</EMailAddress>"
		    REQ_TAIL,
		REQ_HEAD "<EMailAddress>a@b.org</EMailAddress>" REQ_TAIL
		    "<Autodiscover/>",
		REQ_HEAD "<!-- open",
		"<?xml",
		"<Autodiscover><Request><EMailAddress>a@b.org</EMailAddress>"
		    "</Request></Autodiscover  x>",
	};
	char addr[AUTOCONFIG_ADDR_MAX + 1], *big, *deep;
	const char *error;
	bool outlook;
	size_t n;

	test_begin("autodiscover request reader");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		test_assert_idx(autoconfig_autodiscover_parse(good[i].body,
		    strlen(good[i].body), addr, sizeof(addr), &outlook,
		    &error) == 0, i);
		test_assert_idx(strcmp(addr, good[i].addr) == 0, i);
		test_assert_idx(outlook == good[i].outlook, i);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		test_assert_idx(autoconfig_autodiscover_parse(bad[i],
		    strlen(bad[i]), addr, sizeof(addr), &outlook, &error) < 0,
		    i);
		test_assert_idx(error != NULL, i);
	}
	/* Limits: the body, the depth, a long value. */
	big = malloc(AUTOCONFIG_BODY_MAX + 2);
	memset(big, ' ', AUTOCONFIG_BODY_MAX + 1);
	big[AUTOCONFIG_BODY_MAX + 1] = '\0';
	test_assert(autoconfig_autodiscover_parse(big, strlen(big), addr,
	    sizeof(addr), &outlook, &error) < 0);
	free(big);
	deep = malloc(4096);
	n = (size_t)snprintf(deep, 4096, "<Autodiscover>");
	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(deep + n, 4096 - n, "<a>");
	test_assert(autoconfig_autodiscover_parse(deep, n, addr, sizeof(addr),
	    &outlook, &error) < 0);
	n = (size_t)snprintf(deep, 4096, REQ_HEAD "<EMailAddress>");
	for (int i = 0; i < 400; i++)
		deep[n++] = 'a';
	n += (size_t)snprintf(deep + n, 4096 - n, "@b.org</EMailAddress>"
	    REQ_TAIL);
	test_assert(autoconfig_autodiscover_parse(deep, n, addr, sizeof(addr),
	    &outlook, &error) < 0);
	free(deep);
	test_end();
}

static void
test_help(void)
{
	struct autoconfig_help h;
	struct conf c;

	test_begin("autoconfig help rows");
	test_load(&c, conf_text);
	autoconfig_help(&c, "example.org", &h);
	test_assert_streq(h.host, "mx.example.net");
	test_assert(strstr(h.username, "name@example.org") != NULL);
	test_assert(h.n == 6);
	test_assert(h.v[0].port == 993 && strcmp(h.v[0].security,
	    "SSL/TLS") == 0 && strcmp(h.v[0].when, "recommended") == 0);
	test_assert(h.v[1].port == 143 && strcmp(h.v[1].security,
	    "STARTTLS") == 0 && strstr(h.v[1].when, "no SSL/TLS") != NULL);
	test_assert(h.v[2].port == 995 && h.v[2].proto == OPS_SVC_POP3 &&
	    strcmp(h.v[2].when, "recommended") == 0);
	test_assert(h.v[3].port == 465 &&
	    strcmp(h.v[3].what, "Outgoing mail (SMTP)") == 0 &&
	    strcmp(h.v[3].when, "recommended") == 0);
	test_assert(h.v[4].port == 587 && strcmp(h.v[4].security,
	    "STARTTLS") == 0);
	test_assert(h.v[5].port == 26 && strstr(h.v[5].when, "blocks") !=
	    NULL);
	conf_free(&c);
	test_end();
}

static void
test_route(void)
{
	static const char req[] = REQ_HEAD "<EMailAddress>Bob@Example.ORG"
	    "</EMailAddress>" REQ_SCHEMA REQ_TAIL;
	static const char other[] = REQ_HEAD "<EMailAddress>b@example.org"
	    "</EMailAddress><AcceptableResponseSchema>http://schemas."
	    "microsoft.com/exchange/autodiscover/mobilesync/responseschema/"
	    "2006</AcceptableResponseSchema>" REQ_TAIL;
	struct autoconfig_req r;
	const char *type, *fname;
	struct fbuf b;
	struct conf c;

	test_begin("autoconfig_route");
	test_assert(autoconfig_route("GET", "/", NULL, "x.org", NULL, 0,
	    &r) == 0 && r.doc == AUTOCONFIG_NONE);
	test_assert(autoconfig_route("GET", "/.well-known/autoconfig/mail/"
	    "config-v1.1.xml", "a@Example.org", "x.org", NULL, 0, &r) == 200);
	test_assert(r.doc == AUTOCONFIG_THUNDERBIRD);
	test_assert_streq(r.domain, "example.org");
	test_assert_streq(r.addr, "a@example.org");
	test_assert(autoconfig_route("GET", "/mail/config-v1.1.xml", NULL,
	    "autoconfig.example.org", NULL, 0, &r) == 200);
	test_assert_streq(r.domain, "example.org");
	test_assert(r.addr[0] == '\0');
	test_assert(autoconfig_route("GET", "/mail/config-v1.1.xml", "a b@x",
	    "autoconfig.example.org", NULL, 0, &r) == 400);
	test_assert(autoconfig_route("GET", "/mail/config-v1.1.xml", NULL,
	    NULL, NULL, 0, &r) == 400);
	test_assert(autoconfig_route("POST", "/mail/config-v1.1.xml", NULL,
	    "example.org", NULL, 0, &r) == 405);
	test_assert(autoconfig_route("GET", "/mobileconfig", "u@example.org",
	    NULL, NULL, 0, &r) == 200 && r.doc == AUTOCONFIG_MOBILECONFIG);
	test_assert(autoconfig_route("POST", "/Autodiscover/Autodiscover.xml",
	    NULL, "autodiscover.x.org", req, strlen(req), &r) == 200);
	test_assert(r.doc == AUTOCONFIG_AUTODISCOVER);
	test_assert_streq(r.domain, "example.org");
	test_assert_streq(r.addr, "Bob@example.org");
	test_assert(autoconfig_route("GET", "/autodiscover/autodiscover.xml",
	    NULL, "x.org", NULL, 0, &r) == 405);
	test_assert(autoconfig_route("POST", "/autodiscover/autodiscover.xml",
	    NULL, "x.org", req, AUTOCONFIG_BODY_MAX + 1, &r) == 413);
	test_assert(autoconfig_route("POST", "/autodiscover/autodiscover.xml",
	    NULL, "x.org", "<x", 2, &r) == 400 && r.error != NULL);
	test_assert(autoconfig_route("POST", "/autodiscover/autodiscover.xml",
	    NULL, "x.org", other, strlen(other), &r) == 404);
	test_load(&c, conf_text);
	fbuf_init(&b, 0);
	test_assert(autoconfig_route("GET", "/mobileconfig", "u@example.org",
	    NULL, NULL, 0, &r) == 200);
	type = autoconfig_write(&c, &r, &b, &fname);
	test_assert_streq(type, "application/x-apple-aspen-config");
	test_assert(fname != NULL);
	test_assert(strstr(b.data, "<string>u@example.org</string>") != NULL);
	fbuf_release(&b);
	conf_free(&c);
	test_end();
}

static void
test_help_html(void)
{
	struct autoconfig_help h;
	struct fbuf b;
	struct conf c;

	test_begin("autoconfig help html");
	test_load(&c, "hostname = mx.example.net\n"
	    "imaps_listen = 0.0.0.0:993\ntls_cert = /c\ntls_key = /k\n");
	autoconfig_help(&c, "example.org", &h);
	fbuf_init(&b, 0);
	autoconfig_help_html(&h, &b);
	test_assert(strstr(b.data, "<h2>Incoming mail (IMAP)</h2>") != NULL);
	test_assert(strstr(b.data, "<td><code>mx.example.net</code>"
	    "</td><td>993</td><td>SSL/TLS</td><td>recommended</td>") != NULL);
	test_assert(strstr(b.data, "POP3)</h2>") == NULL);
	test_assert(strstr(b.data, "action=\"/mobileconfig\"") != NULL);
	/* The domain is escaped like every text (html_esc). */
	snprintf(h.domain, sizeof(h.domain), "<b>");
	fbuf_reset(&b);
	autoconfig_help_html(&h, &b);
	test_assert(strstr(b.data, "<strong>&lt;b&gt;</strong>") != NULL);
	test_assert(strstr(b.data, "<b>") == NULL);
	fbuf_release(&b);
	conf_free(&c);
	test_end();
}

int
main(void)
{
	test_route();
	test_help();
	test_help_html();
	test_address();
	test_xml_text();
	test_thunderbird();
	test_autodiscover();
	test_mobileconfig();
	test_request();
	return test_exit();
}

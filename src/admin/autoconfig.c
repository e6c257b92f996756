/* The autoconfiguration documents (autoconfig.h).  Each lists the
 * services of ops_services() in its own vocabulary:
 *
 *   Thunderbird  socketType SSL | STARTTLS | plain, every service, in
 *                order of preference (it offers the first that works)
 *   Outlook      one <Protocol> per type (IMAP, POP3, SMTP), the
 *                preferred port of each, Encryption SSL | TLS | None
 *   Apple        one account: IMAP when offered, else POP3, and one
 *                outgoing server; UseSSL for TLS and STARTTLS alike
 *
 * Passwords go in the clear inside TLS ("password-cleartext"): the
 * hashes are yescrypt, so no challenge-response mechanism is offered.
 * The request reader is autoconfig_req.c. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "admin/autoconfig.h"
#include "lib/fbuf.h"
#include "net/dns.h"
#include "ops/ops_services.h"

int
autoconfig_address(const char *input, char *addr, size_t size, char *domain,
    size_t dsize)
{
	const char *at = strchr(input, '@');
	size_t local, len = strlen(input);

	if (at == NULL || strchr(at + 1, '@') != NULL || len >= size ||
	    len > AUTOCONFIG_ADDR_MAX)
		return -1;
	local = (size_t)(at - input);
	if (local == 0 || local > 64)
		return -1;
	for (size_t i = 0; i < local; i++)
		if ((unsigned char)input[i] <= 0x20 ||
		    (unsigned char)input[i] >= 0x7f)
			return -1;
	if (strlen(at + 1) >= dsize || at[1] == '\0' ||
	    at[strlen(at) - 1] == '.' || !dns_name_valid(at + 1))
		return -1;
	memcpy(addr, input, local + 1);
	for (size_t i = 0; at[1 + i] != '\0'; i++) {
		char c = at[1 + i];

		domain[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
		domain[i + 1] = '\0';
	}
	memcpy(addr + local + 1, domain, strlen(domain) + 1);
	return 0;
}

int
autoconfig_host_domain(const char *host, char *domain, size_t size)
{
	static const char *const prefixes[] = { "autoconfig.",
	    "autodiscover." };
	size_t len = strcspn(host, ":");

	if (len == 0 || len >= size)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = host[i];

		domain[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	domain[len] = '\0';
	if (domain[len - 1] == '.' || !dns_name_valid(domain))
		return -1;
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(prefixes[i]);

		if (strncmp(domain, prefixes[i], n) == 0 && len > n) {
			memmove(domain, domain + n, len - n + 1);
			break;
		}
	}
	return 0;
}

/* Octets of the UTF-8 sequence at p (n available): 0 when malformed,
 * overlong, a surrogate or past U+10FFFF. */
static size_t
autoconfig_utf8_len(const unsigned char *p, size_t n)
{
	size_t need;
	uint32_t cp;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	need = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (n < need)
		return 0;
	cp = p[0] & (0x7f >> need);
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return need;
}

void
autoconfig_xml_text(struct fbuf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		size_t k;

		switch (p[i]) {
		case '&': (void)fbuf_adds(out, "&amp;"); i++; continue;
		case '<': (void)fbuf_adds(out, "&lt;"); i++; continue;
		case '>': (void)fbuf_adds(out, "&gt;"); i++; continue;
		case '"': (void)fbuf_adds(out, "&quot;"); i++; continue;
		case '\'': (void)fbuf_adds(out, "&apos;"); i++; continue;
		}
		if (p[i] == '\t' || p[i] == '\n' || p[i] == '\r' ||
		    (p[i] >= 0x20 && p[i] < 0x7f)) {
			(void)fbuf_addc(out, (char)p[i++]);
		} else if (p[i] >= 0x80 &&
		    (k = autoconfig_utf8_len(p + i, n - i)) > 0) {
			(void)fbuf_add(out, p + i, k);
			i += k;
		} else {
			(void)fbuf_adds(out, "\xef\xbf\xbd");
			i++;
		}
	}
}

/* <name>text</name> with the text escaped. */
static void
autoconfig_elem(struct fbuf *out, const char *indent, const char *name,
    const char *text)
{
	(void)fbuf_addf(out, "%s<%s>", indent, name);
	autoconfig_xml_text(out, text);
	(void)fbuf_addf(out, "</%s>\n", name);
}

/* ------------------------------------------------------- Thunderbird */

static const char *
autoconfig_tb_socket(enum ops_service_sec sec)
{
	return sec == OPS_SVC_TLS ? "SSL" : sec == OPS_SVC_STARTTLS ?
	    "STARTTLS" : "plain";
}

static void
autoconfig_tb_server(struct fbuf *out, const struct ops_services *s,
    const struct ops_service *v, const char *address)
{
	const char *tag = v->proto == OPS_SVC_SMTP ? "outgoingServer" :
	    "incomingServer";
	const char *type = v->proto == OPS_SVC_IMAP ? "imap" :
	    v->proto == OPS_SVC_POP3 ? "pop3" : "smtp";

	(void)fbuf_addf(out, "    <%s type=\"%s\">\n", tag, type);
	autoconfig_elem(out, "      ", "hostname", s->host);
	(void)fbuf_addf(out, "      <port>%u</port>\n", v->port);
	(void)fbuf_addf(out, "      <socketType>%s</socketType>\n",
	    autoconfig_tb_socket(v->sec));
	/* Thunderbird fills in %EMAILADDRESS% itself when it has none. */
	autoconfig_elem(out, "      ", "username", address != NULL ? address :
	    "%EMAILADDRESS%");
	(void)fbuf_addf(out, "      <authentication>password-cleartext"
	    "</authentication>\n    </%s>\n", tag);
}

void
autoconfig_thunderbird(const struct conf *conf, const char *domain,
    const char *address, struct fbuf *out)
{
	struct ops_services s;

	ops_services(conf, &s);
	(void)fbuf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<clientConfig version=\"1.1\">\n  <emailProvider id=\"");
	autoconfig_xml_text(out, domain);
	(void)fbuf_adds(out, "\">\n");
	autoconfig_elem(out, "    ", "domain", domain);
	(void)fbuf_adds(out, "    <displayName>");
	autoconfig_xml_text(out, domain);
	(void)fbuf_adds(out, " mail</displayName>\n");
	autoconfig_elem(out, "    ", "displayShortName", domain);
	/* Incoming first: the document's order is the schema's. */
	for (size_t i = 0; i < s.n; i++)
		if (s.v[i].proto != OPS_SVC_SMTP)
			autoconfig_tb_server(out, &s, &s.v[i], address);
	for (size_t i = 0; i < s.n; i++)
		if (s.v[i].proto == OPS_SVC_SMTP)
			autoconfig_tb_server(out, &s, &s.v[i], address);
	(void)fbuf_adds(out, "  </emailProvider>\n</clientConfig>\n");
}

/* ---------------------------------------------------------- Outlook */

#define AUTOCONFIG_NS_RESPONSE \
	"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
#define AUTOCONFIG_NS_OUTLOOK "http://schemas.microsoft.com/exchange/" \
	"autodiscover/outlook/responseschema/2006a"

static void
autoconfig_ad_protocol(struct fbuf *out, const struct ops_services *s,
    const struct ops_service *v, const char *address)
{
	static const char *const enc[] = { "SSL", "TLS", "None" };

	(void)fbuf_addf(out, "      <Protocol>\n        <Type>%s</Type>\n",
	    ops_service_proto_str(v->proto));
	autoconfig_elem(out, "        ", "Server", s->host);
	(void)fbuf_addf(out, "        <Port>%u</Port>\n"
	    "        <DomainRequired>off</DomainRequired>\n", v->port);
	if (address != NULL)
		autoconfig_elem(out, "        ", "LoginName", address);
	(void)fbuf_addf(out, "        <SPA>off</SPA>\n"
	    "        <SSL>%s</SSL>\n"
	    "        <Encryption>%s</Encryption>\n"
	    "        <AuthRequired>on</AuthRequired>\n",
	    v->sec == OPS_SVC_PLAIN ? "off" : "on", enc[v->sec]);
	if (v->proto == OPS_SVC_SMTP)
		(void)fbuf_adds(out, "        <UsePOPAuth>off</UsePOPAuth>\n"
		    "        <SMTPLast>off</SMTPLast>\n");
	(void)fbuf_adds(out, "      </Protocol>\n");
}

void
autoconfig_autodiscover(const struct conf *conf, const char *domain,
    const char *address, struct fbuf *out)
{
	static const enum ops_service_proto order[] = { OPS_SVC_IMAP,
	    OPS_SVC_POP3, OPS_SVC_SMTP };
	struct ops_services s;

	ops_services(conf, &s);
	(void)fbuf_adds(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<Autodiscover xmlns=\"" AUTOCONFIG_NS_RESPONSE "\">\n"
	    "  <Response xmlns=\"" AUTOCONFIG_NS_OUTLOOK "\">\n"
	    "    <Account>\n"
	    "      <AccountType>email</AccountType>\n"
	    "      <Action>settings</Action>\n");
	for (size_t i = 0; i < 3; i++) {
		const struct ops_service *v = ops_services_first(&s, order[i]);

		if (v != NULL)
			autoconfig_ad_protocol(out, &s, v, address);
	}
	(void)fbuf_adds(out, "    </Account>\n  </Response>\n"
	    "</Autodiscover>\n");
}

/* ------------------------------------------------------------ Apple */

/* A UUID that is the same for the same domain, address and salt, so a
 * profile downloaded again replaces the installed one instead of adding
 * a second account: SHA-256 of the parts, shaped as a version 8 (custom)
 * UUID (RFC 9562 5.8). */
static void
autoconfig_uuid(const char *domain, const char *address, const char *salt,
    char dst[37])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct fbuf in;
	size_t o = 0;

	fbuf_init(&in, 0);
	(void)fbuf_addf(&in, "ferry-mobileconfig%c%s%c%s%c%s", 0, domain, 0,
	    address != NULL ? address : "", 0, salt);
	if (EVP_Digest(in.data, in.len, md, &mdlen, EVP_sha256(), NULL) != 1)
		memset(md, 0, sizeof(md));
	fbuf_release(&in);
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x80);
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			dst[o++] = '-';
		snprintf(dst + o, 3, "%02X", md[i]);
		o += 2;
	}
	dst[o] = '\0';
}

static void
autoconfig_pl_str(struct fbuf *out, const char *key, const char *value)
{
	(void)fbuf_addf(out, "\t\t\t<key>%s</key>\n\t\t\t<string>", key);
	autoconfig_xml_text(out, value);
	(void)fbuf_adds(out, "</string>\n");
}

static void
autoconfig_pl_server(struct fbuf *out, const char *prefix,
    const struct ops_services *s, const struct ops_service *v,
    const char *address)
{
	(void)fbuf_addf(out, "\t\t\t<key>%sMailServerAuthentication</key>\n"
	    "\t\t\t<string>EmailAuthPassword</string>\n", prefix);
	(void)fbuf_addf(out, "\t\t\t<key>%sMailServerHostName</key>\n"
	    "\t\t\t<string>", prefix);
	autoconfig_xml_text(out, s->host);
	(void)fbuf_addf(out, "</string>\n"
	    "\t\t\t<key>%sMailServerPortNumber</key>\n"
	    "\t\t\t<integer>%u</integer>\n"
	    "\t\t\t<key>%sMailServerUseSSL</key>\n\t\t\t<%s/>\n", prefix,
	    v->port, prefix, v->sec == OPS_SVC_PLAIN ? "false" : "true");
	if (address != NULL) {
		char key[64];

		snprintf(key, sizeof(key), "%sMailServerUsername", prefix);
		autoconfig_pl_str(out, key, address);
	}
}

static void
autoconfig_pl_account(struct fbuf *out, const struct ops_services *s,
    const char *domain, const char *address)
{
	const struct ops_service *in = ops_services_first(s, OPS_SVC_IMAP);
	const struct ops_service *smtp = ops_services_first(s, OPS_SVC_SMTP);
	char uuid[37];
	struct fbuf id;

	if (in == NULL)
		in = ops_services_first(s, OPS_SVC_POP3);
	autoconfig_uuid(domain, address, "account", uuid);
	fbuf_init(&id, 0);
	(void)fbuf_addf(&id, "mail.%s.account.%s", domain, uuid);
	(void)fbuf_adds(out, "\t\t<dict>\n");
	autoconfig_pl_str(out, "EmailAccountDescription", domain);
	if (in != NULL) {
		autoconfig_pl_str(out, "EmailAccountType",
		    in->proto == OPS_SVC_IMAP ? "EmailTypeIMAP" :
		    "EmailTypePOP");
		autoconfig_pl_server(out, "Incoming", s, in, address);
	}
	if (address != NULL)
		autoconfig_pl_str(out, "EmailAddress", address);
	if (smtp != NULL) {
		autoconfig_pl_server(out, "Outgoing", s, smtp, address);
		(void)fbuf_adds(out, "\t\t\t<key>OutgoingPasswordSameAs"
		    "IncomingPassword</key>\n\t\t\t<true/>\n");
	}
	autoconfig_pl_str(out, "PayloadDisplayName", domain);
	autoconfig_pl_str(out, "PayloadIdentifier", id.data);
	autoconfig_pl_str(out, "PayloadType", "com.apple.mail.managed");
	autoconfig_pl_str(out, "PayloadUUID", uuid);
	(void)fbuf_adds(out, "\t\t\t<key>PayloadVersion</key>\n"
	    "\t\t\t<integer>1</integer>\n\t\t</dict>\n");
	fbuf_release(&id);
}

void
autoconfig_mobileconfig(const struct conf *conf, const char *domain,
    const char *address, struct fbuf *out)
{
	struct ops_services s;
	char uuid[37];
	struct fbuf text;

	ops_services(conf, &s);
	autoconfig_uuid(domain, address, "profile", uuid);
	(void)fbuf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
	    "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
	    "<plist version=\"1.0\">\n<dict>\n"
	    "\t<key>PayloadContent</key>\n\t<array>\n");
	autoconfig_pl_account(out, &s, domain, address);
	(void)fbuf_adds(out, "\t</array>\n");
	fbuf_init(&text, 0);
	(void)fbuf_addf(&text, "Mail for %s", domain);
	(void)fbuf_adds(out, "\t<key>PayloadDisplayName</key>\n\t<string>");
	autoconfig_xml_text(out, text.data);
	fbuf_reset(&text);
	(void)fbuf_addf(&text, "mail.%s.%s", domain, uuid);
	(void)fbuf_adds(out, "</string>\n\t<key>PayloadIdentifier</key>\n"
	    "\t<string>");
	autoconfig_xml_text(out, text.data);
	(void)fbuf_addf(out, "</string>\n"
	    "\t<key>PayloadRemovalDisallowed</key>\n\t<false/>\n"
	    "\t<key>PayloadType</key>\n\t<string>Configuration</string>\n"
	    "\t<key>PayloadUUID</key>\n\t<string>%s</string>\n"
	    "\t<key>PayloadVersion</key>\n\t<integer>1</integer>\n"
	    "</dict>\n</plist>\n", uuid);
	fbuf_release(&text);
}

/* ---------------------------------------------------------- routing */

static int
autoconfig_route_fail(struct autoconfig_req *out, int status,
    const char *why)
{
	out->error = why;
	return status;
}

/* The domain from the address when there is one, else from Host. */
static int
autoconfig_route_who(const char *emailaddress, const char *host,
    struct autoconfig_req *out)
{
	char addr[AUTOCONFIG_ADDR_MAX + 1];

	if (emailaddress != NULL && emailaddress[0] != '\0') {
		if (autoconfig_address(emailaddress, addr, sizeof(addr),
		    out->domain, sizeof(out->domain)) < 0)
			return autoconfig_route_fail(out, 400,
			    "bad e-mail address");
		memcpy(out->addr, addr, sizeof(addr));
		return 200;
	}
	if (host == NULL || autoconfig_host_domain(host, out->domain,
	    sizeof(out->domain)) < 0)
		return autoconfig_route_fail(out, 400, "no domain");
	return 200;
}

int
autoconfig_route(const char *method, const char *path,
    const char *emailaddress, const char *host, const char *body,
    size_t len, struct autoconfig_req *out)
{
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool outlook = false;
	char raw[AUTOCONFIG_ADDR_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (strcmp(path, "/.well-known/autoconfig/mail/config-v1.1.xml") ==
	    0 || strcmp(path, "/mail/config-v1.1.xml") == 0)
		out->doc = AUTOCONFIG_THUNDERBIRD;
	else if (strcmp(path, "/mobileconfig") == 0)
		out->doc = AUTOCONFIG_MOBILECONFIG;
	else if (strcasecmp(path, "/autodiscover/autodiscover.xml") == 0)
		out->doc = AUTOCONFIG_AUTODISCOVER;
	else
		return 0;
	if (out->doc != AUTOCONFIG_AUTODISCOVER)
		return get ? autoconfig_route_who(emailaddress, host, out) :
		    autoconfig_route_fail(out, 405, "method");
	if (strcmp(method, "POST") != 0)
		return autoconfig_route_fail(out, 405, "method");
	if (len > AUTOCONFIG_BODY_MAX)
		return autoconfig_route_fail(out, 413, "request too large");
	if (autoconfig_autodiscover_parse(body != NULL ? body : "", len, raw,
	    sizeof(raw), &outlook, &out->error) < 0)
		return 400;
	if (!outlook)
		return autoconfig_route_fail(out, 404, "response schema");
	return autoconfig_route_who(raw, NULL, out);
}

const char *
autoconfig_write(const struct conf *conf, const struct autoconfig_req *r,
    struct fbuf *out, const char **filename_r)
{
	const char *addr = r->addr[0] != '\0' ? r->addr : NULL;

	*filename_r = NULL;
	switch (r->doc) {
	case AUTOCONFIG_AUTODISCOVER:
		autoconfig_autodiscover(conf, r->domain, addr, out);
		return AUTOCONFIG_AUTODISCOVER_TYPE;
	case AUTOCONFIG_MOBILECONFIG:
		autoconfig_mobileconfig(conf, r->domain, addr, out);
		*filename_r = "mail.mobileconfig";
		return AUTOCONFIG_MOBILECONFIG_TYPE;
	default:
		autoconfig_thunderbird(conf, r->domain, addr, out);
		return AUTOCONFIG_THUNDERBIRD_TYPE;
	}
}

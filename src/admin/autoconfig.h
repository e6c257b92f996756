/* Client autoconfiguration documents, written from the configuration in
 * force (the services of ops/ops_services.h): Thunderbird's autoconfig
 * (clientConfig 1.1), Outlook's autodiscover (the POX "outlook" response
 * schema), an Apple configuration profile (.mobileconfig, an XML plist),
 * and the reader of Outlook's autodiscover request.  No I/O: the admin
 * role's routes call these and send what they wrote.
 *
 * Every text from a request (the address) is checked by
 * autoconfig_address() first and escaped again where it is written, so
 * no request can add markup to a document. */
#ifndef FERRY_AUTOCONFIG_H
#define FERRY_AUTOCONFIG_H
#include <stdbool.h>
#include <stddef.h>

struct conf;
struct fbuf;

/* Request bodies beyond this are refused before parsing (413). */
#define AUTOCONFIG_BODY_MAX 16384
#define AUTOCONFIG_ADDR_MAX 320

#define AUTOCONFIG_THUNDERBIRD_TYPE "text/xml; charset=utf-8"
#define AUTOCONFIG_AUTODISCOVER_TYPE "application/xml; charset=utf-8"
#define AUTOCONFIG_MOBILECONFIG_TYPE "application/x-apple-aspen-config"

/* Checks and normalises an e-mail address from a request: one '@', a
 * local part of 1-64 printable ASCII octets without space, a valid DNS
 * domain (lower-cased).  0 with addr and domain (size >= 256) filled,
 * or -1. */
int autoconfig_address(const char *input, char *addr, size_t size,
    char *domain, size_t dsize);
/* The domain a request is for, from the Host header: "autoconfig.D" and
 * "autodiscover.D" give D, any other host name itself, lower-cased and
 * without a port.  0 or -1 (not a valid name). */
int autoconfig_host_domain(const char *host, char *domain, size_t size);

/* The documents, appended to out.  domain is normalised (a hosted
 * domain: the caller checks); address (checked, or NULL when the
 * client gave none) fills the user names. */
void autoconfig_thunderbird(const struct conf *conf, const char *domain,
    const char *address, struct fbuf *out);
void autoconfig_autodiscover(const struct conf *conf, const char *domain,
    const char *address, struct fbuf *out);
void autoconfig_mobileconfig(const struct conf *conf, const char *domain,
    const char *address, struct fbuf *out);

/* Reads Outlook's request (<Autodiscover><Request><EMailAddress> and
 * <AcceptableResponseSchema>), namespace prefixes ignored.  Only a small
 * XML subset is accepted: no DOCTYPE or entity declarations, no CDATA,
 * the five predefined entities and character references, at most 16
 * levels, names of 128 octets, len <= AUTOCONFIG_BODY_MAX.  0 with the
 * raw address text in addr (size >= AUTOCONFIG_ADDR_MAX + 1) and
 * *outlook_r telling whether the client accepts the outlook response
 * schema (or named none), or -1 with a static *error_r. */
int autoconfig_autodiscover_parse(const char *body, size_t len, char *addr,
    size_t size, bool *outlook_r, const char **error_r);

/* Which document a request asks for, decided before anything is looked
 * up: autoconfig_route() maps the request to one of these (or an HTTP
 * status), the caller checks that domain is hosted (404 if not), then
 * autoconfig_write() writes it. */
enum autoconfig_doc {
	AUTOCONFIG_NONE = 0,	/* not an autoconfig path */
	AUTOCONFIG_THUNDERBIRD,
	AUTOCONFIG_AUTODISCOVER,
	AUTOCONFIG_MOBILECONFIG
};

struct autoconfig_req {
	enum autoconfig_doc doc;
	char domain[256];
	char addr[AUTOCONFIG_ADDR_MAX + 1];	/* "" when none */
	const char *error;	/* static, for the log when status != 200 */
};

/* The paths: Thunderbird's /.well-known/autoconfig/mail/config-v1.1.xml
 * and /mail/config-v1.1.xml (GET), Outlook's /autodiscover/
 * autodiscover.xml in any case (POST), /mobileconfig (GET).  method is
 * "GET" or "POST" (HEAD counts as GET), path without the query,
 * emailaddress the decoded query parameter (NULL: none), host the Host
 * header (NULL: none), body the request body (POST).  Returns 200 with
 * out filled, 0 when the path is none of them (out->doc NONE), or the
 * HTTP status to answer: 400 (bad address, malformed request), 404 (a
 * response schema we do not serve), 405 (method), 413 (body). */
int autoconfig_route(const char *method, const char *path,
    const char *emailaddress, const char *host, const char *body,
    size_t len, struct autoconfig_req *out);
/* Writes the document of r (its domain checked as hosted) into out;
 * returns its Content-Type.  *filename_r is the download name for
 * Content-Disposition, or NULL (points into a static or r). */
const char *autoconfig_write(const struct conf *conf,
    const struct autoconfig_req *r, struct fbuf *out,
    const char **filename_r);

/* Text for XML content and attribute values: & < > " ' escaped, octets
 * that XML 1.0 forbids (controls other than tab, LF, CR) and bytes that
 * are not UTF-8 become U+FFFD. */
void autoconfig_xml_text(struct fbuf *out, const char *s);

#endif

/* libFuzzer target for Outlook's autodiscover request reader
 * (src/admin/autoconfig_req.c): the input is a whole request body.  An
 * accepted request must give a NUL-terminated address within its
 * limit, and that address, once checked and escaped for the response,
 * must hold no markup.
 * FUZZ_SOURCES: src/admin/autoconfig_req.c src/admin/autoconfig.c src/ops/ops_services.c src/net/dns.c src/net/dns_answers.c src/lib */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin/autoconfig.h"
#include "lib/fbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char addr[AUTOCONFIG_ADDR_MAX + 1], norm[AUTOCONFIG_ADDR_MAX + 1];
	char domain[256];
	const char *error;
	bool outlook;
	struct fbuf b;

	memset(addr, 'x', sizeof(addr));
	if (autoconfig_autodiscover_parse((const char *)data, size, addr,
	    sizeof(addr), &outlook, &error) < 0) {
		if (error == NULL)
			abort();
		return 0;
	}
	if (strnlen(addr, sizeof(addr)) >= sizeof(addr) || addr[0] == '\0')
		abort();
	if (autoconfig_address(addr, norm, sizeof(norm), domain,
	    sizeof(domain)) < 0)
		return 0;
	fbuf_init(&b, 0);
	autoconfig_xml_text(&b, norm);
	if (strpbrk(b.data, "<>\"'") != NULL)
		abort();
	fbuf_release(&b);
	return 0;
}

/* libFuzzer target for RFC 5321 path parsing.  The first input octet
 * picks the flags.  A parsed address, formatted and put back in angle
 * brackets, must parse again to the same canonical form (the canonical
 * form is a fixed point), and parse_mailbox/domain_valid must not crash.
 * FUZZ_SOURCES: src/smtp/smtp_addr.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_addr.h"

static void
fuzz_smtp_addr_roundtrip(const struct smtp_addr *a, unsigned flags)
{
	struct smtp_addr b;
	char out[600], wrapped[604], again[600];
	const char *error;
	int n;

	n = smtp_addr_format(a, out, sizeof(out));
	if (n < 0 || strlen(a->local) > SMTP_ADDR_LOCAL_MAX ||
	    strlen(a->domain) > SMTP_ADDR_DOMAIN_MAX)
		abort();
	if ((size_t)n + 2 > SMTP_ADDR_PATH_MAX)
		return;
	wrapped[0] = '<';
	memcpy(wrapped + 1, out, (size_t)n);
	wrapped[n + 1] = '>';
	if (smtp_addr_parse_path(wrapped, (size_t)n + 2, flags, &b,
	    &error) < 0)
		abort();
	if (smtp_addr_format(&b, again, sizeof(again)) != n ||
	    memcmp(out, again, (size_t)n) != 0 || b.null != a->null ||
	    b.postmaster != a->postmaster || b.literal != a->literal ||
	    b.utf8 != a->utf8)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_addr a;
	const char *error = NULL;
	unsigned flags;

	if (size == 0)
		return 0;
	flags = data[0] & 0x0f;
	data++;
	size--;
	if (smtp_addr_parse_path((const char *)data, size, flags, &a,
	    &error) == 0)
		fuzz_smtp_addr_roundtrip(&a, flags);
	else if (error == NULL)
		abort();
	if (smtp_addr_parse_mailbox((const char *)data, size, flags, &a,
	    &error) == 0)
		fuzz_smtp_addr_roundtrip(&a, flags);
	(void)smtp_addr_domain_valid((const char *)data, size,
	    (flags & SMTP_ADDR_F_UTF8) != 0);
	return 0;
}

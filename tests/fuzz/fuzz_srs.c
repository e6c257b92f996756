/* libFuzzer target for the SRS codec (src/msgauth/srs.c).  The input is
 * an address: srs_reverse must not crash on it and must give a
 * NUL-terminated result that fits; srs_forward of it, when it succeeds,
 * must give an SRS address of at most 64 octets of local part that
 * srs_reverse turns back into the input (case-blind), and the SRS
 * address with its case changed must reverse too.
 * FUZZ_SOURCES: src/msgauth/srs.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/strutil.h"
#include "msgauth/srs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const secrets[] = { "fuzz secret 0123456789",
		"older fuzz secret 0123" };
	struct srs_keys *k = srs_keys_new(secrets, 2);
	char in[600], fwd[SRS_ADDR_MAX], back[SRS_ADDR_MAX];
	const char *err = NULL;
	time_t now = (time_t)20000 * 86400;

	if (size >= sizeof(in) || memchr(data, '\0', size) != NULL) {
		srs_keys_free(&k);
		return 0;
	}
	memcpy(in, data, size);
	in[size] = '\0';
	if (srs_reverse(k, in, now, 21, back, sizeof(back), &err) == 0) {
		if (strlen(back) >= sizeof(back))
			abort();
	} else if (err == NULL)
		abort();
	if (srs_forward(k, in, "fwd.example", now, fwd, sizeof(fwd),
	    &err) == 0) {
		if (!srs_is_srs(fwd) || strchr(fwd, '@') - fwd > SRS_LOCAL_MAX)
			abort();
		if (srs_reverse(k, fwd, now, 21, back, sizeof(back),
		    &err) == 0 && !srs_is_srs(in) && strcasecmp(back, in) != 0)
			abort();
		if (!srs_is_srs(in) && strchr(in, '@') != NULL &&
		    srs_reverse(k, str_lower(fwd), now, 21, back,
		    sizeof(back), &err) != 0)
			abort();
	}
	srs_keys_free(&k);
	return 0;
}

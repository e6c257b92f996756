/* The urlencoded form parser (form.h). */
#include <stdlib.h>
#include <string.h>

#include "admin/form.h"
#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"

/* Decodes [s, s + n) into a new string, or NULL when it is malformed. */
static char *
form_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+')
			*o++ = ' ';
		else if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= n) {
				free(out);
				return NULL;
			}
			hi = str_hexval(s[i + 1]);
			lo = str_hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(out);
				return NULL;
			}
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '\0') {
			free(out);
			return NULL;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	return out;
}

int
form_parse(struct form *f, const char *s, size_t len)
{
	size_t i = 0;

	memset(f, 0, sizeof(*f));
	while (i < len) {
		size_t end = i, eq;
		char *name, *value;

		while (end < len && s[end] != '&' && s[end] != ';')
			end++;
		if (end == i) {		/* "a=1&&b=2": an empty pair */
			i = end + 1;
			continue;
		}
		for (eq = i; eq < end && s[eq] != '='; eq++)
			;
		if (f->n == FORM_FIELDS_MAX)
			goto bad;
		name = form_decode(s + i, eq - i);
		value = form_decode(s + (eq < end ? eq + 1 : end),
		    eq < end ? end - eq - 1 : 0);
		if (name == NULL || value == NULL) {
			free(name);
			free(value);
			goto bad;
		}
		f->v = xreallocarray(f->v, f->n + 1, sizeof(*f->v));
		f->v[f->n].name = name;
		f->v[f->n].value = value;
		f->n++;
		i = end + 1;
	}
	return 0;
bad:
	form_free(f);
	return -1;
}

const char *
form_get(const struct form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i].name, name) == 0)
			return f->v[i].value;
	return NULL;
}

void
form_free(struct form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].name);
		explicit_bzero(f->v[i].value, strlen(f->v[i].value));
		free(f->v[i].value);
	}
	free(f->v);
	memset(f, 0, sizeof(*f));
}

int
form_encode(struct fbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || c == '@') {
			if (fbuf_addc(b, (char)c) < 0)
				return -1;
		} else if (fbuf_addc(b, '%') < 0 ||
		    fbuf_addc(b, hex[c >> 4]) < 0 ||
		    fbuf_addc(b, hex[c & 15]) < 0)
			return -1;
	}
	return 0;
}

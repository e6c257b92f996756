/* Shared between the DKIM files of src/msgauth/ (dkim_keys.c,
 * dkim_sign.c); not for use outside them. */
#ifndef FERRY_DKIM_PRIVATE_H
#define FERRY_DKIM_PRIVATE_H
#include <stddef.h>

#include "msgauth/dkim_keys.h"

struct dkim_ringkey {
	char domain[254];		/* lowercase */
	char selector[DKIM_SELECTOR_MAX + 1];
	struct evp_pkey_st *key;
};

struct dkim_keyring {
	struct dkim_ringkey *keys;	/* active keys only */
	size_t n;
	unsigned refs;			/* atomic */
};

/* The header fields of a message, collected as src/mime hands them out:
 * raw text back to back (bounded by DKIM_SIGNER_HEADER_MAX). */
struct dkim_fields {
	struct fbuf hdr;
	struct dkim_field_pos {
		size_t name_off, name_len, raw_off, raw_len;
	} *pos;
	size_t n, cap;
};

struct mime_field;

void dkim_fields_init(struct dkim_fields *fs);
/* 0, or -1 when the header section is over the bound. */
int dkim_fields_add(struct dkim_fields *fs, const struct mime_field *mf);
/* A view of the fields (pointers into fs, valid until the next add);
 * free() it. */
struct dkim_hfield *dkim_fields_view(const struct dkim_fields *fs);
void dkim_fields_release(struct dkim_fields *fs);

#endif

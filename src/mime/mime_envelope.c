/* The envelope of a message as IMAP's ENVELOPE wants it (RFC 3501
 * section 7.4.2): date, subject, the address fields parsed into lists,
 * In-Reply-To and Message-ID, from the first field of each name.  And
 * message id lists (RFC 5322 section 3.6.4) for References threading.
 * No IMAP syntax here: that is the IMAP layer's job.  No I/O. */
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/xalloc.h"
#include "mime/mime.h"
#include "mime/mime_private.h"

unsigned
mime_msgid_list(const char *v, size_t len, mime_msgid_cb *cb, void *ctx)
{
	struct fbuf id;
	unsigned n = 0;
	size_t i = 0;

	fbuf_init(&id, 0);
	while (i < len) {
		if (v[i] == '(') {
			i = mime_skip_comment(v, len, i);
			continue;
		}
		if (v[i] == '"') {
			i = mime_unquote(v, len, i, NULL);
			continue;
		}
		if (v[i++] != '<')
			continue;
		fbuf_reset(&id);
		fbuf_addc(&id, '<');
		while (i < len && v[i] != '>' && v[i] != '<') {
			if (v[i] == '(')
				i = mime_skip_comment(v, len, i);
			else if (mime_is_wsp(v[i]))
				i++;
			else
				fbuf_addc(&id, v[i++]);
		}
		if (i < len && v[i] == '>' && id.len > 1) {
			fbuf_addc(&id, '>');
			i++;
			n++;
			if (cb != NULL)
				cb(ctx, id.data, id.len);
		}
	}
	fbuf_release(&id);
	return n;
}

static void
mime_envelope_field(void *ctx, const struct mime_field *f)
{
	static const char *const names[] = { "From", "Sender", "Reply-To",
		"To", "Cc", "Bcc" };
	struct mime_envelope *env = ctx;
	struct mime_address **lists[] = { &env->from, &env->sender,
		&env->reply_to, &env->to, &env->cc, &env->bcc };
	char **text = NULL;

	if (mime_field_is(f, "Date"))
		text = &env->date;
	else if (mime_field_is(f, "Subject"))
		text = &env->subject;
	else if (mime_field_is(f, "In-Reply-To"))
		text = &env->in_reply_to;
	else if (mime_field_is(f, "Message-ID"))
		text = &env->message_id;
	if (text != NULL) {
		if (*text == NULL)
			*text = xstrndup(f->value, f->value_len);
		return;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (mime_field_is(f, names[i]) && *lists[i] == NULL) {
			*lists[i] = mime_address_parse(f->value, f->value_len);
			return;
		}
}

void
mime_envelope_parse(const void *hdr, size_t len, struct mime_envelope *env)
{
	memset(env, 0, sizeof(*env));
	mime_header_parse(hdr, len, NULL, mime_envelope_field, env);
	if (env->date != NULL && mime_date_parse(env->date, strlen(env->date),
	    &env->date_t, &env->date_zone) == 0)
		env->has_date = true;
}

void
mime_envelope_free(struct mime_envelope *env)
{
	free(env->date);
	free(env->subject);
	free(env->in_reply_to);
	free(env->message_id);
	mime_address_free(&env->from);
	mime_address_free(&env->sender);
	mime_address_free(&env->reply_to);
	mime_address_free(&env->to);
	mime_address_free(&env->cc);
	mime_address_free(&env->bcc);
	memset(env, 0, sizeof(*env));
}

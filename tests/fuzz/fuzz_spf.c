/* libFuzzer target for the SPF record and macro parsers and the
 * Received-SPF field (src/msgauth/spf.c; RFC 7208 4.6, 7.1, 9.1).  The
 * first input octet picks how the rest is read.  Checked: a parsed
 * record's domain-specs pass the domain-spec check and expand; the macro
 * checker and the expander agree (length is never an error, 7.3) and an
 * expansion is at most SPF_EXPAND_MAX octets; an expanded name is at most
 * 253 octets; the header field holds only printable ASCII with CRLF folds.
 * FUZZ_SOURCES: src/msgauth/spf.c src/net/dns.c src/net/dns_answers.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "msgauth/spf.h"

static void
fuzz_spf_env(struct spf_macro_env *env, const char *peer)
{
	memset(env, 0, sizeof(*env));
	env->s = "strong-bad@email.example.com";
	env->l = peer;
	env->o = env->d = "email.example.com";
	env->h = peer;
	env->i = env->c = "192.0.2.3";
	env->v = "in-addr";
	env->t = 1;
}

static void
fuzz_spf_record(const char *s, size_t len, const struct spf_macro_env *env)
{
	struct spf_record rec;
	char err[200], dst[300];

	if (spf_record_parse(s, len, &rec, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < rec.n; i++) {
			const struct spf_term *t = &rec.terms[i];

			if (t->text == NULL || (t->arglen > 0 && t->arg == NULL))
				abort();
			if (t->kind == SPF_T_IP4 || t->kind == SPF_T_IP6 ||
			    t->kind == SPF_T_UNKNOWN_MOD || t->arglen == 0)
				continue;
			if (spf_domain_spec_check(t->arg, t->arglen) < 0)
				abort();
			if (spf_expand_domain(t->arg, t->arglen, env, dst,
			    sizeof(dst)) == 0 && strlen(dst) > SPF_DOMAIN_MAX)
				abort();
		}
	} else if (err[0] == '\0')
		abort();
	spf_record_free(&rec);
}

static void
fuzz_spf_macro(const char *s, size_t len, enum spf_macro_use use,
    const struct spf_macro_env *env)
{
	struct fbuf out;
	int chk = spf_macro_check(s, len, use), r;

	fbuf_init(&out, 0);
	r = spf_macro_expand(s, len, use, env, &out);
	if (r != chk || out.len > SPF_EXPAND_MAX || (r < 0 && out.len != 0))
		abort();
	fbuf_release(&out);
	(void)spf_domain_spec_check(s, len);
	(void)spf_macro_uses_p(s, len);
}

static void
fuzz_spf_header(const char *peer)
{
	struct spf_answer a;
	struct fbuf b;

	memset(&a, 0, sizeof(a));
	a.result = (enum spf_result)(strlen(peer) % 7);
	a.identity = "mailfrom";
	a.sender = a.domain = a.mechanism = a.problem = peer;
	a.explanation = "";
	fbuf_init(&b, 0);
	if (spf_received_spf(&b, &a, "192.0.2.3", peer, peer) < 0)
		abort();
	for (size_t i = 0; i < b.len; i++) {
		unsigned char ch = (unsigned char)b.data[i];

		if (ch == '\r' && (i + 1 >= b.len || b.data[i + 1] != '\n'))
			abort();
		if (ch == '\n' && i + 1 < b.len && b.data[i + 1] != ' ')
			abort();
		if ((ch < 0x20 && ch != '\r' && ch != '\n') || ch > 0x7e)
			abort();
	}
	fbuf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spf_macro_env env;
	char *s, *peer;

	if (size == 0)
		return 0;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	peer = malloc(size);
	memcpy(peer, data + 1, size - 1);
	peer[size - 1] = '\0';
	fuzz_spf_env(&env, peer);
	switch (data[0] % 4) {
	case 0:
		fuzz_spf_record(s, size - 1, &env);
		break;
	case 1:
		fuzz_spf_macro(s, size - 1, SPF_MACRO_DOMAIN, &env);
		break;
	case 2:
		fuzz_spf_macro(s, size - 1, SPF_MACRO_EXP, &env);
		break;
	default:
		fuzz_spf_header(peer);
	}
	free(s);
	free(peer);
	return 0;
}

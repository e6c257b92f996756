/* Unit tests for the SRS codec (src/msgauth/srs.c): round trips of SRS0
 * and SRS1, tampered hashes, expiry, case changes on the way, odd local
 * parts, length limits, secret rotation and the secret file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsio.h"
#include "lib/strutil.h"
#include "msgauth/srs.h"
#include "test.h"

#define DAY 86400
static const time_t now = (time_t)20000 * DAY + 3600;

static struct srs_keys *
keys(const char *a, const char *b)
{
	const char *v[2] = { a, b };

	return srs_keys_new(v, b != NULL ? 2 : 1);
}

static void
test_srs_round_trip(void)
{
	static const char *const senders[] = {
		"alice@example.org",
		"Alice.Smith@Example.ORG",
		"a=b=c@example.org",
		"bob+tag@example.net",
		"x+y=z-w@sub.example.co.uk",
		"\"quoted\"@example.org",
	};
	struct srs_keys *k = keys("0123456789abcdef0123", NULL);
	char fwd[SRS_ADDR_MAX], back[SRS_ADDR_MAX], low[SRS_ADDR_MAX];
	const char *err = NULL;

	test_begin("srs round trip");
	test_assert(k != NULL);
	for (size_t i = 0; i < sizeof(senders) / sizeof(senders[0]); i++) {
		test_assert_idx(srs_forward(k, senders[i], "fwd.example", now,
		    fwd, sizeof(fwd), &err) == 0, i);
		test_assert_idx(strncmp(fwd, "SRS0=", 5) == 0, i);
		test_assert_idx(srs_is_srs(fwd), i);
		test_assert_idx(strlen(fwd) > 12 &&
		    strcmp(fwd + strlen(fwd) - 12, "@fwd.example") == 0, i);
		test_assert_idx(srs_reverse(k, fwd, now, 21, back,
		    sizeof(back), &err) == 0, i);
		test_assert_streq(back, senders[i]);
		/* A hop that lower-cases the local part: still valid. */
		str_lcpy(low, fwd, sizeof(low));
		str_lower(low);
		test_assert_idx(srs_reverse(k, low, now, 21, back,
		    sizeof(back), &err) == 0, i);
		str_lcpy(low, senders[i], sizeof(low));
		test_assert_idx(strcasecmp(back, senders[i]) == 0, i);
	}
	srs_keys_free(&k);
	test_assert(k == NULL);
	test_end();
}

static void
test_srs_format(void)
{
	struct srs_keys *k = keys("0123456789abcdef0123", NULL);
	char fwd[SRS_ADDR_MAX];
	const char *err = NULL, *p;

	test_begin("srs format");
	test_assert(srs_forward(k, "user@orig.example", "fwd.example", now,
	    fwd, sizeof(fwd), &err) == 0);
	/* SRS0=HHHH=TT=orig.example=user@fwd.example; day 20000 % 1024
	 * is 544 = 17 * 32 + 0: "RA". */
	test_assert(strlen(fwd) == strlen("SRS0=HHHH=TT=orig.example="
	    "user@fwd.example"));
	p = fwd + 5 + SRS_HASH_LEN;
	test_assert(strncmp(p, "=RA=orig.example=user@fwd.example", 33) == 0);
	srs_keys_free(&k);
	test_end();
}

static void
test_srs_tampered(void)
{
	struct srs_keys *k = keys("0123456789abcdef0123", NULL);
	struct srs_keys *other = keys("another secret, not ours", NULL);
	char fwd[SRS_ADDR_MAX], bad[SRS_ADDR_MAX], back[SRS_ADDR_MAX];
	const char *err = NULL;

	test_begin("srs tampered");
	test_assert(srs_forward(k, "user@orig.example", "fwd.example", now,
	    fwd, sizeof(fwd), &err) == 0);
	/* Another secret does not accept it. */
	err = NULL;
	test_assert(srs_reverse(other, fwd, now, 21, back, sizeof(back),
	    &err) == -1);
	test_assert_streq(err, "bad SRS hash");
	/* A changed hash character. */
	str_lcpy(bad, fwd, sizeof(bad));
	bad[5] = bad[5] == 'Q' || bad[5] == 'q' ? 'Z' : 'Q';
	test_assert(srs_reverse(k, bad, now, 21, back, sizeof(back),
	    &err) == -1);
	test_assert_streq(err, "bad SRS hash");
	/* A different original local part or domain. */
	snprintf(bad, sizeof(bad), "%.*sevil@fwd.example",
	    (int)(strstr(fwd, "=user@") + 1 - fwd), fwd);
	test_assert(srs_reverse(k, bad, now, 21, back, sizeof(back),
	    &err) == -1);
	test_assert_streq(err, "bad SRS hash");
	str_lcpy(bad, fwd, sizeof(bad));
	memcpy(strstr(bad, "orig"), "evil", 4);
	test_assert(srs_reverse(k, bad, now, 21, back, sizeof(back),
	    &err) == -1);
	test_assert_streq(err, "bad SRS hash");
	/* A changed timestamp is caught by the hash. */
	str_lcpy(bad, fwd, sizeof(bad));
	bad[5 + SRS_HASH_LEN + 2] = 'B';
	test_assert(srs_reverse(k, bad, now, 21, back, sizeof(back),
	    &err) == -1);
	test_assert_streq(err, "bad SRS hash");
	/* No keys at all (no secret yet): nothing is valid. */
	test_assert(srs_reverse(NULL, fwd, now, 21, back, sizeof(back),
	    &err) == -1);
	srs_keys_free(&k);
	srs_keys_free(&other);
	test_end();
}

static void
test_srs_expiry(void)
{
	struct srs_keys *k = keys("0123456789abcdef0123", NULL);
	char fwd[SRS_ADDR_MAX], back[SRS_ADDR_MAX];
	const char *err = NULL;

	test_begin("srs expiry");
	test_assert(srs_forward(k, "user@orig.example", "fwd.example", now,
	    fwd, sizeof(fwd), &err) == 0);
	test_assert(srs_reverse(k, fwd, now + 21 * DAY, 21, back,
	    sizeof(back), &err) == 0);
	test_assert(srs_reverse(k, fwd, now + 22 * DAY, 21, back,
	    sizeof(back), &err) == -1);
	test_assert_streq(err, "expired SRS address");
	/* Made tomorrow (a timestamp in the future): refused. */
	test_assert(srs_reverse(k, fwd, now - DAY, 21, back, sizeof(back),
	    &err) == -1);
	test_assert_streq(err, "expired SRS address");
	/* The day number wraps at 1024 days. */
	test_assert(srs_forward(k, "u@o.example", "f.example",
	    (time_t)1023 * DAY, fwd, sizeof(fwd), &err) == 0);
	test_assert(srs_reverse(k, fwd, (time_t)1025 * DAY, 21, back,
	    sizeof(back), &err) == 0);
	srs_keys_free(&k);
	test_end();
}

static void
test_srs_rotation(void)
{
	struct srs_keys *old = keys("the old secret 0123456", NULL);
	struct srs_keys *k = keys("the new secret 0123456",
	    "the old secret 0123456");
	char a[SRS_ADDR_MAX], b[SRS_ADDR_MAX], back[SRS_ADDR_MAX];
	const char *err = NULL;

	test_begin("srs rotation");
	test_assert(srs_forward(old, "u@o.example", "f.example", now, a,
	    sizeof(a), &err) == 0);
	test_assert(srs_forward(k, "u@o.example", "f.example", now, b,
	    sizeof(b), &err) == 0);
	test_assert(strcmp(a, b) != 0 || strcasecmp(a, b) == 0);
	test_assert(srs_reverse(k, a, now, 21, back, sizeof(back),
	    &err) == 0);
	test_assert_streq(back, "u@o.example");
	test_assert(srs_reverse(k, b, now, 21, back, sizeof(back),
	    &err) == 0);
	/* The old secret alone does not accept the new one's address
	 * (unless the 24-bit hashes collide, which these do not). */
	test_assert(srs_reverse(old, b, now, 21, back, sizeof(back),
	    &err) == -1);
	srs_keys_free(&old);
	srs_keys_free(&k);
	test_end();
}

static void
test_srs_one(void)
{
	struct srs_keys *k = keys("0123456789abcdef0123", NULL);
	struct srs_keys *k2 = keys("a third forwarder secret", NULL);
	char in[SRS_ADDR_MAX], fwd[SRS_ADDR_MAX], back[SRS_ADDR_MAX];
	char third[SRS_ADDR_MAX];
	const char *err = NULL;

	test_begin("srs1");
	/* Another forwarder's SRS0 address becomes SRS1 pointing at it. */
	str_lcpy(in, "SRS0=abcd=RA=orig.example=user@first.example",
	    sizeof(in));
	test_assert(srs_forward(k, in, "fwd.example", now, fwd, sizeof(fwd),
	    &err) == 0);
	test_assert(strncmp(fwd, "SRS1=", 5) == 0);
	test_assert(strstr(fwd, "=first.example==abcd=RA=orig.example="
	    "user@fwd.example") != NULL);
	test_assert(srs_reverse(k, fwd, now, 21, back, sizeof(back),
	    &err) == 0);
	test_assert_streq(back, in);
	/* An SRS1 forwarded again keeps the first forwarder. */
	test_assert(srs_forward(k2, fwd, "third.example", now, third,
	    sizeof(third), &err) == 0);
	test_assert(strstr(third, "=first.example==abcd=RA=orig.example="
	    "user@third.example") != NULL);
	test_assert(srs_reverse(k2, third, now, 21, back, sizeof(back),
	    &err) == 0);
	test_assert_streq(back, in);
	/* Tampered SRS1. */
	memcpy(strstr(third, "first"), "evilx", 5);
	test_assert(srs_reverse(k2, third, now, 21, back, sizeof(back),
	    &err) == -1);
	test_assert_streq(err, "bad SRS hash");
	srs_keys_free(&k);
	srs_keys_free(&k2);
	test_end();
}

static void
test_srs_limits(void)
{
	struct srs_keys *k = keys("0123456789abcdef0123", NULL);
	char fwd[SRS_ADDR_MAX], back[SRS_ADDR_MAX], in[400];
	const char *err = NULL;
	static const char *const malformed[] = {
		"SRS0=@fwd.example", "SRS0=abcd@fwd.example",
		"SRS0=abcd=RA@fwd.example", "SRS0=abcd=RA=@fwd.example",
		"SRS0=abcd=RA=orig.example=@fwd.example",
		"SRS0=abcd=R=orig.example=u@fwd.example",
		"SRS0=abcd=R1=orig.example=u@fwd.example",
		"SRS0=abcd=RA==u@fwd.example", "SRS1=abcd@fwd.example",
		"SRS1=abcd=host@fwd.example", "SRS1=abcd=host=@fwd.example",
		"SRS1=abcd=host=xyz@fwd.example", "SRS0=abcd=RA=o=u",
		"SRSX=abcd=RA=o=u@f", "@fwd.example", "",
	};

	test_begin("srs limits");
	/* 64 octets of local part at most: SRS0=HHHH=TT=o.example= is
	 * 23, so a 41-octet local part fits exactly. */
	snprintf(in, sizeof(in), "%s@o.example",
	    "12345678901234567890123456789012345678901");
	test_assert(srs_forward(k, in, "fwd.example", now, fwd, sizeof(fwd),
	    &err) == 0);
	test_assert(strchr(fwd, '@') - fwd == 64);
	test_assert(srs_reverse(k, fwd, now, 21, back, sizeof(back),
	    &err) == 0);
	test_assert_streq(back, in);
	snprintf(in, sizeof(in), "%s@o.example",
	    "123456789012345678901234567890123456789012");
	test_assert(srs_forward(k, in, "fwd.example", now, fwd, sizeof(fwd),
	    &err) == -1);
	test_assert_streq(err, "the SRS local part would be over 64 octets");
	/* No domain, no local part, a long domain. */
	test_assert(srs_forward(k, "nodomain", "f.example", now, fwd,
	    sizeof(fwd), &err) == -1);
	test_assert(srs_forward(k, "@o.example", "f.example", now, fwd,
	    sizeof(fwd), &err) == -1);
	memset(in, 'a', 300);
	memcpy(in, "u@", 2);
	in[300] = '\0';
	test_assert(srs_forward(k, in, "f.example", now, fwd, sizeof(fwd),
	    &err) == -1);
	test_assert(srs_forward(k, "u@o.example", "f.example", now, fwd, 20,
	    &err) == -1);
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		test_assert_idx(srs_reverse(k, malformed[i], now, 21, back,
		    sizeof(back), &err) == -1, i);
	test_assert(!srs_is_srs("SRS0"));
	test_assert(!srs_is_srs("srs2=x"));
	test_assert(srs_is_srs("srs0+x"));
	test_assert(srs_is_srs("Srs1-x"));
	srs_keys_free(&k);
	test_end();
}

static void
test_srs_keys(void)
{
	char dir[] = "/tmp/ferry-test-srs-XXXXXX", path[300], path2[300];
	struct srs_keys *k, *k2;
	char a[SRS_ADDR_MAX], b[SRS_ADDR_MAX];
	const char *err = NULL, *v[1] = { "short" };
	struct stat st;
	FILE *f;

	test_begin("srs keys");
	test_assert(srs_keys_new(v, 1) == NULL);
	test_assert(srs_keys_new(v, 0) == NULL);
	test_assert(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/srs.secret", dir);
	test_assert(srs_keys_load(path, false, &err) == NULL);
	k = srs_keys_load(path, true, &err);
	test_assert(k != NULL);
	test_assert(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	/* Loading again reads the same secret. */
	k2 = srs_keys_load(path, true, &err);
	test_assert(k2 != NULL);
	test_assert(srs_forward(k, "u@o.example", "f.example", now, a,
	    sizeof(a), &err) == 0);
	test_assert(srs_forward(k2, "u@o.example", "f.example", now, b,
	    sizeof(b), &err) == 0);
	test_assert_streq(a, b);
	srs_keys_free(&k);
	srs_keys_free(&k2);
	/* Comments, blank lines; a short secret is refused. */
	snprintf(path2, sizeof(path2), "%s/other", dir);
	f = fopen(path2, "w");
	fputs("# rotated 2026-12-05\n\nnew-secret-0123456789\r\n"
	    "old-secret-0123456789\n", f);
	fclose(f);
	k = srs_keys_load(path2, false, &err);
	test_assert(k != NULL);
	srs_keys_free(&k);
	f = fopen(path2, "w");
	fputs("tooshort\n", f);
	fclose(f);
	test_assert(srs_keys_load(path2, false, &err) == NULL);
	f = fopen(path2, "w");
	fputs("# nothing\n", f);
	fclose(f);
	test_assert(srs_keys_load(path2, false, &err) == NULL);
	test_assert_streq(err, "no secret in the file");
	test_assert(fsio_remove_tree(dir) == 0);
	test_end();
}

int
main(void)
{
	test_srs_round_trip();
	test_srs_format();
	test_srs_tampered();
	test_srs_expiry();
	test_srs_rotation();
	test_srs_one();
	test_srs_limits();
	test_srs_keys();
	return test_exit();
}

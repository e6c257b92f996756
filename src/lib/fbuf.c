/* Growable byte buffer (VSTRING/sds in spirit): overflow-checked growth,
 * a hard per-buffer maximum for data that comes from peers, and a NUL kept
 * after the last byte so the contents can be handed to C string APIs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/log.h"
#include "lib/xalloc.h"

void
fbuf_init(struct fbuf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

void
fbuf_reserve(struct fbuf *b, size_t need)
{
	size_t want;

	if (need < b->cap)
		return;
	want = b->cap ? b->cap : 64;
	while (want <= need) {
		if (__builtin_mul_overflow(want, 2, &want))
			log_fatalx("fbuf size overflow");
	}
	b->data = xreallocarray(b->data, want, 1);
	b->cap = want;
	b->data[b->len] = '\0';	/* a fresh allocation keeps the rule */
}

int
fbuf_add_slow(struct fbuf *b, const void *p, size_t n)
{
	size_t need;

	if (__builtin_add_overflow(b->len, n, &need) ||
	    (b->max != 0 && need > b->max)) {
		errno = EMSGSIZE;
		return -1;
	}
	fbuf_reserve(b, need);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len = need;
	b->data[b->len] = '\0';
	return 0;
}

int
fbuf_vaddf(struct fbuf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	size_t need, room = b->cap > b->len ? b->cap - b->len : 0;

	/* Formatted straight into the spare room when it fits (one
	 * vsnprintf, not two); the NUL at data[len] is rewritten either
	 * way, so a result that does not fit changes nothing visible. */
	va_copy(ap2, ap);
	n = vsnprintf(room > 0 ? b->data + b->len : NULL, room, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		if (room > 0)
			b->data[b->len] = '\0';
		return -1;
	}
	if (__builtin_add_overflow(b->len, (size_t)n, &need) ||
	    (b->max != 0 && need > b->max)) {
		if (room > 0)
			b->data[b->len] = '\0';
		errno = EMSGSIZE;
		return -1;
	}
	if ((size_t)n >= room) {
		fbuf_reserve(b, need);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	}
	b->len = need;
	return 0;
}

/* The decimal digits of v, written backwards so that the last ends just
 * before end; returns where the first is. */
static char *
fbuf_digits(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return end;
}

int
fbuf_addu(struct fbuf *b, uint64_t v)
{
	char num[24], *p;
	size_t n = 1;

	/* Straight into the room when the buffer has it: a FETCH line
	 * holds two or three numbers, and a copy of a few bytes of
	 * unknown length is a call to memcpy. */
	for (uint64_t t = v; t >= 10; t /= 10)
		n++;
	if (b->data != NULL && n < b->cap - b->len &&
	    (b->max == 0 || n <= b->max - b->len)) {
		(void)fbuf_digits(b->data + b->len + n, v);
		b->len += n;
		b->data[b->len] = '\0';
		return 0;
	}
	p = fbuf_digits(num + sizeof(num), v);
	return fbuf_add(b, p, (size_t)(num + sizeof(num) - p));
}

int
fbuf_addf(struct fbuf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = fbuf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

void
fbuf_consume(struct fbuf *b, size_t n)
{
	if (n >= b->len) {
		fbuf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void
fbuf_reset(struct fbuf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
fbuf_release(struct fbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *
fbuf_steal(struct fbuf *b)
{
	char *p = b->data;

	if (p == NULL)
		p = xstrdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

const char *
fbuf_str(const struct fbuf *b)
{
	return b->data != NULL ? b->data : "";
}

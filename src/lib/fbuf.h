/* struct fbuf: a growable, binary-safe byte buffer that is always
 * NUL-terminated (data[len] == '\0' after every call).  `max` is the
 * protocol limit for peer-driven data: reaching it is a recoverable -1 with
 * errno EMSGSIZE; running out of memory is fatal.  Never keep a pointer to
 * `data` across a call that may grow the buffer. */
#ifndef FERRY_FBUF_H
#define FERRY_FBUF_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fbuf {
	char *data;
	size_t len, cap, max;
};

/* max = 0: no limit.  Allocates nothing until the first add. */
void fbuf_init(struct fbuf *b, size_t max);
/* fbuf_add when the buffer has to grow or a limit may be reached. */
int fbuf_add_slow(struct fbuf *b, const void *p, size_t n);

/* 0, or -1 with errno EMSGSIZE when len + n would exceed max (b unchanged).
 * Inline: the lines of a large answer (100,000 FETCH lines, each a few
 * adds) are mostly copies into room the buffer already has. */
static inline int
fbuf_add(struct fbuf *b, const void *p, size_t n)
{
	if (b->data != NULL && n < b->cap - b->len &&
	    (b->max == 0 || n <= b->max - b->len)) {
		if (n > 0)
			memcpy(b->data + b->len, p, n);
		b->len += n;
		b->data[b->len] = '\0';
		return 0;
	}
	return fbuf_add_slow(b, p, n);
}

static inline int
fbuf_adds(struct fbuf *b, const char *s)
{
	return fbuf_add(b, s, strlen(s));
}

static inline int
fbuf_addc(struct fbuf *b, char c)
{
	return fbuf_add(b, &c, 1);
}
int fbuf_addf(struct fbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int fbuf_vaddf(struct fbuf *b, const char *fmt, va_list ap);
/* The decimal digits of v (no vsnprintf: for lines written per message). */
int fbuf_addu(struct fbuf *b, uint64_t v);
/* Room for need bytes and the NUL: for a caller that writes into
 * data + len itself (then sets len and the NUL).  Does not check max. */
void fbuf_reserve(struct fbuf *b, size_t need);
/* Drop the first n bytes (n <= len). */
void fbuf_consume(struct fbuf *b, size_t n);
/* len = 0, keeps the allocation. */
void fbuf_reset(struct fbuf *b);
/* Frees the allocation; b may be reused after fbuf_init(). */
void fbuf_release(struct fbuf *b);
/* Hands the allocation to the caller (never NULL) and resets b. */
char *fbuf_steal(struct fbuf *b);
/* Always returns a NUL-terminated string, "" when empty. */
const char *fbuf_str(const struct fbuf *b);

#endif

/* libFuzzer target for the UID list parser (src/mailbox/uidlist.c).  The
 * first input octet picks:
 *  - even: the rest is a ferry-uidlist file.  It parses to 0 or -1 (and
 *    then an empty list); a parsed list has UIDs strictly ascending below
 *    next_uid, non-zero UIDVALIDITY and next_uid, and base names (no
 *    '/', ':', space or control octet, no leading dot).
 *  - odd: the rest is a message file, whose RFC 1939 size must be its
 *    length plus one for each LF that no CR precedes.
 * FUZZ_SOURCES: src/mailbox/uidlist.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mailbox/uidlist.h"

static void
fuzz_uidlist_file(const char *s, size_t len)
{
	struct uidlist ul;

	if (uidlist_parse(s, len, &ul) < 0) {
		if (ul.n != 0 || ul.v != NULL)
			abort();
		return;
	}
	if (ul.uidvalidity == 0 || ul.next_uid == 0)
		abort();
	for (size_t i = 0; i < ul.n; i++) {
		const char *nm = ul.v[i].name;

		if (ul.v[i].uid == 0 || ul.v[i].uid >= ul.next_uid ||
		    (i > 0 && ul.v[i].uid <= ul.v[i - 1].uid))
			abort();
		if (nm[0] == '\0' || nm[0] == '.' ||
		    uidlist_basename_len(nm) != strlen(nm) ||
		    strpbrk(nm, "/ \t\r\n") != NULL)
			abort();
	}
	uidlist_free(&ul);
}

static void
fuzz_uidlist_vsize(const char *s, size_t len)
{
	uint64_t want = len, got;
	int fd;

	for (size_t i = 0; i < len; i++)
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			want++;
	if ((fd = memfd_create("fuzz_uidlist", MFD_CLOEXEC)) < 0)
		return;
	if (write(fd, s, len) == (ssize_t)len && lseek(fd, 0, SEEK_SET) == 0) {
		if (uidlist_vsize_fd(fd, &got) < 0 || got != want)
			abort();
	}
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size == 0)
		return 0;
	/* an exact-size copy so that ASan sees any read past the end */
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	if ((data[0] & 1) == 0)
		fuzz_uidlist_file(s, size - 1);
	else
		fuzz_uidlist_vsize(s, size - 1);
	free(s);
	return 0;
}

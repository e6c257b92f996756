build-dev/obj/src/imap/imap_parser.o: src/imap/imap_parser.c \
 src/imap/imap_parser.h src/lib/fbuf.h src/lib/xalloc.h
src/imap/imap_parser.h:
src/lib/fbuf.h:
src/lib/xalloc.h:

build-dev/obj/src/imap/imap_search_args.o: src/imap/imap_search_args.c \
 src/imap/imap_args.h src/imap/imap_parser.h src/lib/fbuf.h \
 src/lib/strutil.h src/lib/xalloc.h
src/imap/imap_args.h:
src/imap/imap_parser.h:
src/lib/fbuf.h:
src/lib/strutil.h:
src/lib/xalloc.h:

build-dev/obj/src/imap/imap_rename.o: src/imap/imap_rename.c \
 src/imap/imap_private.h src/ferry.h src/conf/conf.h src/lib/cidr.h \
 src/imap/imap_args.h src/imap/imap_parser.h src/lib/fbuf.h src/lib/ids.h \
 src/net/listener.h src/net/conncount.h src/net/session_io.h \
 src/lib/xalloc.h src/mailbox/mbox.h
src/imap/imap_private.h:
src/ferry.h:
src/conf/conf.h:
src/lib/cidr.h:
src/imap/imap_args.h:
src/imap/imap_parser.h:
src/lib/fbuf.h:
src/lib/ids.h:
src/net/listener.h:
src/net/conncount.h:
src/net/session_io.h:
src/lib/xalloc.h:
src/mailbox/mbox.h:

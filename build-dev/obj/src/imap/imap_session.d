build-dev/obj/src/imap/imap_session.o: src/imap/imap_session.c \
 src/auth/ban.h src/imap/imap_private.h src/ferry.h src/conf/conf.h \
 src/lib/cidr.h src/imap/imap_args.h src/imap/imap_parser.h \
 src/lib/fbuf.h src/lib/ids.h src/net/listener.h src/net/conncount.h \
 src/net/session_io.h src/lib/log.h src/lib/strutil.h src/lib/xalloc.h \
 src/mailbox/mbox.h src/net/tls.h src/store/store.h
src/auth/ban.h:
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
src/lib/log.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/mailbox/mbox.h:
src/net/tls.h:
src/store/store.h:

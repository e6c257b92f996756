build-dev/obj/src/pop3/pop3_session.o: src/pop3/pop3_session.c \
 src/auth/ban.h src/lib/cidr.h src/lib/log.h src/lib/xalloc.h \
 src/net/session_io.h src/net/tls.h src/pop3/pop3_private.h src/ferry.h \
 src/conf/conf.h src/lib/fbuf.h src/lib/ids.h src/mailbox/uidlist.h \
 src/net/listener.h src/net/conncount.h src/pop3/pop3_parser.h \
 src/store/store.h
src/auth/ban.h:
src/lib/cidr.h:
src/lib/log.h:
src/lib/xalloc.h:
src/net/session_io.h:
src/net/tls.h:
src/pop3/pop3_private.h:
src/ferry.h:
src/conf/conf.h:
src/lib/fbuf.h:
src/lib/ids.h:
src/mailbox/uidlist.h:
src/net/listener.h:
src/net/conncount.h:
src/pop3/pop3_parser.h:
src/store/store.h:

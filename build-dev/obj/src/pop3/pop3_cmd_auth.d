build-dev/obj/src/pop3/pop3_cmd_auth.o: src/pop3/pop3_cmd_auth.c \
 src/auth/ban.h src/auth/login.h src/auth/sasl.h src/lib/cidr.h \
 src/lib/log.h src/lib/strutil.h src/lib/workpool.h src/lib/xalloc.h \
 src/mailbox/maildir.h src/pop3/pop3_private.h src/ferry.h \
 src/conf/conf.h src/lib/fbuf.h src/lib/ids.h src/mailbox/uidlist.h \
 src/net/listener.h src/net/conncount.h src/net/session_io.h \
 src/pop3/pop3_parser.h src/store/store.h
src/auth/ban.h:
src/auth/login.h:
src/auth/sasl.h:
src/lib/cidr.h:
src/lib/log.h:
src/lib/strutil.h:
src/lib/workpool.h:
src/lib/xalloc.h:
src/mailbox/maildir.h:
src/pop3/pop3_private.h:
src/ferry.h:
src/conf/conf.h:
src/lib/fbuf.h:
src/lib/ids.h:
src/mailbox/uidlist.h:
src/net/listener.h:
src/net/conncount.h:
src/net/session_io.h:
src/pop3/pop3_parser.h:
src/store/store.h:

build-dev/obj/src/pop3/pop3_cmd_mail.o: src/pop3/pop3_cmd_mail.c \
 src/lib/log.h src/lib/workpool.h src/lib/xalloc.h \
 src/mailbox/maildir_change.h src/pop3/pop3_private.h src/ferry.h \
 src/conf/conf.h src/lib/cidr.h src/lib/fbuf.h src/lib/ids.h \
 src/mailbox/uidlist.h src/net/listener.h src/net/conncount.h \
 src/net/session_io.h src/pop3/pop3_parser.h
src/lib/log.h:
src/lib/workpool.h:
src/lib/xalloc.h:
src/mailbox/maildir_change.h:
src/pop3/pop3_private.h:
src/ferry.h:
src/conf/conf.h:
src/lib/cidr.h:
src/lib/fbuf.h:
src/lib/ids.h:
src/mailbox/uidlist.h:
src/net/listener.h:
src/net/conncount.h:
src/net/session_io.h:
src/pop3/pop3_parser.h:

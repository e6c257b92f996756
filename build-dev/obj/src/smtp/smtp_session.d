build-dev/obj/src/smtp/smtp_session.o: src/smtp/smtp_session.c \
 src/auth/ban.h src/lib/cidr.h src/lib/log.h src/lib/xalloc.h \
 src/mailbox/maildir.h src/net/session_io.h src/policy/policy.h \
 src/lib/fbuf.h src/smtp/smtp_parser.h src/smtp/smtp_addr.h \
 src/smtp/smtp_policy.h src/smtp/smtpd_private.h src/ferry.h \
 src/conf/conf.h src/lib/ids.h src/net/listener.h src/net/conncount.h \
 src/smtp/smtp_data.h src/store/resolve.h src/store/store.h
src/auth/ban.h:
src/lib/cidr.h:
src/lib/log.h:
src/lib/xalloc.h:
src/mailbox/maildir.h:
src/net/session_io.h:
src/policy/policy.h:
src/lib/fbuf.h:
src/smtp/smtp_parser.h:
src/smtp/smtp_addr.h:
src/smtp/smtp_policy.h:
src/smtp/smtpd_private.h:
src/ferry.h:
src/conf/conf.h:
src/lib/ids.h:
src/net/listener.h:
src/net/conncount.h:
src/smtp/smtp_data.h:
src/store/resolve.h:
src/store/store.h:

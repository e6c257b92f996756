build-dev/obj/src/smtp/smtp_lookup.o: src/smtp/smtp_lookup.c \
 src/lib/log.h src/lib/strutil.h src/lib/xalloc.h src/mailbox/maildir.h \
 src/policy/policy.h src/lib/fbuf.h src/smtp/smtpd_private.h src/ferry.h \
 src/conf/conf.h src/lib/cidr.h src/lib/ids.h src/net/listener.h \
 src/net/conncount.h src/smtp/smtp_addr.h src/smtp/smtp_data.h \
 src/store/resolve.h src/store/store.h
src/lib/log.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/mailbox/maildir.h:
src/policy/policy.h:
src/lib/fbuf.h:
src/smtp/smtpd_private.h:
src/ferry.h:
src/conf/conf.h:
src/lib/cidr.h:
src/lib/ids.h:
src/net/listener.h:
src/net/conncount.h:
src/smtp/smtp_addr.h:
src/smtp/smtp_data.h:
src/store/resolve.h:
src/store/store.h:

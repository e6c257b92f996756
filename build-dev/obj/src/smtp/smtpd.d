build-dev/obj/src/smtp/smtpd.o: src/smtp/smtpd.c src/lib/log.h \
 src/lib/workpool.h src/lib/xalloc.h src/net/listener.h \
 src/net/conncount.h src/net/tls.h src/queue/spool.h src/lib/ids.h \
 src/smtp/smtp_policy.h src/smtp/smtpd.h src/smtp/smtpd_private.h \
 src/ferry.h src/conf/conf.h src/lib/cidr.h src/lib/fbuf.h \
 src/smtp/smtp_addr.h src/smtp/smtp_data.h src/store/resolve.h \
 src/store/store.h
src/lib/log.h:
src/lib/workpool.h:
src/lib/xalloc.h:
src/net/listener.h:
src/net/conncount.h:
src/net/tls.h:
src/queue/spool.h:
src/lib/ids.h:
src/smtp/smtp_policy.h:
src/smtp/smtpd.h:
src/smtp/smtpd_private.h:
src/ferry.h:
src/conf/conf.h:
src/lib/cidr.h:
src/lib/fbuf.h:
src/smtp/smtp_addr.h:
src/smtp/smtp_data.h:
src/store/resolve.h:
src/store/store.h:

build-dev/obj/src/smtp/smtp_tls.o: src/smtp/smtp_tls.c src/lib/cidr.h \
 src/lib/log.h src/lib/strutil.h src/net/tls.h src/smtp/smtpd_private.h \
 src/ferry.h src/conf/conf.h src/lib/fbuf.h src/lib/ids.h \
 src/net/listener.h src/net/conncount.h src/smtp/smtp_addr.h \
 src/smtp/smtp_data.h src/store/resolve.h
src/lib/cidr.h:
src/lib/log.h:
src/lib/strutil.h:
src/net/tls.h:
src/smtp/smtpd_private.h:
src/ferry.h:
src/conf/conf.h:
src/lib/fbuf.h:
src/lib/ids.h:
src/net/listener.h:
src/net/conncount.h:
src/smtp/smtp_addr.h:
src/smtp/smtp_data.h:
src/store/resolve.h:

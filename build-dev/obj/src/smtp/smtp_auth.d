build-dev/obj/src/smtp/smtp_auth.o: src/smtp/smtp_auth.c src/auth/ban.h \
 src/auth/login.h src/auth/sasl.h src/lib/cidr.h src/lib/log.h \
 src/lib/strutil.h src/lib/xalloc.h src/smtp/smtpd_private.h src/ferry.h \
 src/conf/conf.h src/lib/fbuf.h src/lib/ids.h src/net/listener.h \
 src/net/conncount.h src/smtp/smtp_addr.h src/smtp/smtp_data.h \
 src/store/resolve.h
src/auth/ban.h:
src/auth/login.h:
src/auth/sasl.h:
src/lib/cidr.h:
src/lib/log.h:
src/lib/strutil.h:
src/lib/xalloc.h:
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

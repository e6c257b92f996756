build-dev/obj/src/serve/smtpd_main.o: src/serve/smtpd_main.c \
 src/auth/authcache.h src/ferry.h src/conf/conf.h src/lib/cidr.h \
 src/lib/log.h src/lib/workpool.h src/net/rolectl.h src/serve/roles.h \
 src/smtp/smtpd.h src/store/store.h
src/auth/authcache.h:
src/ferry.h:
src/conf/conf.h:
src/lib/cidr.h:
src/lib/log.h:
src/lib/workpool.h:
src/net/rolectl.h:
src/serve/roles.h:
src/smtp/smtpd.h:
src/store/store.h:

build-dev/obj/src/auth/ban.o: src/auth/ban.c src/auth/ban.h \
 src/conf/conf.h src/lib/cidr.h src/lib/log.h src/lib/strutil.h \
 src/lib/xalloc.h src/store/store.h
src/auth/ban.h:
src/conf/conf.h:
src/lib/cidr.h:
src/lib/log.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/store/store.h:

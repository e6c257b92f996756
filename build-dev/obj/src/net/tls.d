build-dev/obj/src/net/tls.o: src/net/tls.c src/conf/conf.h src/lib/cidr.h \
 src/lib/log.h src/lib/strutil.h src/lib/xalloc.h src/net/tls.h
src/conf/conf.h:
src/lib/cidr.h:
src/lib/log.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/net/tls.h:

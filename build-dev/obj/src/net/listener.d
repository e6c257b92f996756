build-dev/obj/src/net/listener.o: src/net/listener.c src/ferry.h \
 src/conf/conf.h src/lib/cidr.h src/lib/log.h src/lib/xalloc.h \
 src/net/listener.h src/net/conncount.h src/net/tls.h
src/ferry.h:
src/conf/conf.h:
src/lib/cidr.h:
src/lib/log.h:
src/lib/xalloc.h:
src/net/listener.h:
src/net/conncount.h:
src/net/tls.h:

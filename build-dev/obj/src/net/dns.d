build-dev/obj/src/net/dns.o: src/net/dns.c src/conf/conf.h src/lib/cidr.h \
 src/lib/log.h src/lib/strutil.h src/lib/xalloc.h src/net/dns.h
src/conf/conf.h:
src/lib/cidr.h:
src/lib/log.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/net/dns.h:

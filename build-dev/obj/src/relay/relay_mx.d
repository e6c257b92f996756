build-dev/obj/src/relay/relay_mx.o: src/relay/relay_mx.c src/conf/conf.h \
 src/lib/cidr.h src/lib/ids.h src/lib/strutil.h src/lib/xalloc.h \
 src/net/dns.h src/relay/relay_private.h src/relay/relay.h
src/conf/conf.h:
src/lib/cidr.h:
src/lib/ids.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/net/dns.h:
src/relay/relay_private.h:
src/relay/relay.h:

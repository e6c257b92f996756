build-dev/obj/src/relay/relay_client.o: src/relay/relay_client.c \
 src/conf/conf.h src/lib/cidr.h src/lib/fbuf.h src/lib/fsio.h \
 src/lib/log.h src/lib/strutil.h src/lib/xalloc.h src/net/tls.h \
 src/relay/relay_private.h src/relay/relay.h src/lib/ids.h
src/conf/conf.h:
src/lib/cidr.h:
src/lib/fbuf.h:
src/lib/fsio.h:
src/lib/log.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/net/tls.h:
src/relay/relay_private.h:
src/relay/relay.h:
src/lib/ids.h:

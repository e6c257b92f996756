build-dev/obj/src/relay/relay_mem.o: src/relay/relay_mem.c \
 src/conf/conf.h src/lib/cidr.h src/lib/strutil.h src/lib/xalloc.h \
 src/relay/relay_private.h src/relay/relay.h src/lib/ids.h
src/conf/conf.h:
src/lib/cidr.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/relay/relay_private.h:
src/relay/relay.h:
src/lib/ids.h:

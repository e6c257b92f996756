build-dev/obj/src/serve/serve.o: src/serve/serve.c src/ferry.h \
 src/conf/conf.h src/lib/cidr.h src/lib/fsio.h src/lib/log.h \
 src/lib/privdrop.h src/lib/strutil.h src/lib/xalloc.h src/net/rolectl.h \
 src/net/tls.h src/queue/spool.h src/lib/ids.h src/serve/roles.h \
 src/serve/serve.h src/store/store.h
src/ferry.h:
src/conf/conf.h:
src/lib/cidr.h:
src/lib/fsio.h:
src/lib/log.h:
src/lib/privdrop.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/net/rolectl.h:
src/net/tls.h:
src/queue/spool.h:
src/lib/ids.h:
src/serve/roles.h:
src/serve/serve.h:
src/store/store.h:

build-dev/obj/src/net/conncount.o: src/net/conncount.c src/lib/log.h \
 src/lib/strutil.h src/lib/xalloc.h src/net/conncount.h
src/lib/log.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/net/conncount.h:

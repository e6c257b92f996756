build-dev/obj/src/conf/conf.o: src/conf/conf.c src/conf/conf.h \
 src/lib/cidr.h src/lib/fbuf.h src/lib/fsio.h src/lib/log.h \
 src/lib/strutil.h src/lib/xalloc.h
src/conf/conf.h:
src/lib/cidr.h:
src/lib/fbuf.h:
src/lib/fsio.h:
src/lib/log.h:
src/lib/strutil.h:
src/lib/xalloc.h:

build-dev/obj/src/net/control.o: src/net/control.c src/lib/log.h \
 src/lib/strutil.h src/lib/xalloc.h src/net/control.h src/lib/fbuf.h
src/lib/log.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/net/control.h:
src/lib/fbuf.h:

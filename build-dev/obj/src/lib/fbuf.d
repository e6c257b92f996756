build-dev/obj/src/lib/fbuf.o: src/lib/fbuf.c src/lib/fbuf.h src/lib/log.h \
 src/lib/xalloc.h
src/lib/fbuf.h:
src/lib/log.h:
src/lib/xalloc.h:

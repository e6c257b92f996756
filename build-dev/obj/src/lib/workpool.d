build-dev/obj/src/lib/workpool.o: src/lib/workpool.c src/lib/log.h \
 src/lib/workpool.h src/lib/xalloc.h
src/lib/log.h:
src/lib/workpool.h:
src/lib/xalloc.h:

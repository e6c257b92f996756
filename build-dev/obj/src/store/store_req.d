build-dev/obj/src/store/store_req.o: src/store/store_req.c src/lib/log.h \
 src/lib/workpool.h src/lib/xalloc.h src/store/store.h
src/lib/log.h:
src/lib/workpool.h:
src/lib/xalloc.h:
src/store/store.h:

build-dev/obj/src/ops/ops_queue.o: src/ops/ops_queue.c src/lib/strutil.h \
 src/lib/xalloc.h src/ops/ops_queue.h src/lib/fbuf.h src/lib/ids.h \
 src/ops/ops.h src/queue/spool.h src/store/resolve.h
src/lib/strutil.h:
src/lib/xalloc.h:
src/ops/ops_queue.h:
src/lib/fbuf.h:
src/lib/ids.h:
src/ops/ops.h:
src/queue/spool.h:
src/store/resolve.h:

build-dev/obj/src/queue/queue_control.o: src/queue/queue_control.c \
 src/lib/fbuf.h src/lib/log.h src/lib/strutil.h src/lib/workpool.h \
 src/lib/xalloc.h src/net/control.h src/ops/ops_queue.h src/lib/ids.h \
 src/ops/ops.h src/queue/spool.h src/queue/queue_control.h
src/lib/fbuf.h:
src/lib/log.h:
src/lib/strutil.h:
src/lib/workpool.h:
src/lib/xalloc.h:
src/net/control.h:
src/ops/ops_queue.h:
src/lib/ids.h:
src/ops/ops.h:
src/queue/spool.h:
src/queue/queue_control.h:

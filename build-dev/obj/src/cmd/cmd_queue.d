build-dev/obj/src/cmd/cmd_queue.o: src/cmd/cmd_queue.c src/cmd/cmd.h \
 src/conf/conf.h src/lib/cidr.h src/ferry.h src/conf/conf.h \
 src/lib/fbuf.h src/lib/json.h src/lib/privdrop.h src/net/control.h \
 src/ops/ops_queue.h src/lib/ids.h src/ops/ops.h src/queue/spool.h \
 src/queue/queue_control.h src/queue/queue_notify.h
src/cmd/cmd.h:
src/conf/conf.h:
src/lib/cidr.h:
src/ferry.h:
src/conf/conf.h:
src/lib/fbuf.h:
src/lib/json.h:
src/lib/privdrop.h:
src/net/control.h:
src/ops/ops_queue.h:
src/lib/ids.h:
src/ops/ops.h:
src/queue/spool.h:
src/queue/queue_control.h:
src/queue/queue_notify.h:

build-dev/obj/src/queue/queue_notify.o: src/queue/queue_notify.c \
 src/ferry.h src/conf/conf.h src/lib/cidr.h src/lib/strutil.h \
 src/queue/queue_notify.h src/lib/ids.h
src/ferry.h:
src/conf/conf.h:
src/lib/cidr.h:
src/lib/strutil.h:
src/queue/queue_notify.h:
src/lib/ids.h:

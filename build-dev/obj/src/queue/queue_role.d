build-dev/obj/src/queue/queue_role.o: src/queue/queue_role.c src/ferry.h \
 src/conf/conf.h src/lib/cidr.h src/lib/fbuf.h src/lib/log.h \
 src/lib/strutil.h src/lib/workpool.h src/lib/xalloc.h \
 src/mailbox/maildir.h src/net/dns.h src/queue/bounce.h src/lib/ids.h \
 src/queue/queue.h src/queue/queue_control.h src/queue/queue_notify.h \
 src/queue/queue_role.h src/queue/spool.h src/relay/relay.h \
 src/store/resolve.h src/store/store.h
src/ferry.h:
src/conf/conf.h:
src/lib/cidr.h:
src/lib/fbuf.h:
src/lib/log.h:
src/lib/strutil.h:
src/lib/workpool.h:
src/lib/xalloc.h:
src/mailbox/maildir.h:
src/net/dns.h:
src/queue/bounce.h:
src/lib/ids.h:
src/queue/queue.h:
src/queue/queue_control.h:
src/queue/queue_notify.h:
src/queue/queue_role.h:
src/queue/spool.h:
src/relay/relay.h:
src/store/resolve.h:
src/store/store.h:

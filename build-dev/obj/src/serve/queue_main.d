build-dev/obj/src/serve/queue_main.o: src/serve/queue_main.c src/ferry.h \
 src/conf/conf.h src/lib/cidr.h src/lib/log.h src/net/rolectl.h \
 src/queue/queue_role.h src/serve/roles.h
src/ferry.h:
src/conf/conf.h:
src/lib/cidr.h:
src/lib/log.h:
src/net/rolectl.h:
src/queue/queue_role.h:
src/serve/roles.h:

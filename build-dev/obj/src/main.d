build-dev/obj/src/main.o: src/main.c src/cmd/cmd.h src/conf/conf.h \
 src/lib/cidr.h src/lib/log.h
src/cmd/cmd.h:
src/conf/conf.h:
src/lib/cidr.h:
src/lib/log.h:

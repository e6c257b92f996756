build-dev/obj/src/cmd/cmd_serve.o: src/cmd/cmd_serve.c src/cmd/cmd.h \
 src/conf/conf.h src/lib/cidr.h src/ferry.h src/conf/conf.h \
 src/net/rolectl.h src/serve/serve.h
src/cmd/cmd.h:
src/conf/conf.h:
src/lib/cidr.h:
src/ferry.h:
src/conf/conf.h:
src/net/rolectl.h:
src/serve/serve.h:

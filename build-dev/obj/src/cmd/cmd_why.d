build-dev/obj/src/cmd/cmd_why.o: src/cmd/cmd_why.c src/cmd/cmd.h \
 src/conf/conf.h src/lib/cidr.h src/lib/fbuf.h src/lib/ids.h \
 src/lib/strutil.h src/lib/xalloc.h
src/cmd/cmd.h:
src/conf/conf.h:
src/lib/cidr.h:
src/lib/fbuf.h:
src/lib/ids.h:
src/lib/strutil.h:
src/lib/xalloc.h:

build-dev/obj/src/cmd/cmd_check.o: src/cmd/cmd_check.c src/cmd/cmd.h \
 src/conf/conf.h src/lib/cidr.h src/lib/strutil.h src/lib/xalloc.h \
 src/net/dns.h
src/cmd/cmd.h:
src/conf/conf.h:
src/lib/cidr.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/net/dns.h:

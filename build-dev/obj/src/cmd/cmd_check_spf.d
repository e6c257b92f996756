build-dev/obj/src/cmd/cmd_check_spf.o: src/cmd/cmd_check_spf.c \
 src/cmd/cmd.h src/conf/conf.h src/lib/cidr.h src/lib/fbuf.h \
 src/lib/strutil.h src/msgauth/spf.h src/net/dns.h
src/cmd/cmd.h:
src/conf/conf.h:
src/lib/cidr.h:
src/lib/fbuf.h:
src/lib/strutil.h:
src/msgauth/spf.h:
src/net/dns.h:

build-dev/obj/src/msgauth/spf.o: src/msgauth/spf.c src/lib/strutil.h \
 src/lib/xalloc.h src/msgauth/spf.h src/lib/fbuf.h src/net/dns.h
src/lib/strutil.h:
src/lib/xalloc.h:
src/msgauth/spf.h:
src/lib/fbuf.h:
src/net/dns.h:

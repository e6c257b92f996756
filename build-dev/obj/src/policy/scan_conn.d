build-dev/obj/src/policy/scan_conn.o: src/policy/scan_conn.c \
 src/lib/fbuf.h src/lib/strutil.h src/lib/xalloc.h src/net/dns.h \
 src/policy/scan_conn.h
src/lib/fbuf.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/net/dns.h:
src/policy/scan_conn.h:

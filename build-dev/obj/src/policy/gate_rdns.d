build-dev/obj/src/policy/gate_rdns.o: src/policy/gate_rdns.c \
 src/conf/conf.h src/lib/cidr.h src/lib/strutil.h src/lib/xalloc.h \
 src/net/dns.h src/policy/policy_private.h src/policy/policy.h \
 src/lib/fbuf.h
src/conf/conf.h:
src/lib/cidr.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/net/dns.h:
src/policy/policy_private.h:
src/policy/policy.h:
src/lib/fbuf.h:

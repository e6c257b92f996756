build-dev/obj/src/policy/gate_mfcheck.o: src/policy/gate_mfcheck.c \
 src/conf/conf.h src/lib/cidr.h src/lib/xalloc.h src/net/dns.h \
 src/policy/policy_private.h src/policy/policy.h src/lib/fbuf.h
src/conf/conf.h:
src/lib/cidr.h:
src/lib/xalloc.h:
src/net/dns.h:
src/policy/policy_private.h:
src/policy/policy.h:
src/lib/fbuf.h:

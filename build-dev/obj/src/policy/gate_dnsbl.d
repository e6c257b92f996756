build-dev/obj/src/policy/gate_dnsbl.o: src/policy/gate_dnsbl.c \
 src/conf/conf.h src/lib/cidr.h src/lib/fbuf.h src/lib/log.h \
 src/lib/strutil.h src/lib/xalloc.h src/net/dns.h \
 src/policy/policy_private.h src/policy/policy.h
src/conf/conf.h:
src/lib/cidr.h:
src/lib/fbuf.h:
src/lib/log.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/net/dns.h:
src/policy/policy_private.h:
src/policy/policy.h:

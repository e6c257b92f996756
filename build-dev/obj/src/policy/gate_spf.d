build-dev/obj/src/policy/gate_spf.o: src/policy/gate_spf.c \
 src/conf/conf.h src/lib/cidr.h src/lib/log.h src/lib/xalloc.h \
 src/msgauth/spf.h src/lib/fbuf.h src/policy/policy_private.h \
 src/policy/policy.h
src/conf/conf.h:
src/lib/cidr.h:
src/lib/log.h:
src/lib/xalloc.h:
src/msgauth/spf.h:
src/lib/fbuf.h:
src/policy/policy_private.h:
src/policy/policy.h:

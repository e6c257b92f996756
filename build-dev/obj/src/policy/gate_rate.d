build-dev/obj/src/policy/gate_rate.o: src/policy/gate_rate.c \
 src/conf/conf.h src/lib/cidr.h src/policy/policy_private.h \
 src/policy/policy.h src/lib/fbuf.h
src/conf/conf.h:
src/lib/cidr.h:
src/policy/policy_private.h:
src/policy/policy.h:
src/lib/fbuf.h:

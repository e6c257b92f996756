build-dev/obj/src/policy/gate_client.o: src/policy/gate_client.c \
 src/conf/conf.h src/lib/cidr.h src/policy/policy_private.h \
 src/policy/policy.h src/lib/fbuf.h
src/conf/conf.h:
src/lib/cidr.h:
src/policy/policy_private.h:
src/policy/policy.h:
src/lib/fbuf.h:

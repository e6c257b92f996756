build-dev/obj/src/policy/gate_helo.o: src/policy/gate_helo.c \
 src/conf/conf.h src/lib/cidr.h src/lib/strutil.h \
 src/policy/policy_private.h src/policy/policy.h src/lib/fbuf.h
src/conf/conf.h:
src/lib/cidr.h:
src/lib/strutil.h:
src/policy/policy_private.h:
src/policy/policy.h:
src/lib/fbuf.h:

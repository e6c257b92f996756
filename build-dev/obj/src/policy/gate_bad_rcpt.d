build-dev/obj/src/policy/gate_bad_rcpt.o: src/policy/gate_bad_rcpt.c \
 src/conf/conf.h src/lib/cidr.h src/policy/policy_private.h \
 src/policy/policy.h src/lib/fbuf.h
src/conf/conf.h:
src/lib/cidr.h:
src/policy/policy_private.h:
src/policy/policy.h:
src/lib/fbuf.h:

build-dev/obj/src/policy/gate_greylist.o: src/policy/gate_greylist.c \
 src/conf/conf.h src/lib/cidr.h src/lib/strutil.h src/lib/xalloc.h \
 src/policy/policy_private.h src/policy/policy.h src/lib/fbuf.h \
 src/store/store.h
src/conf/conf.h:
src/lib/cidr.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/policy/policy_private.h:
src/policy/policy.h:
src/lib/fbuf.h:
src/store/store.h:

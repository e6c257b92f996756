build-dev/obj/src/policy/policy.o: src/policy/policy.c src/conf/conf.h \
 src/lib/cidr.h src/lib/log.h src/lib/strutil.h src/lib/xalloc.h \
 src/policy/policy_private.h src/policy/policy.h src/lib/fbuf.h \
 src/store/store.h
src/conf/conf.h:
src/lib/cidr.h:
src/lib/log.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/policy/policy_private.h:
src/policy/policy.h:
src/lib/fbuf.h:
src/store/store.h:

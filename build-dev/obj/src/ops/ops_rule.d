build-dev/obj/src/ops/ops_rule.o: src/ops/ops_rule.c src/lib/cidr.h \
 src/lib/fbuf.h src/lib/strutil.h src/lib/xalloc.h src/ops/ops_rule.h \
 src/ops/ops_account.h src/ops/ops.h src/store/resolve.h \
 src/store/store.h src/policy/policy.h
src/lib/cidr.h:
src/lib/fbuf.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/ops/ops_rule.h:
src/ops/ops_account.h:
src/ops/ops.h:
src/store/resolve.h:
src/store/store.h:
src/policy/policy.h:

build-dev/obj/src/ops/ops_ban.o: src/ops/ops_ban.c src/conf/conf.h \
 src/lib/cidr.h src/lib/xalloc.h src/ops/ops_ban.h src/ops/ops_account.h \
 src/ops/ops.h src/store/resolve.h src/store/store.h
src/conf/conf.h:
src/lib/cidr.h:
src/lib/xalloc.h:
src/ops/ops_ban.h:
src/ops/ops_account.h:
src/ops/ops.h:
src/store/resolve.h:
src/store/store.h:

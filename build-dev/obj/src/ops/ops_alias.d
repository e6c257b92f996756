build-dev/obj/src/ops/ops_alias.o: src/ops/ops_alias.c src/lib/fbuf.h \
 src/lib/strutil.h src/lib/xalloc.h src/ops/ops_alias.h \
 src/ops/ops_account.h src/ops/ops.h src/store/resolve.h \
 src/store/store.h
src/lib/fbuf.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/ops/ops_alias.h:
src/ops/ops_account.h:
src/ops/ops.h:
src/store/resolve.h:
src/store/store.h:

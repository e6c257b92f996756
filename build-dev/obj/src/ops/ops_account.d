build-dev/obj/src/ops/ops_account.o: src/ops/ops_account.c \
 src/lib/strutil.h src/lib/xalloc.h src/ops/ops_account.h src/ops/ops.h \
 src/store/resolve.h src/store/store.h
src/lib/strutil.h:
src/lib/xalloc.h:
src/ops/ops_account.h:
src/ops/ops.h:
src/store/resolve.h:
src/store/store.h:

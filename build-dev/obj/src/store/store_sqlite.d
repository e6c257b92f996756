build-dev/obj/src/store/store_sqlite.o: src/store/store_sqlite.c \
 src/lib/strutil.h src/lib/xalloc.h src/store/store.h
src/lib/strutil.h:
src/lib/xalloc.h:
src/store/store.h:

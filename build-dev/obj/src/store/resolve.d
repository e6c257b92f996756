build-dev/obj/src/store/resolve.o: src/store/resolve.c src/lib/strutil.h \
 src/lib/xalloc.h src/smtp/smtp_addr.h src/store/resolve.h \
 src/store/store.h
src/lib/strutil.h:
src/lib/xalloc.h:
src/smtp/smtp_addr.h:
src/store/resolve.h:
src/store/store.h:

build-dev/obj/src/net/rolectl.o: src/net/rolectl.c src/lib/log.h \
 src/lib/strutil.h src/lib/xalloc.h src/net/rolectl.h
src/lib/log.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/net/rolectl.h:

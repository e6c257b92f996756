build-dev/obj/src/auth/authcache.o: src/auth/authcache.c \
 src/auth/authcache.h src/lib/strutil.h src/lib/xalloc.h
src/auth/authcache.h:
src/lib/strutil.h:
src/lib/xalloc.h:

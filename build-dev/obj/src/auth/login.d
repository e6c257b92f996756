build-dev/obj/src/auth/login.o: src/auth/login.c src/auth/authcache.h \
 src/auth/login.h src/auth/password.h src/conf/conf.h src/lib/cidr.h \
 src/lib/strutil.h src/lib/xalloc.h src/store/resolve.h src/store/store.h
src/auth/authcache.h:
src/auth/login.h:
src/auth/password.h:
src/conf/conf.h:
src/lib/cidr.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/store/resolve.h:
src/store/store.h:

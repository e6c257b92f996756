build-dev/obj/src/auth/password.o: src/auth/password.c \
 src/auth/password.h src/lib/strutil.h src/lib/xalloc.h
src/auth/password.h:
src/lib/strutil.h:
src/lib/xalloc.h:

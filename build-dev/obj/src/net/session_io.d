build-dev/obj/src/net/session_io.o: src/net/session_io.c src/lib/xalloc.h \
 src/net/session_io.h
src/lib/xalloc.h:
src/net/session_io.h:

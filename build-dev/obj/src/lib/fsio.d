build-dev/obj/src/lib/fsio.o: src/lib/fsio.c src/lib/fbuf.h \
 src/lib/fsio.h src/lib/strutil.h
src/lib/fbuf.h:
src/lib/fsio.h:
src/lib/strutil.h:

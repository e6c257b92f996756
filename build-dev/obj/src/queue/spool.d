build-dev/obj/src/queue/spool.o: src/queue/spool.c src/lib/fbuf.h \
 src/lib/fsio.h src/lib/ids.h src/lib/strutil.h src/lib/xalloc.h \
 src/mime/mime.h src/queue/spool.h
src/lib/fbuf.h:
src/lib/fsio.h:
src/lib/ids.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/mime/mime.h:
src/queue/spool.h:

build-dev/obj/src/queue/bounce.o: src/queue/bounce.c src/lib/fbuf.h \
 src/lib/ids.h src/lib/strutil.h src/lib/xalloc.h src/mime/mime.h \
 src/queue/bounce.h src/queue/spool.h
src/lib/fbuf.h:
src/lib/ids.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/mime/mime.h:
src/queue/bounce.h:
src/queue/spool.h:

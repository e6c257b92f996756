build-dev/obj/src/mime/mime_addr.o: src/mime/mime_addr.c src/lib/fbuf.h \
 src/lib/xalloc.h src/mime/mime.h src/mime/mime_private.h
src/lib/fbuf.h:
src/lib/xalloc.h:
src/mime/mime.h:
src/mime/mime_private.h:

build-dev/obj/src/mime/mime_header.o: src/mime/mime_header.c \
 src/lib/fbuf.h src/lib/xalloc.h src/mime/mime.h src/mime/mime_private.h
src/lib/fbuf.h:
src/lib/xalloc.h:
src/mime/mime.h:
src/mime/mime_private.h:

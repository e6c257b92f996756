build-dev/obj/src/mime/mime_param.o: src/mime/mime_param.c src/lib/fbuf.h \
 src/lib/strutil.h src/lib/xalloc.h src/mime/mime.h \
 src/mime/mime_private.h
src/lib/fbuf.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/mime/mime.h:
src/mime/mime_private.h:

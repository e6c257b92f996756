build-dev/obj/src/mime/mime_charset.o: src/mime/mime_charset.c \
 src/lib/fbuf.h src/lib/strutil.h src/mime/mime.h src/mime/mime_private.h
src/lib/fbuf.h:
src/lib/strutil.h:
src/mime/mime.h:
src/mime/mime_private.h:

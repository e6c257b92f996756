build-dev/obj/src/mime/mime_date.o: src/mime/mime_date.c src/mime/mime.h \
 src/mime/mime_private.h
src/mime/mime.h:
src/mime/mime_private.h:

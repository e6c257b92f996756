build-dev/obj/src/smtp/smtp_hdraddr.o: src/smtp/smtp_hdraddr.c \
 src/lib/fbuf.h src/mime/mime.h src/smtp/smtp_hdraddr.h
src/lib/fbuf.h:
src/mime/mime.h:
src/smtp/smtp_hdraddr.h:

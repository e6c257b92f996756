build-dev/obj/src/smtp/smtp_data.o: src/smtp/smtp_data.c src/lib/fbuf.h \
 src/smtp/smtp_data.h
src/lib/fbuf.h:
src/smtp/smtp_data.h:

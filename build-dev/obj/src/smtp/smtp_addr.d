build-dev/obj/src/smtp/smtp_addr.o: src/smtp/smtp_addr.c \
 src/smtp/smtp_addr.h
src/smtp/smtp_addr.h:

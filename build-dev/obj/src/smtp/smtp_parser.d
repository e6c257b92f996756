build-dev/obj/src/smtp/smtp_parser.o: src/smtp/smtp_parser.c \
 src/smtp/smtp_parser.h src/smtp/smtp_addr.h
src/smtp/smtp_parser.h:
src/smtp/smtp_addr.h:

build-dev/obj/src/pop3/pop3_parser.o: src/pop3/pop3_parser.c \
 src/lib/fbuf.h src/pop3/pop3_parser.h
src/lib/fbuf.h:
src/pop3/pop3_parser.h:

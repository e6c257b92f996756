build-dev/obj/src/imap/mutf7.o: src/imap/mutf7.c src/imap/mutf7.h \
 src/lib/fbuf.h
src/imap/mutf7.h:
src/lib/fbuf.h:

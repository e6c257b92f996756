build-dev/obj/src/mailbox/uidlist.o: src/mailbox/uidlist.c src/lib/fbuf.h \
 src/lib/fsio.h src/lib/ids.h src/lib/xalloc.h src/mailbox/uidlist.h
src/lib/fbuf.h:
src/lib/fsio.h:
src/lib/ids.h:
src/lib/xalloc.h:
src/mailbox/uidlist.h:

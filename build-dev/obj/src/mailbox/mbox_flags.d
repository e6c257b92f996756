build-dev/obj/src/mailbox/mbox_flags.o: src/mailbox/mbox_flags.c \
 src/lib/fbuf.h src/lib/fsio.h src/lib/log.h src/lib/xalloc.h \
 src/mailbox/mbox_private.h src/mailbox/mbox.h src/mailbox/uidlist.h
src/lib/fbuf.h:
src/lib/fsio.h:
src/lib/log.h:
src/lib/xalloc.h:
src/mailbox/mbox_private.h:
src/mailbox/mbox.h:
src/mailbox/uidlist.h:

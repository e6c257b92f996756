build-dev/obj/src/mailbox/mbox_watch.o: src/mailbox/mbox_watch.c \
 src/lib/fsio.h src/lib/log.h src/lib/xalloc.h src/mailbox/mbox_private.h \
 src/mailbox/mbox.h
src/lib/fsio.h:
src/lib/log.h:
src/lib/xalloc.h:
src/mailbox/mbox_private.h:
src/mailbox/mbox.h:

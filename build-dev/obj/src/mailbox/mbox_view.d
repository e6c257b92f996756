build-dev/obj/src/mailbox/mbox_view.o: src/mailbox/mbox_view.c \
 src/lib/fsio.h src/lib/log.h src/lib/xalloc.h src/mailbox/maildir.h \
 src/mailbox/mbox_private.h src/mailbox/mbox.h src/mailbox/uidlist.h
src/lib/fsio.h:
src/lib/log.h:
src/lib/xalloc.h:
src/mailbox/maildir.h:
src/mailbox/mbox_private.h:
src/mailbox/mbox.h:
src/mailbox/uidlist.h:

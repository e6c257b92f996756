build-dev/obj/src/mailbox/mbox_index.o: src/mailbox/mbox_index.c \
 src/lib/fsio.h src/lib/log.h src/lib/strutil.h src/lib/xalloc.h \
 src/mailbox/maildir_change.h src/mailbox/mbox_private.h \
 src/mailbox/mbox.h src/mailbox/uidlist.h
src/lib/fsio.h:
src/lib/log.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/mailbox/maildir_change.h:
src/mailbox/mbox_private.h:
src/mailbox/mbox.h:
src/mailbox/uidlist.h:

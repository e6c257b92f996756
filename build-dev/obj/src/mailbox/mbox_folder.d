build-dev/obj/src/mailbox/mbox_folder.o: src/mailbox/mbox_folder.c \
 src/lib/fbuf.h src/lib/fsio.h src/lib/ids.h src/lib/log.h \
 src/lib/strutil.h src/lib/xalloc.h src/mailbox/maildir.h \
 src/mailbox/mbox_private.h src/mailbox/mbox.h src/mailbox/uidlist.h
src/lib/fbuf.h:
src/lib/fsio.h:
src/lib/ids.h:
src/lib/log.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/mailbox/maildir.h:
src/mailbox/mbox_private.h:
src/mailbox/mbox.h:
src/mailbox/uidlist.h:

build-dev/obj/src/mailbox/maildir_change.o: src/mailbox/maildir_change.c \
 src/lib/fsio.h src/lib/log.h src/lib/xalloc.h \
 src/mailbox/maildir_change.h src/mailbox/uidlist.h
src/lib/fsio.h:
src/lib/log.h:
src/lib/xalloc.h:
src/mailbox/maildir_change.h:
src/mailbox/uidlist.h:

build-dev/obj/src/mailbox/mbox_files.o: src/mailbox/mbox_files.c \
 src/lib/fbuf.h src/lib/strutil.h src/lib/xalloc.h \
 src/mailbox/mbox_private.h src/mailbox/mbox.h
src/lib/fbuf.h:
src/lib/strutil.h:
src/lib/xalloc.h:
src/mailbox/mbox_private.h:
src/mailbox/mbox.h:

build-dev/obj/src/mailbox/mbox_name.o: src/mailbox/mbox_name.c \
 src/lib/fbuf.h src/lib/strutil.h src/mailbox/mbox_private.h \
 src/mailbox/mbox.h
src/lib/fbuf.h:
src/lib/strutil.h:
src/mailbox/mbox_private.h:
src/mailbox/mbox.h:

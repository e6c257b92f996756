build-dev/obj/src/mailbox/maildir.o: src/mailbox/maildir.c src/lib/fbuf.h \
 src/lib/fsio.h src/lib/ids.h src/lib/log.h src/lib/strutil.h \
 src/mailbox/maildir.h
src/lib/fbuf.h:
src/lib/fsio.h:
src/lib/ids.h:
src/lib/log.h:
src/lib/strutil.h:
src/mailbox/maildir.h:

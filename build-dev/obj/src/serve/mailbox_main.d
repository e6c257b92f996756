build-dev/obj/src/serve/mailbox_main.o: src/serve/mailbox_main.c \
 src/auth/authcache.h src/ferry.h src/conf/conf.h src/lib/cidr.h \
 src/imap/imapd.h src/lib/log.h src/lib/workpool.h src/net/rolectl.h \
 src/pop3/pop3d.h src/serve/roles.h src/store/store.h
src/auth/authcache.h:
src/ferry.h:
src/conf/conf.h:
src/lib/cidr.h:
src/imap/imapd.h:
src/lib/log.h:
src/lib/workpool.h:
src/net/rolectl.h:
src/pop3/pop3d.h:
src/serve/roles.h:
src/store/store.h:

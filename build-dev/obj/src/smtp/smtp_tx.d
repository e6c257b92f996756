build-dev/obj/src/smtp/smtp_tx.o: src/smtp/smtp_tx.c src/lib/log.h \
 src/lib/strutil.h src/lib/workpool.h src/lib/xalloc.h \
 src/mailbox/maildir.h src/mime/mime.h src/queue/queue_notify.h \
 src/lib/ids.h src/queue/spool.h src/store/store.h src/smtp/smtp_parser.h \
 src/smtp/smtp_addr.h src/policy/policy.h src/lib/fbuf.h \
 src/smtp/smtp_policy.h src/smtp/smtpd_private.h src/ferry.h \
 src/conf/conf.h src/lib/cidr.h src/net/listener.h src/net/conncount.h \
 src/smtp/smtp_data.h src/store/resolve.h
src/lib/log.h:
src/lib/strutil.h:
src/lib/workpool.h:
src/lib/xalloc.h:
src/mailbox/maildir.h:
src/mime/mime.h:
src/queue/queue_notify.h:
src/lib/ids.h:
src/queue/spool.h:
src/store/store.h:
src/smtp/smtp_parser.h:
src/smtp/smtp_addr.h:
src/policy/policy.h:
src/lib/fbuf.h:
src/smtp/smtp_policy.h:
src/smtp/smtpd_private.h:
src/ferry.h:
src/conf/conf.h:
src/lib/cidr.h:
src/net/listener.h:
src/net/conncount.h:
src/smtp/smtp_data.h:
src/store/resolve.h:

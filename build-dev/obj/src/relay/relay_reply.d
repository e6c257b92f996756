build-dev/obj/src/relay/relay_reply.o: src/relay/relay_reply.c \
 src/lib/strutil.h src/relay/relay_private.h src/relay/relay.h \
 src/lib/ids.h
src/lib/strutil.h:
src/relay/relay_private.h:
src/relay/relay.h:
src/lib/ids.h:

build-dev/obj/src/policy/policy_track.o: src/policy/policy_track.c \
 src/lib/strutil.h src/lib/xalloc.h src/policy/policy_private.h \
 src/policy/policy.h src/lib/fbuf.h
src/lib/strutil.h:
src/lib/xalloc.h:
src/policy/policy_private.h:
src/policy/policy.h:
src/lib/fbuf.h:

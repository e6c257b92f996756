build-dev/obj/src/policy/scan_gate.o: src/policy/scan_gate.c \
 src/conf/conf.h src/lib/cidr.h src/lib/log.h src/lib/xalloc.h \
 src/policy/policy_private.h src/policy/policy.h src/lib/fbuf.h \
 src/policy/scan_conn.h src/policy/scan_gate.h
src/conf/conf.h:
src/lib/cidr.h:
src/lib/log.h:
src/lib/xalloc.h:
src/policy/policy_private.h:
src/policy/policy.h:
src/lib/fbuf.h:
src/policy/scan_conn.h:
src/policy/scan_gate.h:

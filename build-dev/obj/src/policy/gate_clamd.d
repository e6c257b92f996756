build-dev/obj/src/policy/gate_clamd.o: src/policy/gate_clamd.c \
 src/conf/conf.h src/lib/cidr.h src/lib/log.h src/policy/policy_private.h \
 src/policy/policy.h src/lib/fbuf.h src/policy/scan_conn.h \
 src/policy/scan_gate.h
src/conf/conf.h:
src/lib/cidr.h:
src/lib/log.h:
src/policy/policy_private.h:
src/policy/policy.h:
src/lib/fbuf.h:
src/policy/scan_conn.h:
src/policy/scan_gate.h:

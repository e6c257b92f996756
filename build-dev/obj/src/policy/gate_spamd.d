build-dev/obj/src/policy/gate_spamd.o: src/policy/gate_spamd.c \
 src/conf/conf.h src/lib/cidr.h src/lib/fbuf.h src/lib/log.h \
 src/lib/strutil.h src/policy/policy_private.h src/policy/policy.h \
 src/policy/scan_conn.h src/policy/scan_gate.h
src/conf/conf.h:
src/lib/cidr.h:
src/lib/fbuf.h:
src/lib/log.h:
src/lib/strutil.h:
src/policy/policy_private.h:
src/policy/policy.h:
src/policy/scan_conn.h:
src/policy/scan_gate.h:

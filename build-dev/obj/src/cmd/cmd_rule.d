build-dev/obj/src/cmd/cmd_rule.o: src/cmd/cmd_rule.c src/cmd/cmd.h \
 src/conf/conf.h src/lib/cidr.h src/lib/fbuf.h src/lib/json.h \
 src/lib/strutil.h src/ops/ops_rule.h src/ops/ops_account.h src/ops/ops.h \
 src/store/resolve.h src/store/store.h
src/cmd/cmd.h:
src/conf/conf.h:
src/lib/cidr.h:
src/lib/fbuf.h:
src/lib/json.h:
src/lib/strutil.h:
src/ops/ops_rule.h:
src/ops/ops_account.h:
src/ops/ops.h:
src/store/resolve.h:
src/store/store.h:

build-dev/obj/src/cmd/cmd_alias.o: src/cmd/cmd_alias.c src/cmd/cmd.h \
 src/conf/conf.h src/lib/cidr.h src/lib/fbuf.h src/lib/json.h \
 src/ops/ops_alias.h src/ops/ops_account.h src/ops/ops.h \
 src/store/resolve.h src/store/store.h
src/cmd/cmd.h:
src/conf/conf.h:
src/lib/cidr.h:
src/lib/fbuf.h:
src/lib/json.h:
src/ops/ops_alias.h:
src/ops/ops_account.h:
src/ops/ops.h:
src/store/resolve.h:
src/store/store.h:

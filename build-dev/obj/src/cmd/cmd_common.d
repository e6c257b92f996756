build-dev/obj/src/cmd/cmd_common.o: src/cmd/cmd_common.c src/cmd/cmd.h \
 src/conf/conf.h src/lib/cidr.h src/ferry.h src/conf/conf.h \
 src/lib/fbuf.h src/lib/fsio.h src/lib/json.h src/lib/log.h \
 src/lib/privdrop.h src/lib/strutil.h src/ops/ops_account.h src/ops/ops.h \
 src/store/resolve.h src/store/store.h
src/cmd/cmd.h:
src/conf/conf.h:
src/lib/cidr.h:
src/ferry.h:
src/conf/conf.h:
src/lib/fbuf.h:
src/lib/fsio.h:
src/lib/json.h:
src/lib/log.h:
src/lib/privdrop.h:
src/lib/strutil.h:
src/ops/ops_account.h:
src/ops/ops.h:
src/store/resolve.h:
src/store/store.h:

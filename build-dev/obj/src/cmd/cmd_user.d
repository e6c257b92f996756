build-dev/obj/src/cmd/cmd_user.o: src/cmd/cmd_user.c src/auth/password.h \
 src/cmd/cmd.h src/conf/conf.h src/lib/cidr.h src/lib/fbuf.h \
 src/lib/json.h src/lib/strutil.h src/ops/ops_account.h src/ops/ops.h \
 src/store/resolve.h src/store/store.h
src/auth/password.h:
src/cmd/cmd.h:
src/conf/conf.h:
src/lib/cidr.h:
src/lib/fbuf.h:
src/lib/json.h:
src/lib/strutil.h:
src/ops/ops_account.h:
src/ops/ops.h:
src/store/resolve.h:
src/store/store.h:

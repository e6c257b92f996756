build-dev/obj/src/ops/ops.o: src/ops/ops.c src/ops/ops.h
src/ops/ops.h:

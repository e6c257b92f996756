build-dev/obj/src/lib/log.o: src/lib/log.c src/lib/fbuf.h src/lib/log.h
src/lib/fbuf.h:
src/lib/log.h:

build-dev/obj/src/lib/ids.o: src/lib/ids.c src/lib/ids.h src/lib/log.h
src/lib/ids.h:
src/lib/log.h:

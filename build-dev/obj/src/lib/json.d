build-dev/obj/src/lib/json.o: src/lib/json.c src/lib/fbuf.h \
 src/lib/json.h src/lib/log.h
src/lib/fbuf.h:
src/lib/json.h:
src/lib/log.h:

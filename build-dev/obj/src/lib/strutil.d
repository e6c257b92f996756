build-dev/obj/src/lib/strutil.o: src/lib/strutil.c src/lib/strutil.h
src/lib/strutil.h:

build-dev/obj/src/lib/cidr.o: src/lib/cidr.c src/lib/cidr.h \
 src/lib/strutil.h src/lib/xalloc.h
src/lib/cidr.h:
src/lib/strutil.h:
src/lib/xalloc.h:

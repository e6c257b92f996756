build-dev/obj/src/lib/privdrop.o: src/lib/privdrop.c src/lib/privdrop.h
src/lib/privdrop.h:

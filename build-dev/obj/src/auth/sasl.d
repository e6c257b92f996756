build-dev/obj/src/auth/sasl.o: src/auth/sasl.c src/auth/sasl.h
src/auth/sasl.h:

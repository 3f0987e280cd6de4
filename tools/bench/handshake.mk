# SPDX-License-Identifier: GPL-2.0
# Handshake benchmark program (not a test): build/bench/handshake.
#   make -f tools/bench/handshake.mk
# tools/bench/handshake.sh builds it and runs it on the host and in the VM.
TOP	:= $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/../..)
SRC	:= $(TOP)/tools/bench
OUT	:= $(TOP)/build/bench
LIBSRC	:= $(TOP)/userspace/lib
LIBA	:= $(TOP)/build/userspace/libplasmatic.a

CC	?= gcc
CFLAGS	?= -O2 -g
HS_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -I$(LIBSRC) -I$(LIBSRC)/tests \
	     -I$(TOP)/include/uapi
LDLIBS	:= $(LIBA) -lssl -lcrypto -lpthread

all: $(OUT)/handshake

$(LIBA): FORCE
	$(MAKE) -s -C $(LIBSRC)

$(OUT)/handshake: $(SRC)/handshake.c $(LIBSRC)/tests/pki.c $(LIBSRC)/tests/pki.h \
		  $(LIBSRC)/plasmatic.h $(LIBA)
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) $(HS_CFLAGS) -o $@ $(SRC)/handshake.c $(LIBSRC)/tests/pki.c $(LDLIBS)

clean:
	rm -f $(OUT)/handshake

.PHONY: all clean FORCE

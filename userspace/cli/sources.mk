# SPDX-License-Identifier: GPL-2.0
# The plasmatic command's sources (main.c holds main(); every other file
# builds into a program that calls plasmatic_run(), cli.h) and the
# libraries it links with.  Included by this directory's Makefile; a build
# elsewhere (a fuzzer) can include it too.
# shape.c includes bpf/pace.h and build/bpf/pace.skel.h, shape_qdisc.c
# build/bpf/tpl_qdisc.skel.h (make -C bpf).
CLI_SRCS	:= main.c opts.c config.c tunnel.c keygen.c connect.c listen.c \
		   inspect.c shape.c shape_qdisc.c sockets.c sockdiag.c check_config.c \
		   proxy.c relay.c tunreq.c netpolicy.c http.c serve.c serve_loop.c \
		   serve_file.c get.c
CLI_LDLIBS	:= -luring -linih -lssl -lcrypto -lpthread -lpcap -lm -lbpf -lelf -lz

# Plasmatic: top-level build.
#
#   make          build the module, the userspace library and programs, tests
#   make check    run every test (installs missing packages first when root)
#   make check-debug  the vm suite and lib pairings on the debug kernel (README)
#   make check-7x the vm suite on a 7.x kernel of Debian trixie-backports
#                 (makes its chroot the first time, as root; README)
#   make deb      Debian packages (debian/) in build/deb/, lintian checked
#   make fuzz     build the libFuzzer targets and seed corpora (build/fuzz)
#   make fuzz-long  10 million executions of each fuzz target (README)
#   make fuzz-kernel-long  the kernel's socket options fuzzed in the VM, long
#   make stress-long  64 connections x 8 MiB each way in the VM (stress_test)
#   make clean    leave the tree as cloned
#
# KVER selects the kernel to build the module for; it defaults to the one
# the installed linux-image-cloud-amd64 metapackage depends on (Debian 12:
# 6.1), which is also the one tools/vm boots, even when newer cloud kernels
# (6.12 for the compat build) are installed beside it.  Without the
# metapackage: the newest installed cloud kernel.
KVER ?= $(shell dpkg-query -W -f='$${Depends}' linux-image-cloud-amd64 2>/dev/null | \
	sed -n 's/^linux-image-\([^ ,]*-cloud-amd64\).*/\1/p' | grep . || \
	ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -V | tail -n 1)
KDIR ?= /lib/modules/$(KVER)/build

all: deps kmod userspace bpf selftests

deps:
	@tools/deps.sh

# The module's BTF (for the pacer's kfunc) is made by tools/kbtf.sh: the
# headers package has no vmlinux for kbuild to make it with.
KBTF = tools/kbtf.sh kmod/plasmatic.ko /boot/vmlinuz-$(KVER)

kmod: deps
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules
	$(KBTF)

# Static checks of the module: sparse and W=1, from a clean object tree.
# Only kmod/'s objects go: kbuild's clean would delete every *.o and *.a
# below M=, build/ included.
kmod-sparse: deps
	rm -f kmod/*.o kmod/*.ko kmod/.*.cmd
	$(MAKE) -C $(KDIR) M=$(CURDIR) C=1 W=1 modules
	$(KBTF)

userspace: deps
	$(MAKE) -C userspace/engine
	$(MAKE) -C userspace/tests
	$(MAKE) -C userspace/lib
	$(MAKE) -C userspace/cli
	$(MAKE) -C userspace/lib/tests bins

bpf: deps
	$(MAKE) -C bpf

selftests: deps userspace bpf
	$(MAKE) -C selftests

check: all
	tools/run-tests

# The module built for trixie-backports' newest 7.x cloud kernel in a
# chroot outside the tree (tools/trixie-chroot), and the vm suite booted on
# that kernel; the test binaries are this host's.  Not part of check.
check-7x: deps userspace bpf selftests
	tools/trixie-chroot
	tools/run-tests vm7x

# The vm suite and the lib pairings on the debug kernel (tools/debug-kernel:
# KASAN, lockdep, kmemleak, UBSAN; its first build takes about an hour).
check-debug: deps userspace bpf selftests
	$(MAKE) -C userspace/lib/tests bins
	tools/run-tests vmdebug

# Debian packages, built by dpkg-buildpackage from a copy of the tree's
# files known to git (as a clean clone has them) in build/deb/src; the
# .debs land in build/deb/.  lintian: each tag it still reports is
# explained in debian/*.lintian-overrides.
deb: deps
	rm -rf build/deb && mkdir -p build/deb/src/plasmatic
	git ls-files -z | cpio --null -pdm --quiet build/deb/src/plasmatic
	cd build/deb/src/plasmatic && nice -n 10 dpkg-buildpackage -b -us -uc -j2
	mv build/deb/src/*.deb build/deb/src/*.changes build/deb/src/*.buildinfo build/deb/
	rm -rf build/deb/src
	lintian --fail-on error,warning build/deb/*.changes

# libFuzzer targets: clang, ASan+UBSan (fuzz/Makefile).  The short runs are
# the fuzz suite of make check; fuzz-long is separate (about 90 minutes on
# a quiet host, far longer on a loaded one: README, "Fuzzing").
fuzz: deps
	$(MAKE) -C fuzz

fuzz-long: fuzz
	nice -n 15 fuzz/run.sh long

# The kernel RX under a mutating relay, long: MUTATE_ROUNDS rounds per
# change and variant (default 100: about 3000 streams).  On the debug
# kernel: PLASMATIC_KROOT=$$(tools/debug-kernel) and
# PLASMATIC_KO=$$(tools/debug-kernel --module) (README, "Hardening").
MUTATE_ROUNDS ?= 100
mutate-long: kmod selftests
	tools/vm --timeout 7200 -- "insmod $${PLASMATIC_KO:-kmod/plasmatic.ko} && \
		MUTATE_ROUNDS=$(MUTATE_ROUNDS) build/selftests/mutate_test"

# The kernel's socket options fuzzed in the VM (selftests/sockopt_fuzz_test.c)
# for long: SOCKOPT_FUZZ_ROUNDS rounds per socket state (default 500, about
# half an hour under TCG), SOCKOPT_FUZZ_SEED to repeat a seed.  The vm suite
# of make check runs 8.
SOCKOPT_FUZZ_ROUNDS ?= 500
fuzz-kernel-long: kmod selftests
	nice -n 15 tools/vm --timeout 14400 -- "insmod $${PLASMATIC_KO:-kmod/plasmatic.ko} && $(strip \
		SOCKOPT_FUZZ_ROUNDS=$(SOCKOPT_FUZZ_ROUNDS) \
		$(if $(SOCKOPT_FUZZ_SEED),SOCKOPT_FUZZ_SEED=$(SOCKOPT_FUZZ_SEED)) \
		build/selftests/sockopt_fuzz_test)"

# Stress in the VM (selftests/stress_test.c): STRESS_CONNS connections of
# STRESS_BYTES each way (the vm suite runs 64 x 256K).  On the debug
# kernel: PLASMATIC_KROOT and PLASMATIC_KO as for mutate-long.
STRESS_CONNS ?= 64
STRESS_BYTES ?= 8M
stress-long: kmod selftests
	nice -n 15 tools/vm --timeout 14400 -- "insmod $${PLASMATIC_KO:-kmod/plasmatic.ko} && \
		STRESS_CONNS=$(STRESS_CONNS) STRESS_BYTES=$(STRESS_BYTES) build/selftests/stress_test"

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf build

.PHONY: all deps kmod kmod-sparse userspace bpf selftests check check-7x check-debug mutate-long clean \
	fuzz fuzz-long fuzz-kernel-long stress-long deb

# iommufd for Linux 6.1 LTS: the rig.
#
#   make run     build the patched kernel, boot it on emulated VT-d, demo
#   make check   every test; last line "N passed, N failed"
#
# Everything else is for working on the series; `make help` lists it.

SHELL := /bin/bash
.DEFAULT_GOAL := help

ifdef BASE
export BASE
endif
MODE ?= scalable
CMD ?= /bin/sh -c 'cat /proc/cmdline; ls /sys/kernel/iommu_groups'
VARIANT ?= guest

.PHONY: help deps fetch prepare link refresh status config build build-debug \
	initramfs kunit static vm vm-tests vm-repeat qemu-test bench run check check-debug check-newest \
	bases series series-check clean distclean

help:
	@echo "make run              build, boot on emulated VT-d (MODE=$(MODE)), demo"
	@echo "make check            config audit, build, static checks, KUnit, VM tests"
	@echo "make check-debug      the VM tests on the debug kernel (KASAN, lockdep, kmemleak)"
	@echo "make check-newest     build and VM-test the series on BASE_NEWEST too (build/base-*)"
	@echo "make bases            which Debian linux-source-6.1 versions the series applies to"
	@echo "make deps             install what is missing (Debian + bookworm-backports)"
	@echo "make prepare          build/linux = base + patches/ + links to new files"
	@echo "make refresh          tree edits and commits -> patches/, new files -> repo"
	@echo "make status           what the tree holds that the repo does not (exit 1)"
	@echo "make build            incremental kernel build (VARIANT=guest|debug)"
	@echo "make kunit            KUnit suites (UML; VT-d's on x86_64)"
	@echo "make static           checkpatch --strict, W=1 and sparse on the series"
	@echo "make vm MODE=m CMD=c  boot and run a command (MODE=legacy|scalable|flts|nested|smmuv3)"
	@echo "make vm-tests MODE=m  the VM tests in one mode"
	@echo "make vm-repeat MODE=m N=20 TESTS=t  boot N times running tests t"
	@echo "make qemu-test        QEMU 10 as iommufd client in the VM (MODE=m: one mode)"
	@echo "make series           build/series: the git-am-able series, quilt series, config"
	@echo "make series-check     every patch of it applies, builds and passes checkpatch"
	@echo "make bench            iommufd vs VFIO type1 benchmark in the VM -> build/bench/"
	@echo "BASE=<version>        try another Debian linux-source-6.1 version"

deps:
	@rig/deps.sh

fetch: deps
	@rig/fetch.sh

prepare: deps
	@rig/prepare.sh

link:
	@rig/link.sh

refresh:
	@rig/refresh.sh

status:
	@rig/status.sh

config:
	@rig/config.sh $(VARIANT)

build: deps
	@rig/build.sh $(VARIANT)

build-debug: deps
	@rig/build.sh debug

initramfs:
	@rig/initramfs.sh

kunit: deps
	@rig/kunit.sh

static:
	@rig/static.sh

vm: build
	@rig/vm.sh --mode $(MODE) -- $(CMD)

vm-tests: build
	@rig/vm-tests.sh $(MODE)

N ?= 20
TESTS ?= vfio_cdev_group
vm-repeat: build
	@rig/vm-repeat.sh $(MODE) $(N) $(TESTS)

# every mode unless MODE is given
qemu-test: build
	@rig/qemu-test.sh $(if $(filter file,$(origin MODE)),,$(MODE))

# the benchmark (not a test): the bench kernel variant, legacy and scalable
# unless MODE is given; BENCH_ARGS e.g. "--reps 9 --mem 4096" (rig/bench.sh)
BENCH_ARGS ?=
bench: deps
	@rig/bench.sh $(if $(filter file,$(origin MODE)),,--modes $(MODE)) $(BENCH_ARGS)

run: deps
	@mkdir -p build/logs
	@echo "Building the patched kernel (log: build/logs/build-run.log) ..."
	@rig/build.sh guest >build/logs/build-run.log 2>&1 || \
		{ tail -n 30 build/logs/build-run.log; exit 1; }
	@set -o pipefail; rig/vm.sh --quiet-kernel --mode $(MODE) -- /rig/demo 2>&1 | \
		grep -v -e '^RIG-EXIT ' -e 'reboot: Power down' -e '^rig: installing uapi'

check: deps
	@rig/check.sh

check-debug: deps
	@rig/check-debug.sh

check-newest: deps
	@RESULTS=$(CURDIR)/build/results-newest.txt rig/check-newest.sh --summary

bases:
	@rig/bases.sh

series:
	@rig/series.sh

series-check: deps
	@rig/series-check.sh

clean:
	rm -rf build/obj build/kunit build/logs build/results*.txt build/initramfs* build/base-*/obj

distclean:
	@rig/status.sh --quiet || { echo "the tree holds uncaptured work: make refresh first"; exit 1; }
	rm -rf build

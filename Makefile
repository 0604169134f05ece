# husk: one Makefile for the binary, its tests and their dependencies.
#   make          bin/husk (optimised)
#   make deps     install the Debian packages the build and tests need
#   make test     build everything and run every test, also under ASan+UBSan

CC      ?= gcc
CFLAGS  := -std=gnu17 -Wall -Wextra -Werror -g -fno-omit-frame-pointer -MMD -MP -Ibuild/gen
OPT     := -O2
SAN     := -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDLIBS  := -ljansson -lseccomp -luv -llz4 -lxxhash -lrt
# The node's own libraries: only bin/husk-serve loads them.  Every
# sandbox's processes (sentry, gofer, gateway) are bin/husk, which
# stays without them: loading libmicrohttpd's, libarchive's and
# OpenSSL's dependency trees cost each ~1 MiB and ~5 ms.
NODE_LIBS := -lmicrohttpd -larchive -lcrypto

# kernel/vdso/ is guest code: built apart into build/vdso/vdso.so, which
# kernel/exec/vdso_image.S embeds.
SRCS := $(filter-out kernel/vdso/%,$(wildcard cmd/*.c platform/*.c platform/*/*.c kernel/*.c \
	kernel/*/*.c gofer/*.c netstack/*.c executor/*.c snapshot/*.c api/*.c))
ASMS := $(wildcard platform/*/*.S kernel/*/*.S)
LIB_SRCS := $(filter-out cmd/%,$(SRCS))

# The node (husk serve): its API, registry, deploys, pool and router.
NODE_SRCS := $(wildcard api/*.c) cmd/serve.c $(addprefix executor/,node.c registry.c deploy.c \
	pool.c router.c http.c code.c config.c logs.c metrics.c)
REL_OBJS := $(patsubst %,build/rel/%.o,$(SRCS) $(ASMS))
SAN_OBJS := $(patsubst %,build/san/%.o,$(SRCS) $(ASMS))
REL_LEAN := $(patsubst %,build/rel/%.o,$(filter-out $(NODE_SRCS),$(SRCS)) $(ASMS))
SAN_LEAN := $(patsubst %,build/san/%.o,$(filter-out $(NODE_SRCS),$(SRCS)) $(ASMS))
SAN_LIB  := $(patsubst %,build/san/%.o,$(LIB_SRCS) $(ASMS))

UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BIN  := build/san/unit-tests

GUEST_SRCS := $(wildcard tests/guest/*.c)
GUEST_NAMES := $(notdir $(GUEST_SRCS:.c=))
GUEST_FLAGS := -O1 -Wall -Wextra -Werror
GUEST_BINS := $(foreach v,glibc-static glibc-pie musl-static,$(addprefix build/guest/$(v)/,$(GUEST_NAMES)))

SPECIAL_SRCS := $(wildcard tests/special/*.c tests/hostile/*.c tests/e2e/*.c)
SPECIAL_BINS := $(patsubst %.c,build/special/%,$(notdir $(SPECIAL_SRCS)))

BENCH_SRCS := $(wildcard loadtest/guest/*.c)
BENCH_BINS := $(patsubst loadtest/guest/%.c,build/bench/%,$(BENCH_SRCS))

# Debian packages: the build, the unit tests, the guest corpus, and the
# programs the tests run.
DEPS := gcc make libc6-dev libjansson-dev libseccomp-dev libuv1-dev liblz4-dev libxxhash-dev \
	libmicrohttpd-dev libarchive-dev libssl-dev libcriterion-dev musl-tools busybox-static bc python3 nodejs

.PHONY: all deps test test-unit test-guest bench clean
all: bin/husk bin/husk-serve

# V=1 shows the commands.
ifeq ($(V),1)
Q :=
say = @:
else
Q := @
say = @echo "  $(1)"
endif

bin/husk: $(REL_LEAN)
	@mkdir -p $(@D)
	$(call say,LD    $@)
	$(Q)$(CC) $(OPT) -o $@ $^ $(LDLIBS)

# husk serve runs this, beside bin/husk.
bin/husk-serve: $(REL_OBJS)
	@mkdir -p $(@D)
	$(call say,LD    $@)
	$(Q)$(CC) $(OPT) -o $@ $^ $(LDLIBS) $(NODE_LIBS)

build/san/husk: $(SAN_LEAN)
	$(call say,LD    $@)
	$(Q)$(CC) $(SAN) -o $@ $^ $(LDLIBS)

build/san/husk-serve: $(SAN_OBJS)
	$(call say,LD    $@)
	$(Q)$(CC) $(SAN) -o $@ $^ $(LDLIBS) $(NODE_LIBS)

build/rel/%.c.o: %.c
	@mkdir -p $(@D)
	$(call say,CC    $<)
	$(Q)$(CC) $(CFLAGS) $(OPT) -c -o $@ $<

build/san/%.c.o: %.c
	@mkdir -p $(@D)
	$(call say,CC    $< (asan+ubsan))
	$(Q)$(CC) $(CFLAGS) $(SAN) -c -o $@ $<

# Every x86-64 syscall's name, from the kernel headers, for --strace and logs.
build/gen/syscall_names.h:
	@mkdir -p $(@D)
	$(call say,GEN   $@)
	$(Q)echo '#include <asm/unistd_64.h>' | $(CC) -E -dM - | \
		sed -n 's/^#define __NR_\([a-z0-9_]*\) \([0-9]*\)$$/[\2] = "\1",/p' > $@
build/rel/kernel/strace.c.o build/san/kernel/strace.c.o: build/gen/syscall_names.h

# The vDSO: position independent, no libc, no sanitizers, and no
# relocations (nothing relocates it in the guest).  Debug info stripped.
VDSO_FLAGS := -std=gnu17 -Wall -Wextra -Werror -O2 -fPIC -fno-stack-protector -fno-builtin \
	-fasynchronous-unwind-tables -nostdlib -shared -Wl,-T,kernel/vdso/vdso.lds \
	-Wl,--hash-style=both -Wl,-soname=linux-vdso.so.1 -Wl,--eh-frame-hdr -Wl,-Bsymbolic \
	-Wl,--no-undefined -Wl,-z,noexecstack -Wl,--build-id=none
build/vdso/vdso.so: kernel/vdso/vdso.c kernel/vdso/vvar.h kernel/vdso/vdso.lds
	@mkdir -p $(@D)
	$(call say,VDSO  $@)
	$(Q)$(CC) $(VDSO_FLAGS) -o $@.full $<
	$(Q)if readelf -r $@.full | grep -q '^Relocation section'; then \
		echo "$@: the vDSO must have no relocations"; exit 1; fi
	$(Q)objcopy -S $@.full $@
build/rel/kernel/exec/vdso_image.S.o build/san/kernel/exec/vdso_image.S.o: build/vdso/vdso.so

# Two rules: one pattern rule with two targets would build only one of them.
build/rel/%.S.o: %.S
	@mkdir -p $(@D)
	$(call say,AS    $<)
	$(Q)$(CC) -c -o $@ $<

build/san/%.S.o: %.S
	@mkdir -p $(@D)
	$(call say,AS    $<)
	$(Q)$(CC) -c -o $@ $<

# The unit tests start build/san/husk (as the gofer, for one).
$(UNIT_BIN): $(UNIT_SRCS) $(SAN_LIB) build/san/husk
	$(call say,LD    $@)
	$(Q)$(CC) $(CFLAGS) $(SAN) -o $@ $(UNIT_SRCS) $(SAN_LIB) -lcriterion $(LDLIBS) $(NODE_LIBS)

build/guest/glibc-static/%: tests/guest/%.c tests/guest/guest.h
	@mkdir -p $(@D)
	$(call say,GUEST $@)
	$(Q)$(CC) $(GUEST_FLAGS) -static -o $@ $<

build/guest/glibc-pie/%: tests/guest/%.c tests/guest/guest.h
	@mkdir -p $(@D)
	$(call say,GUEST $@)
	$(Q)$(CC) $(GUEST_FLAGS) -static-pie -fPIE -o $@ $<

build/guest/musl-static/%: tests/guest/%.c tests/guest/guest.h
	@mkdir -p $(@D)
	$(call say,GUEST $@)
	$(Q)musl-gcc $(GUEST_FLAGS) -static -o $@ $<

build/special/%: tests/hostile/%.c
	@mkdir -p $(@D)
	$(call say,GUEST $@)
	$(Q)$(CC) $(GUEST_FLAGS) -static -o $@ $<

build/special/%: tests/e2e/%.c
	@mkdir -p $(@D)
	$(call say,GUEST $@)
	$(Q)$(CC) $(GUEST_FLAGS) -static -o $@ $<

build/special/%: tests/special/%.c
	@mkdir -p $(@D)
	$(call say,GUEST $@)
	$(Q)$(CC) $(GUEST_FLAGS) -static -o $@ $<

build/bench/%: loadtest/guest/%.c
	@mkdir -p $(@D)
	$(call say,BENCH $@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -static -o $@ $<

deps:
	@missing=$$(for p in $(DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "deps: all installed"; fi

test: bin/husk bin/husk-serve build/san/husk build/san/husk-serve $(UNIT_BIN) $(GUEST_BINS) $(SPECIAL_BINS)
	@tests/run.sh

# The benchmark's host-side load client.
build/bench/httpload: loadtest/httpload.c
	@mkdir -p $(@D)
	$(call say,BENCH $@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

bench: bin/husk $(BENCH_BINS) build/bench/httpload build/special/ckpt_server
	@loadtest/bench.sh
	@/usr/bin/python3 loadtest/ckpt_bench.py

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)

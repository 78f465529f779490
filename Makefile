# libgpupager - build, test, run, install.
#
#   make            build the library, tools, simulator and tests' prerequisites
#   make run        the main job on an embedded default (see README.md)
#   make test       build and run the test suite (SAN=1: ASan+UBSan, TSAN=1: ThreadSanitizer)
#   make fuzz       run each fuzz target for FUZZ_SECONDS (clang + libFuzzer)
#   make install    PREFIX=/usr/local DESTDIR=
#   make deps       install missing Debian packages (root), or print the apt-get line
#
# O=DIR puts every build output under DIR (default build/, build-san/ with
# SAN=1, build-tsan/ with TSAN=1), so several builds can live side by side.
# Sources are found by wildcard: a new .c file in lib/ pager/ uring/ cuda/
# joins the library, tools/NAME/*.c makes build/bin/NAME, tests/test_*.c
# makes a test program.  Extra rules live in mk/*.mk.

CUDA_HOME ?= /usr/local/cuda
PREFIX ?= /usr/local
CC ?= gcc
FUZZ_SECONDS ?= 60

ifeq ($(SAN),1)
O ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(TSAN),1)
O ?= build-tsan
SANFLAGS := -fsanitize=thread
else
O ?= build
SANFLAGS :=
endif

BUILD := $(abspath $(O))
# V=1 shows full command lines.
ifeq ($(V),1)
Q :=
else
Q := @
endif
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers
# The library's internal include paths go to the library, the tests, the
# benchmarks and the fuzz targets.  The tools see only the public header
# (CPPFLAGS_TOOLS): a tool that includes pager.h does not build.
CPPFLAGS_ALL := -D_GNU_SOURCE -Iinclude -Ilib -Icuda -Ipager -Iuring -I$(CUDA_HOME)/include \
	-DGP_BUILD_DIR='"$(BUILD)"' -DGP_SOURCE_DIR='"$(CURDIR)"'
CPPFLAGS_TOOLS := -D_GNU_SOURCE -Iinclude $(if $(wildcard tools/common/*.h),-Itools/common)
CFLAGS_ALL := -std=gnu11 -O2 -g -fPIC -pthread $(WARN) $(SANFLAGS) $(CFLAGS)
LDFLAGS_ALL := -pthread $(SANFLAGS) $(LDFLAGS)
LIBS := -luring -lnuma -ljansson -ldl -lm

LIB_SRCS := $(sort $(wildcard lib/*.c pager/*.c uring/*.c cuda/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
TOOL_NAMES := $(sort $(patsubst tools/%/,%,$(dir $(wildcard tools/*/*.c))))
TOOL_BINS := $(TOOL_NAMES:%=$(BUILD)/bin/%)
TEST_COMMON_SRCS := $(wildcard tests/common/*.c)
TEST_COMMON_OBJS := $(TEST_COMMON_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)

STATIC_LIB := $(BUILD)/lib/libgpupager.a
SHARED_LIB := $(BUILD)/lib/libgpupager.so

.PHONY: all deps test run install clean fuzz tests
.DEFAULT_GOAL := all
# Keep objects that only feed a test program (make would delete them as intermediate).
.SECONDARY:

all: $(STATIC_LIB) $(SHARED_LIB) $(TOOL_BINS)

deps:
	@CUDA_HOME="$(CUDA_HOME)" sh scripts/deps.sh

# Every object needs the dependencies present; order-only so a check never forces a rebuild.
$(BUILD)/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CPPFLAGS) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# The shared library exports only GP_API symbols.
$(LIB_OBJS): CFLAGS_ALL += -fvisibility=hidden

$(STATIC_LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@
	@$(if $(Q),echo "  AR      $@")
	$(Q)ar rcs $@ $^

# Exported symbols carry the version node of libgpupager.map.
$(SHARED_LIB): $(LIB_OBJS) libgpupager.map
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libgpupager.so.0 -Wl,--no-undefined \
		-Wl,--version-script=libgpupager.map $(LDFLAGS_ALL) -o $@ $(LIB_OBJS) $(LIBS)

# The name the tools' loader looks for (the soname), beside the library as installed.
$(SHARED_LIB).0: $(SHARED_LIB)
	$(Q)ln -sf libgpupager.so $@

# tools/NAME/*.c -> build/bin/NAME: built like a user's program, on the public
# header only, linked against the shared library, found at run time beside the
# program ($$ORIGIN/../lib: build/lib here, PREFIX/lib once installed).
$(BUILD)/obj/tools/%.o: CPPFLAGS_ALL := $(CPPFLAGS_TOOLS)
TOOL_LIBS := -L$(BUILD)/lib -lgpupager -Wl,-rpath,'$$ORIGIN/../lib' -ljansson -lm
define tool_rule
$(BUILD)/bin/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/$(1)/*.c)) $(SHARED_LIB).0
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(LDFLAGS_ALL) -o $$@ $$(filter %.o,$$^) $$(TOOL_LIBS)
endef
$(foreach t,$(TOOL_NAMES),$(eval $(call tool_rule,$(t))))

# Each tests/test_NAME.c is one Criterion program.
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_COMMON_OBJS) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ -lcriterion $(LIBS)

# What the tests run besides themselves: tools, simulator, kernels (mk/*.mk add to it).
TEST_PREREQS := all

tests: $(TEST_BINS) $(TEST_PREREQS)

test: tests
	@BUILD="$(BUILD)" sh tests/run.sh $(TEST_BINS)
	@$(MAKE) --no-print-directory test-python

SAMPLE_DIR := $(BUILD)/sample/wan2.1-14b
SAMPLE_SCALE ?= 0.336

RUN_BUDGET ?= 40%
RUN_STEPS ?= 3
# A real GPU when the NVIDIA driver and a device are present, else the simulator.
RUN_DRIVER = $(shell test -e /dev/nvidiactl && ldconfig -p 2>/dev/null | grep -q 'libcuda.so.1 ' \
	&& echo libcuda.so.1 || echo $(BUILD)/lib/sim/libcuda.so.1)

run: all
	@test -f $(SAMPLE_DIR)/model.safetensors.index.json || \
		$(BUILD)/bin/gpupager mkmodel --arch wan2.1-14b --scale $(SAMPLE_SCALE) $(SAMPLE_DIR)
	GPUPAGER_CUDA_LIB=$${GPUPAGER_CUDA_LIB:-$(RUN_DRIVER)} $(BUILD)/bin/gpupager run \
		$(SAMPLE_DIR) --budget $(RUN_BUDGET) --steps $(RUN_STEPS) --verify

# PREFIX/lib/gpupager/ holds what the library loads at run time, found
# relative to the library itself: kernels/ (the checksum kernels) and sim/
# (the simulated device, for GPUPAGER_CUDA_LIB).
INSTALL_PKGLIB = $(DESTDIR)$(PREFIX)/lib/gpupager
install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin \
		$(INSTALL_PKGLIB)/kernels $(INSTALL_PKGLIB)/sim
	install -m 0644 include/gpupager.h $(DESTDIR)$(PREFIX)/include/
	install -m 0644 $(STATIC_LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(SHARED_LIB) $(DESTDIR)$(PREFIX)/lib/libgpupager.so.0
	ln -sf libgpupager.so.0 $(DESTDIR)$(PREFIX)/lib/libgpupager.so
	install -m 0755 $(SHIM_LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(TOOL_BINS) $(BENCH_BIN) $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 $(wildcard $(KERNELS_DIR)/*.so) $(INSTALL_PKGLIB)/kernels/
	$(if $(wildcard $(KERNELS_DIR)/*.fatbin),install -m 0644 $(wildcard $(KERNELS_DIR)/*.fatbin) \
		$(INSTALL_PKGLIB)/kernels/)
	install -m 0755 $(SIM_LIB) $(INSTALL_PKGLIB)/sim/libcuda.so.1
	ln -sf libcuda.so.1 $(INSTALL_PKGLIB)/sim/libcuda.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(shell sed -n 's/^#define GP_VERSION_STRING "\(.*\)"/\1/p' include/gpupager.h)|' \
		gpupager.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/gpupager.pc

clean:
	rm -rf build build-san build-tsan build-fuzz

-include $(wildcard mk/*.mk)
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

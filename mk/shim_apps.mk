# shim_apps.mk - the shim's test programs, tests/apps/: plain CUDA driver-API
# programs built as a user builds one (<cuda.h>, -lcuda, jansson; nothing of
# libgpupager), linked against the simulator's libcuda.so.1 without an rpath,
# so LD_LIBRARY_PATH decides which driver they get.  tests/test_shim_*.c and
# tests/python/test_shim_*.py run them with and without the shim.
#
#   make shim-stress    shim_threads and shim_devices under `gpupager exec`
#                       (with TSAN=1: all of it built with ThreadSanitizer,
#                       in build-tsan/)
#
# The literal simulator path: this file is read before sim.mk.

SHIM_APPS_DIR := $(BUILD)/tests/apps
SHIM_APP_NAMES := shim_cost shim_app shim_free shim_query shim_big_launch shim_fork shim_many shim_threads \
	shim_dlsym shim_devices \
	shim_graph
SHIM_APPS := $(SHIM_APP_NAMES:%=$(SHIM_APPS_DIR)/%)
SHIM_APP_KERNELS := $(SHIM_APPS_DIR)/shim_app_kernels.so
SHIM_APP_OBJS := $(patsubst %,$(BUILD)/obj/tests/apps/%.o,$(SHIM_APP_NAMES) shim_cuda)
SHIM_SIM_DIR := $(BUILD)/lib/sim
SHIM_PRELOAD := $(BUILD)/lib/libgpupager-preload.so

# The public CUDA header only, as in any user's program.
$(SHIM_APP_OBJS): CPPFLAGS_ALL := -D_GNU_SOURCE -I$(CUDA_HOME)/include

$(SHIM_APPS): $(SHIM_APPS_DIR)/%: $(BUILD)/obj/tests/apps/%.o $(BUILD)/obj/tests/apps/shim_cuda.o \
		$(SHIM_SIM_DIR)/libcuda.so.1 | $(SHIM_APP_KERNELS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(filter %.o,$^) -L$(SHIM_SIM_DIR) -lcuda -ljansson -ldl

$(SHIM_APP_KERNELS): tests/apps/shim_app_kernels.c tests/apps/shim_app_sum.h cuda/sim/sim_kernel.h \
		| deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) -D_GNU_SOURCE -Icuda/sim $(CFLAGS_ALL) -shared $(LDFLAGS_ALL) -o $@ $<

TEST_PREREQS += $(SHIM_APPS) $(SHIM_APP_KERNELS)
# gpupager bench shim runs shim_cost and shim_app under gpupager exec.
$(BENCH_BIN): | $(SHIM_APPS) $(SHIM_APP_KERNELS) $(SHIM_PRELOAD)

# The Criterion tests run the programs (apps/shim_run.c), gpupager mkmodel and gpupager exec.
SHIM_APP_TESTS := $(BUILD)/tests/test_bench_shim $(BUILD)/tests/test_shim_app $(BUILD)/tests/test_shim_faults \
	$(BUILD)/tests/test_shim_dlsym $(BUILD)/tests/test_shim_weights \
	$(BUILD)/tests/test_shim_devices \
	$(BUILD)/tests/test_shim_graph
$(SHIM_APP_TESTS): $(BUILD)/obj/tests/apps/shim_run.o
$(SHIM_APP_TESTS): | $(SHIM_APPS) $(SHIM_APP_KERNELS) $(BUILD)/bin/gpupager \
		$(SHIM_SIM_DIR)/libcuda.so.1

# Four threads, each on its own stream, allocating about 28 MiB under a budget
# of 16M (no headroom: the simulated device is small).
.PHONY: shim-stress
shim-stress: $(SHIM_APPS_DIR)/shim_threads $(SHIM_APPS_DIR)/shim_devices $(SHIM_APP_KERNELS) \
		$(SHIM_PRELOAD) $(BUILD)/bin/gpupager $(SIM_KERNELS)
	LD_LIBRARY_PATH=$(SHIM_SIM_DIR) GPUPAGER_CUDA_LIB=$(SHIM_SIM_DIR)/libcuda.so.1 \
		GPUPAGER_SIM_VRAM=64M GPUPAGER_VRAM_HEADROOM=0 GPUPAGER_HOST_BUDGET=256M \
		$(BUILD)/bin/gpupager exec --budget 16M --evict all --stats -- $(SHIM_APPS_DIR)/shim_threads
	@# Two simulated devices of 32M (too small for it without the shim), a thread each,
	@# each over its own 16M budget: one pager a device.
	LD_LIBRARY_PATH=$(SHIM_SIM_DIR) GPUPAGER_CUDA_LIB=$(SHIM_SIM_DIR)/libcuda.so.1 \
		GPUPAGER_SIM_DEVICES=2 GPUPAGER_SIM_VRAM=32M GPUPAGER_VRAM_HEADROOM=0 \
		GPUPAGER_HOST_BUDGET=128M \
		$(BUILD)/bin/gpupager exec --budget 16M --evict all --stats -- $(SHIM_APPS_DIR)/shim_devices

# sim.mk - the simulated CUDA device, $(BUILD)/lib/sim/libcuda.so.1, and the
# kernel module its tests load.  cuda/sim/ is not part of libgpupager.

SIM_SRCS := $(sort $(wildcard cuda/sim/*.c))
SIM_OBJS := $(SIM_SRCS:%.c=$(BUILD)/obj/%.o)
# Library code for the GPUPAGER_SIM_* variables and logging.
SIM_LIB_OBJS := $(addprefix $(BUILD)/obj/lib/,config.o error.o log.o parse.o ranges.o)
SIM_LIB := $(BUILD)/lib/sim/libcuda.so.1
SIM_MAP := cuda/sim/libcuda.map
SIM_TEST_KERNELS := $(BUILD)/tests/sim_test_kernels.so
SIM_TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_sim_*.c))

# -Bsymbolic-functions binds the simulator's references to its own functions
# at link time, as in a real driver: the addresses cuGetProcAddress hands out
# (and its internal calls) never go to a preloaded library's definitions.
$(SIM_LIB): $(SIM_OBJS) $(SIM_LIB_OBJS) $(SIM_MAP) mk/sim.mk
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libcuda.so.1 -Wl,--version-script=$(SIM_MAP) \
		-Wl,-Bsymbolic-functions -Wl,--no-undefined $(LDFLAGS_ALL) -o $@ \
		$(SIM_OBJS) $(SIM_LIB_OBJS) -ldl
	$(Q)ln -sf libcuda.so.1 $(dir $@)libcuda.so

# A "kernel module" for the simulator is a host shared object (sim_kernel.h).
$(SIM_TEST_KERNELS): $(wildcard tests/sim_kernels/*.c) cuda/sim/sim_kernel.h | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS_ALL) -Icuda/sim $(CFLAGS_ALL) -shared $(LDFLAGS_ALL) -o $@ \
		$(filter %.c,$^)

# The simulator's tests link it directly and load the kernel module at run time.
$(SIM_TEST_BINS): $(SIM_LIB) | $(SIM_TEST_KERNELS)
$(SIM_TEST_BINS): private LDFLAGS_ALL += -Wl,-rpath,$(BUILD)/lib/sim

all: $(SIM_LIB)
TEST_PREREQS += $(SIM_LIB) $(SIM_TEST_KERNELS)

# Several threads against the simulator at once: the check to run under
# TSAN=1, where Criterion programs cannot start.
SIM_STRESS := $(BUILD)/tests/sim_stress
$(SIM_STRESS): $(BUILD)/obj/tests/sim_stress.o $(BUILD)/obj/lib/checksum.o $(SIM_LIB) \
		| $(SIM_TEST_KERNELS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -Wl,-rpath,$(BUILD)/lib/sim -o $@ $^

.PHONY: sim-stress
sim-stress: $(SIM_STRESS)
	$(SIM_STRESS)

TEST_PREREQS += $(SIM_STRESS)

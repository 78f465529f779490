# fault_sweep.mk - the fault sweep (`make fault-sweep`, `make fault-sweep SAN=1`):
# `gpupager run --verify` and a test program with the Nth allocation, driver
# call and read failing, for N = 1, 2, ... (tests/fault/sweep.sh).
FAILALLOC := $(BUILD)/tests/libfailalloc.so

# Built without the sanitizers: under SAN=1 it forwards to ASan's allocator.
$(FAILALLOC): tests/fault/failalloc.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) -std=gnu11 -O2 -g -fPIC -shared $(WARN) -o $@ $< -ldl

TEST_PREREQS += $(FAILALLOC)

# FAULT_SWEEP_POINTS: failure points per function or kind (dense from 1,
# then spread to the last call); FAULT_SWEEP_JOBS: runs at once.
FAULT_SWEEP_POINTS ?= 6
FAULT_SWEEP_JOBS ?= 3

.PHONY: fault-sweep
fault-sweep: all $(FAILALLOC)
	@BUILD="$(BUILD)" SAN="$(SAN)" POINTS="$(FAULT_SWEEP_POINTS)" JOBS="$(FAULT_SWEEP_JOBS)" \
		bash tests/fault/sweep.sh

# The pager part of test_file_change runs on the simulator (sim.mk and cuda.mk name these).
$(BUILD)/tests/test_file_change: | $(BUILD)/lib/sim/libcuda.so.1 $(SIM_KERNELS)

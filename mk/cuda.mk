# mk/cuda.mk - the test kernels, and the CUDA tests against a real driver.
#
#   make                  also builds build/lib/kernels/gpupager-kernels-sim.so, and
#                         build/lib/kernels/gpupager-kernels.fatbin when nvcc is found
#   make test-real-cuda   runs the tests/test_cuda_* programs on libcuda.so.1 (a GPU)
#                         instead of the simulator

KERNELS_DIR := $(BUILD)/lib/kernels
SIM_KERNELS := $(KERNELS_DIR)/gpupager-kernels-sim.so
CUDA_KERNELS := $(KERNELS_DIR)/gpupager-kernels.fatbin
NVCC ?= $(CUDA_HOME)/bin/nvcc
NVCC_FOUND := $(shell command -v $(NVCC) 2>/dev/null)
# Ampere, Hopper and Blackwell code, plus Hopper PTX that newer GPUs compile at load time.
NVCC_ARCHS := -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
	-gencode arch=compute_100,code=sm_100 -gencode arch=compute_90,code=compute_90

# The driver-layer tests and the engine's (they use the simulator only through GPUPAGER_CUDA_LIB).
CUDA_TEST_BINS := $(filter $(BUILD)/tests/test_cuda_% $(BUILD)/tests/test_pager \
	$(BUILD)/tests/test_pager_threads,$(TEST_BINS))

.PHONY: test-real-cuda

all: $(SIM_KERNELS) $(if $(NVCC_FOUND),$(CUDA_KERNELS))

# The simulator's kernels run the library's host references themselves.
$(SIM_KERNELS): cuda/kernels/gp_kernels_host.c $(BUILD)/obj/lib/checksum.o \
		$(BUILD)/obj/cuda/pattern.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(CPPFLAGS_ALL) -Icuda/sim $(CPPFLAGS) $(CFLAGS_ALL) -shared \
		$(LDFLAGS_ALL) -o $@ $^

$(CUDA_KERNELS): cuda/kernels/gp_kernels.cu
	@command -v $(NVCC) >/dev/null || \
		{ echo "nvcc not found: set NVCC=/path/to/nvcc or CUDA_HOME" >&2; exit 1; }
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  NVCC    $@")
	$(Q)$(NVCC) -fatbin $(NVCC_ARCHS) -Werror all-warnings -o $@ $<

test-real-cuda: $(CUDA_TEST_BINS) $(CUDA_KERNELS) all
	@GPUPAGER_CUDA_LIB=libcuda.so.1 GPUPAGER_KERNELS="$(KERNELS_DIR)" BUILD="$(BUILD)" \
		sh tests/run.sh $(CUDA_TEST_BINS)

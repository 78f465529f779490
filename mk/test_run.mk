# mk/test_run.mk - test_run runs the gpupager binary on the simulator (read after sim.mk).
$(BUILD)/tests/test_run: | $(BUILD)/bin/gpupager $(SIM_LIB) $(SIM_KERNELS)

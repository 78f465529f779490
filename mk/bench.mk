# mk/bench.mk - test_bench_io runs the gpupager binary: building the test builds the tool.
$(BUILD)/tests/test_bench_io: | $(BUILD)/bin/gpupager

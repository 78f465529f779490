# mk/inspect.mk - test_inspect runs the gpupager binary: building the test builds the tool.
$(BUILD)/tests/test_inspect: | $(BUILD)/bin/gpupager

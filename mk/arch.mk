# mk/arch.mk - test_mkmodel runs the gpupager binary: building the test builds the tool.
$(BUILD)/tests/test_mkmodel: | $(BUILD)/bin/gpupager

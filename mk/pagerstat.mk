# mk/pagerstat.mk - test_pagerstat runs the pagerstat binary: building the test builds the tool.
$(BUILD)/tests/test_pagerstat: | $(BUILD)/bin/pagerstat

# mk/policy.mk - test_policy runs `gpupager bench policy` (gpupager execs gpupager-bench).
$(BUILD)/tests/test_policy: | $(BUILD)/bin/gpupager $(BUILD)/bin/gpupager-bench

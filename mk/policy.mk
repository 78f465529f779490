# mk/policy.mk - test_policy drives the policies through the policy benchmark's
# simulator (linked in) and runs `gpupager bench policy`.
$(BUILD)/tests/test_policy: $(BUILD)/obj/tools/gpupager/bench_policy_sim.o | $(BUILD)/bin/gpupager

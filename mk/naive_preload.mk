# naive_preload.mk - a preload that only defines cuMemAlloc_v2, and a client
# that binds through cuGetProcAddress_v2: test_sim_bsymbolic shows that the
# simulator, like a real driver, hands out its own addresses.
NAIVE_PRELOAD := $(BUILD)/tests/naive_preload/libnaive.so
NAIVE_CLIENT := $(BUILD)/tests/naive_preload/client

# Built without the sanitizers, so it may come first in the preload order.
$(NAIVE_PRELOAD): tests/naive_preload/naive.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS_ALL) -std=gnu11 -O2 -g -fPIC -shared $(WARN) -o $@ $< -ldl

# With the sanitizers under SAN=1: it loads the (sanitized) simulator.
$(NAIVE_CLIENT): $(BUILD)/obj/tests/naive_preload/client.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ -ldl

$(BUILD)/tests/test_sim_bsymbolic: | $(NAIVE_PRELOAD) $(NAIVE_CLIENT)
TEST_PREREQS += $(NAIVE_PRELOAD) $(NAIVE_CLIENT)

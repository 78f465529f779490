# fuzz.mk - libFuzzer targets on the parsers (tests/fuzz/fuzz_*.c), built with clang.
#
#   make fuzz                    build every target and run each for FUZZ_SECONDS
#   make fuzz FUZZ_SECONDS=600   run longer
#   make fuzz-build              build only: $(BUILD)/fuzz/bin/fuzz_*
#
# The library sources are compiled again with coverage, ASan and UBSan into
# an archive under $(BUILD)/fuzz, so a target links only the objects it
# reaches.  Each run starts from a copy of the committed seeds
# (tests/fuzz/corpus/<target>/) in $(BUILD)/fuzz/corpus/<target>/, uses the
# dictionary tests/fuzz/<target>.dict when there is one, and writes crash
# files to $(BUILD)/fuzz/, never into the source tree.

FUZZ_CC ?= clang
FUZZ_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link \
	$(FUZZ_SANITIZE) $(WARN)
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_LIB := $(FUZZ_DIR)/libgpupager-fuzz.a
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_TARGETS := $(sort $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/bin/%)

.PHONY: fuzz-build

$(FUZZ_DIR)/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(CPPFLAGS_ALL) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	$(Q)rm -f $@
	@$(if $(Q),echo "  AR      $@")
	$(Q)ar rcs $@ $^

$(FUZZ_BINS): $(FUZZ_DIR)/bin/%: $(FUZZ_DIR)/obj/tests/fuzz/%.o $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SANITIZE) -o $@ $^ $(LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	$(Q)for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_DIR)/corpus/$$t && \
		cp tests/fuzz/corpus/$$t/* $(FUZZ_DIR)/corpus/$$t/ || exit 1; \
		echo "  FUZZ    $$t for $(FUZZ_SECONDS) s"; \
		dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
		$(FUZZ_DIR)/bin/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_DIR)/ $$dict \
			$(FUZZ_DIR)/corpus/$$t || exit 1; \
	done

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)

# test_model_open opens a model written by `gpupager mkmodel`.
$(BUILD)/tests/test_model_open: | $(BUILD)/bin/gpupager

# mk/bench.mk - bench/*.c -> $(BUILD)/bin/gpupager-bench, the developer benchmarks.
# Tests may use internals, tools may not: the benchmarks measure internals
# (the reader, the host view, the policies), so like the tests they are built
# with the internal include paths and linked against the static library, and
# `gpupager bench ...` execs this program from gpupager's own directory.
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BUILD)/bin/gpupager-bench

$(BENCH_BIN): $(BENCH_SRCS:%.c=$(BUILD)/obj/%.o) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

all: $(BENCH_BIN)

# test_bench_io runs `gpupager bench`: building the test builds both programs.
$(BUILD)/tests/test_bench_io: | $(BUILD)/bin/gpupager $(BENCH_BIN)
# test_bench_shim runs `gpupager bench shim`, which runs the shim's test programs.
$(BUILD)/tests/test_bench_shim: | $(BUILD)/bin/gpupager $(BENCH_BIN)

# shim.mk - libgpupager-preload.so, the LD_PRELOAD shim (shim/): the engine's
# objects and the shim's wrappers in one library that exports only the
# wrapped cu* entry points, dlsym and dlvsym (shim/libgpupager-preload.map).
# Built in every build directory (SAN=1, TSAN=1 too) as part of `make`.

SHIM_SRCS := $(sort $(wildcard shim/*.c))
SHIM_OBJS := $(SHIM_SRCS:%.c=$(BUILD)/obj/%.o)
SHIM_LIB := $(BUILD)/lib/libgpupager-preload.so
SHIM_MAP := shim/libgpupager-preload.map

$(SHIM_OBJS): CPPFLAGS_ALL += -Ishim
$(SHIM_OBJS): CFLAGS_ALL += -fvisibility=hidden

$(SHIM_LIB): $(SHIM_OBJS) $(LIB_OBJS) $(SHIM_MAP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libgpupager-preload.so -Wl,--no-undefined \
		-Wl,--version-script=$(SHIM_MAP) $(LDFLAGS_ALL) -o $@ $(SHIM_OBJS) $(LIB_OBJS) $(LIBS)

all: $(SHIM_LIB)

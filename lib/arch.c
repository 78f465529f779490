/* arch.c - the list of architectures and gp_arch_tensors(), the entry point to their tables. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arch_build.h"
#include "error.h"

static const char *const arch_names[] = {
	"wan2.1-14b", "flux-dev", "sdxl-unet", "llama3-8b", NULL,
};

/* The table of arch_names[i]. */
static void (*const arch_tables[])(struct gp_arch_builder *b) = {
	gp_arch_wan21_14b, gp_arch_flux_dev, gp_arch_sdxl_unet, gp_arch_llama3_8b,
};

_Static_assert(sizeof(arch_names) / sizeof(arch_names[0]) ==
		       sizeof(arch_tables) / sizeof(arch_tables[0]) + 1,
	       "one table per architecture name");

const char *const *gp_arch_names(void)
{
	return arch_names;
}

static int unknown_arch(const char *arch)
{
	char known[256] = "";

	for (size_t i = 0; arch_names[i]; i++) {
		strncat(known, i ? ", " : "", sizeof(known) - strlen(known) - 1);
		strncat(known, arch_names[i], sizeof(known) - strlen(known) - 1);
	}
	return gp_fail(GP_ENOENT, "unknown architecture '%s' (known: %s)", arch, known);
}

int gp_arch_tensors(const char *arch, double scale, struct gp_arch_tensor **out, size_t *count)
{
	struct gp_arch_builder b = { .scale = scale };
	size_t i;

	if (!arch || !out || !count)
		return gp_fail(GP_EINVAL, "gp_arch_tensors: NULL argument");
	for (i = 0; arch_names[i] && strcmp(arch_names[i], arch); i++)
		;
	if (!arch_names[i])
		return unknown_arch(arch);
	if (!isfinite(scale) || scale <= 0.0 || scale > 1.0)
		return gp_fail(GP_EINVAL,
			       "%s: scale %g is out of range (0 < scale <= 1; 1 is the real model)",
			       arch, scale);
	arch_tables[i](&b);
	if (b.err) {
		free(b.tensors);
		return b.err;
	}
	*out = b.tensors;
	*count = b.count;
	return 0;
}

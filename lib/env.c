/* env.c - the public view of config.c's GPUPAGER_* table, for `gpupager env` and programs. */
#include <stdlib.h>

#include "abi.h"
#include "config.h"
#include "error.h"

GP_API size_t gp_env_count(void)
{
	size_t n = 0;

	while (gp_config_doc(n))
		n++;
	return n;
}

GP_API int gp_env_describe(size_t i, struct gp_env_var *var)
{
	struct gp_env_var full = { .struct_size = sizeof(full) };
	const struct gp_env_doc *d = gp_config_doc(i);

	if (!var)
		return gp_fail(GP_EINVAL, "gp_env_describe: var is NULL");
	if (!d)
		return gp_fail(GP_ENOENT, "gp_env_describe: no variable %zu (there are %zu)", i,
			       gp_env_count());
	full.name = d->name;
	full.accepted = d->accepted;
	full.default_value = d->default_text;
	full.help = d->help;
	full.value = getenv(d->name);
	return gp_abi_out(var, &full, sizeof(full), GP_ABI_V1(struct gp_env_var, value),
			  "gp_env_describe");
}

GP_API int gp_env_check(void)
{
	struct gp_config cfg;

	return gp_config_parse(&cfg);
}

/*
 * test_grouping.c - gp_model_group() on real architectures' tensor names
 * (from gp_arch_tensors, in memory) and on edge cases: forward order, one
 * group per tensor, file order inside groups, the override pattern.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/desc_fixture.h"
#include "model.h"

/* -------------------------------------------------------------- helpers */

static const struct gp_group *group_at(const struct gp_model_desc *desc, size_t pos)
{
	cr_assert_lt(pos, desc->n_groups, "%s: only %u groups, expected more", desc->source,
		     desc->n_groups);
	return &desc->groups[pos];
}

/* Every tensor in exactly one group, listed in file order, named under its group. */
static void check_partition(const struct gp_model_desc *desc)
{
	uint32_t *seen = calloc(desc->n_tensors + 1, sizeof(*seen));
	uint32_t listed = 0;

	cr_assert(seen);
	for (uint32_t g = 0; g < desc->n_groups; g++) {
		const struct gp_group *grp = &desc->groups[g];
		size_t len = strlen(grp->name);
		uint64_t bytes = 0;

		cr_assert_gt(grp->n_tensors, 0, "group %s is empty", grp->name);
		for (uint32_t i = 0; i < grp->n_tensors; i++) {
			const struct gp_st_tensor *t = &desc->tensors[grp->tensors[i]];

			cr_assert(i == 0 || grp->tensors[i] > grp->tensors[i - 1],
				  "group %s: tensors not in file order", grp->name);
			cr_assert_eq(t->group, g, "%s: group %u, listed in %u", t->name, t->group, g);
			cr_assert(!strncmp(t->name, grp->name, len) &&
					  (t->name[len] == '.' || t->name[len] == '\0'),
				  "%s grouped in %s", t->name, grp->name);
			seen[grp->tensors[i]]++;
			bytes += t->nbytes;
		}
		cr_assert_eq(bytes, grp->nbytes, "group %s: nbytes %llu, tensors sum to %llu",
			     grp->name, (unsigned long long)grp->nbytes, (unsigned long long)bytes);
		listed += grp->n_tensors;
	}
	for (uint32_t t = 0; t < desc->n_tensors; t++)
		cr_assert_eq(seen[t], 1, "%s is in %u groups", desc->tensors[t].name, seen[t]);
	cr_assert_eq(listed, desc->n_tensors);
	free(seen);
}

/* The next groups are exactly names (NULL-terminated), in any order. */
static void expect_any_order(const struct gp_model_desc *desc, size_t *pos,
			     const char *const *names)
{
	size_t n = 0;

	while (names[n])
		n++;
	for (size_t i = 0; i < n; i++) {
		const struct gp_group *grp = group_at(desc, *pos + i);
		size_t k = 0;

		while (k < n && strcmp(names[k], grp->name))
			k++;
		cr_assert_lt(k, n, "group %zu is %s, expected one of %s...", *pos + i, grp->name,
			     names[0]);
		cr_assert_eq(grp->block_index, -1, "%s has a block index", grp->name);
	}
	*pos += n;
}

/* The next groups are exactly names (NULL-terminated), in this order. */
static void expect_in_order(const struct gp_model_desc *desc, size_t *pos,
			    const char *const *names)
{
	for (; *names; names++, (*pos)++)
		cr_assert_str_eq(group_at(desc, *pos)->name, *names, "group %zu is %s, expected %s",
				 *pos, group_at(desc, *pos)->name, *names);
}

/* The next count groups are family.0 .. family.(count-1) with their indices. */
static void expect_blocks(const struct gp_model_desc *desc, size_t *pos, const char *family,
			  int count)
{
	char name[128];

	for (int i = 0; i < count; i++, (*pos)++) {
		const struct gp_group *grp = group_at(desc, *pos);

		snprintf(name, sizeof(name), "%s.%d", family, i);
		cr_assert_str_eq(grp->name, name, "group %zu is %s, expected %s", *pos, grp->name,
				 name);
		cr_assert_eq(grp->block_index, i, "%s: block index %lld", name,
			     (long long)grp->block_index);
	}
}

static void expect_end(const struct gp_model_desc *desc, size_t pos)
{
	cr_assert_eq(desc->n_groups, pos, "%s: %u groups, expected %zu (extra: %s)", desc->source,
		     desc->n_groups, pos, pos < desc->n_groups ? desc->groups[pos].name : "-");
}

static struct gp_model_desc *grouped_arch(const char *arch)
{
	struct gp_model_desc *desc = gp_test_desc_arch(arch, 0.05);

	cr_assert_eq(gp_model_group(desc, NULL), 0, "%s: %s", arch, gp_last_error());
	check_partition(desc);
	return desc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct gp_st_tensor *)a)->name, ((const struct gp_st_tensor *)b)->name);
}

/* Names sorted as a safetensors writer stores them: "blocks.10" before "blocks.2". */
static struct gp_model_desc *grouped_arch_sorted(const char *arch)
{
	struct gp_model_desc *desc = gp_test_desc_arch(arch, 0.05);

	qsort(desc->tensors, desc->n_tensors, sizeof(*desc->tensors), by_name);
	cr_assert_eq(gp_model_group(desc, NULL), 0, "%s: %s", arch, gp_last_error());
	check_partition(desc);
	return desc;
}

static struct gp_model_desc *desc_of(const char *const *names)
{
	struct gp_model_desc *desc = gp_test_desc_new("names");

	for (; *names; names++)
		gp_test_desc_add(desc, *names, 64);
	return desc;
}

/* ------------------------------------------------------- architectures */

static void expect_wan(const struct gp_model_desc *desc)
{
	size_t pos = 0;

	expect_any_order(desc, &pos,
			 (const char *const[]){ "patch_embedding", "time_embedding",
						"time_projection", "text_embedding", NULL });
	expect_blocks(desc, &pos, "blocks", 40);
	expect_in_order(desc, &pos, (const char *const[]){ "head", NULL });
	expect_end(desc, pos);
}

static void expect_llama(const struct gp_model_desc *desc)
{
	size_t pos = 0;

	expect_in_order(desc, &pos, (const char *const[]){ "model.embed_tokens", NULL });
	expect_blocks(desc, &pos, "model.layers", 32);
	expect_in_order(desc, &pos, (const char *const[]){ "model.norm", "lm_head", NULL });
	expect_end(desc, pos);
}

Test(grouping, wan_forward_order)
{
	struct gp_model_desc *desc = grouped_arch("wan2.1-14b");

	expect_wan(desc);
	gp_model_desc_free(desc);
}

Test(grouping, flux_double_then_single_blocks)
{
	struct gp_model_desc *desc = grouped_arch("flux-dev");
	size_t pos = 0;

	expect_any_order(desc, &pos,
			 (const char *const[]){ "img_in", "time_in", "guidance_in", "vector_in",
						"txt_in", NULL });
	expect_blocks(desc, &pos, "double_blocks", 19);
	expect_blocks(desc, &pos, "single_blocks", 38);
	expect_in_order(desc, &pos, (const char *const[]){ "final_layer", NULL });
	expect_end(desc, pos);
	gp_model_desc_free(desc);
}

Test(grouping, sdxl_down_mid_up)
{
	struct gp_model_desc *desc = grouped_arch("sdxl-unet");
	const struct gp_group *mid;
	size_t pos = 0;
	uint32_t mid_tensors = 0;

	expect_any_order(desc, &pos,
			 (const char *const[]){ "conv_in", "time_embedding", "add_embedding", NULL });
	expect_blocks(desc, &pos, "down_blocks", 3);
	mid = group_at(desc, pos);
	expect_in_order(desc, &pos, (const char *const[]){ "mid_block", NULL });
	expect_blocks(desc, &pos, "up_blocks", 3);
	expect_in_order(desc, &pos, (const char *const[]){ "conv_norm_out", "conv_out", NULL });
	expect_end(desc, pos);

	/* mid_block holds numbered transformer_blocks, yet stays one group. */
	cr_assert_eq(mid->block_index, -1);
	for (uint32_t t = 0; t < desc->n_tensors; t++)
		mid_tensors += !strncmp(desc->tensors[t].name, "mid_block.", 10);
	cr_assert_eq(mid->n_tensors, mid_tensors);
	cr_assert_gt(mid_tensors, 1);
	gp_model_desc_free(desc);
}

Test(grouping, llama_embed_layers_norm_head)
{
	struct gp_model_desc *desc = grouped_arch("llama3-8b");

	expect_llama(desc);
	gp_model_desc_free(desc);
}

/* Forward order comes from the names, not from the writer's alphabetical order. */
Test(grouping, order_independent_of_file_order)
{
	struct gp_model_desc *wan = grouped_arch_sorted("wan2.1-14b");
	struct gp_model_desc *llama = grouped_arch_sorted("llama3-8b");
	size_t pos;

	cr_assert_str_eq(wan->tensors[0].name, "blocks.0.cross_attn.k.bias",
			 "the sort under test did not happen");
	expect_wan(wan);
	/* Output-side groups keep file order: only embeddings and layers are checked here. */
	pos = 0;
	expect_in_order(llama, &pos, (const char *const[]){ "model.embed_tokens", NULL });
	expect_blocks(llama, &pos, "model.layers", 32);
	expect_any_order(llama, &pos, (const char *const[]){ "model.norm", "lm_head", NULL });
	expect_end(llama, pos);
	gp_model_desc_free(wan);
	gp_model_desc_free(llama);
}

/* ------------------------------------------------------------ edge names */

Test(grouping, edge_names)
{
	struct gp_model_desc *desc = desc_of((const char *const[]){
		"weight", "0.weight", "wte.weight", "h.0.attn.c_attn.weight", "h.1.mlp.c_fc.weight",
		"h.0.ln_1.weight", "ln_f.weight", NULL });
	size_t pos = 0;

	cr_assert_eq(gp_model_group(desc, NULL), 0, "%s", gp_last_error());
	check_partition(desc);
	/* "weight" and "0" name no known part: they run with the blocks, as first seen. */
	expect_in_order(desc, &pos,
			(const char *const[]){ "wte", "weight", "0", "h.0", "h.1", "ln_f", NULL });
	expect_end(desc, pos);
	cr_assert_eq(desc->groups[1].block_index, -1);
	cr_assert_eq(desc->groups[2].block_index, -1, "a numeric first component is not a block");
	cr_assert_eq(desc->groups[3].n_tensors, 2, "h.0 holds both of its tensors");
	gp_model_desc_free(desc);
}

Test(grouping, wrapped_gpt2_and_nested_blocks)
{
	struct gp_model_desc *desc = desc_of((const char *const[]){
		"transformer.h.3.attn.weight", "transformer.h.10.mlp.weight",
		"transformer.ln_f.weight", "transformer.wte.weight",
		"down_blocks.1.attentions.0.transformer_blocks.3.attn1.to_q.weight", "lm_head.weight",
		NULL });
	size_t pos = 0;

	cr_assert_eq(gp_model_group(desc, NULL), 0, "%s", gp_last_error());
	check_partition(desc);
	expect_in_order(desc, &pos,
			(const char *const[]){ "transformer.wte", "down_blocks.1", "transformer.h.3",
					       "transformer.h.10", "transformer.ln_f", "lm_head", NULL });
	expect_end(desc, pos);
	cr_assert_eq(desc->groups[1].block_index, 1, "outermost block wins");
	cr_assert_eq(desc->groups[3].block_index, 10);
	gp_model_desc_free(desc);
}

Test(grouping, empty_model)
{
	struct gp_model_desc *desc = gp_test_desc_new("empty");

	cr_assert_eq(gp_model_group(desc, NULL), 0, "%s", gp_last_error());
	cr_assert_eq(desc->n_groups, 0);
	gp_model_desc_free(desc);
}

Test(grouping, twice_is_a_state_error)
{
	struct gp_model_desc *desc = grouped_arch("llama3-8b");
	struct gp_group *groups = desc->groups;
	uint32_t n = desc->n_groups;

	cr_assert_eq(gp_model_group(desc, NULL), GP_ESTATE);
	cr_assert(strstr(gp_last_error(), "grouped already"), "message: %s", gp_last_error());
	cr_assert_eq(desc->groups, groups, "groups replaced");
	cr_assert_eq(desc->n_groups, n);
	gp_model_desc_free(desc);
}

/* ------------------------------------------------------ override pattern */

static const char *const stage_names[] = {
	"stem.conv.weight", "stage.0.conv.weight", "stage.0.norm.weight", "stage.1.conv.weight",
	"stage.10.conv.weight", "stage.2.conv.weight", "blocks.0.attn.weight", "head.fc.weight",
	NULL,
};

static void expect_stages(const struct gp_model_desc *desc)
{
	size_t pos = 0;

	check_partition(desc);
	expect_in_order(desc, &pos, (const char *const[]){ "stem", NULL });
	expect_blocks(desc, &pos, "stage", 3);
	/* The pattern replaces the built-in block rule: blocks.0 is a named group now. */
	expect_in_order(desc, &pos, (const char *const[]){ "stage.10", "blocks", "head", NULL });
	expect_end(desc, pos);
	cr_assert_eq(desc->groups[4].block_index, 10);
	cr_assert_eq(desc->groups[1].n_tensors, 2, "stage.0 holds both of its tensors");
}

Test(grouping, stage_is_not_a_block_without_pattern)
{
	struct gp_model_desc *desc = desc_of(stage_names);
	size_t pos = 0;

	cr_assert_eq(gp_model_group(desc, NULL), 0, "%s", gp_last_error());
	expect_in_order(desc, &pos,
			(const char *const[]){ "stem", "stage", "blocks.0", "head", NULL });
	expect_end(desc, pos);
	gp_model_desc_free(desc);
}

Test(grouping, pattern_argument)
{
	struct gp_model_desc *desc = desc_of(stage_names);

	cr_assert_eq(gp_model_group(desc, "^stage\\.([0-9]+)"), 0, "%s", gp_last_error());
	expect_stages(desc);
	gp_model_desc_free(desc);
}

Test(grouping, pattern_from_environment)
{
	struct gp_model_desc *desc = desc_of(stage_names);

	/* Criterion runs each test in its own process: the configuration is parsed here. */
	setenv("GPUPAGER_GROUP_PATTERN", "^stage\\.([0-9]+)", 1);
	cr_assert_eq(gp_model_group(desc, NULL), 0, "%s", gp_last_error());
	expect_stages(desc);
	gp_model_desc_free(desc);
}

Test(grouping, pattern_argument_overrides_environment)
{
	struct gp_model_desc *desc = desc_of(stage_names);

	setenv("GPUPAGER_GROUP_PATTERN", "^(stem)", 1);
	cr_assert_eq(gp_model_group(desc, "^stage\\.([0-9]+)"), 0, "%s", gp_last_error());
	expect_stages(desc);
	gp_model_desc_free(desc);
}

Test(grouping, pattern_inside_the_name)
{
	struct gp_model_desc *desc = desc_of((const char *const[]){
		"encoder.stage.3.w", "encoder.stage.3.b", "encoder.stage.12.w", NULL });
	size_t pos = 0;

	cr_assert_eq(gp_model_group(desc, "stage\\.([0-9]+)"), 0, "%s", gp_last_error());
	check_partition(desc);
	expect_in_order(desc, &pos,
			(const char *const[]){ "encoder.stage.3", "encoder.stage.12", NULL });
	expect_end(desc, pos);
	gp_model_desc_free(desc);
}

static void expect_bad_pattern(const char *pattern, const char *words)
{
	struct gp_model_desc *desc = desc_of(stage_names);

	cr_assert_eq(gp_model_group(desc, pattern), GP_EINVAL, "pattern '%s' accepted", pattern);
	cr_assert(strstr(gp_last_error(), pattern) && strstr(gp_last_error(), words),
		  "pattern '%s': message '%s' lacks '%s'", pattern, gp_last_error(), words);
	cr_assert_null(desc->groups);
	cr_assert_eq(desc->n_groups, 0);
	gp_model_desc_free(desc);
}

Test(grouping, bad_patterns)
{
	expect_bad_pattern("stage.([0-9]+", "not a POSIX extended regex");
	expect_bad_pattern("^stage\\.[0-9]+", "needs a capture group");
	/* The first capture group must be the index, not the family. */
	expect_bad_pattern("^(stage)\\.([0-9]+)", "'stage', not a block index");
	/* Matches "stem..." with the capture group unset. */
	expect_bad_pattern("^stem|^stage\\.([0-9]+)", "capture group 1 takes no part");
}

Test(grouping, bad_pattern_names_the_tensor)
{
	struct gp_model_desc *desc = desc_of(stage_names);

	cr_assert_eq(gp_model_group(desc, "^(stage)\\.([0-9]+)"), GP_EINVAL);
	cr_assert(strstr(gp_last_error(), "'stage.0.conv.weight'"), "message: %s", gp_last_error());
	gp_model_desc_free(desc);
}

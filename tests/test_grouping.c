/*
 * test_grouping.c - gp_model_group() on real architectures' tensor names
 * (from gp_arch_tensors, in memory) and on edge cases: forward order, one
 * group per tensor, file order inside groups, the override pattern, and the
 * splitting of large groups (GPUPAGER_GROUP_SPLIT).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/desc_fixture.h"
#include "config.h"
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

/* Equal tiny tensors: every group is a large share, so splitting is off for these. */
static struct gp_model_desc *desc_of(const char *const *names)
{
	struct gp_model_desc *desc = gp_test_desc_new("names");

	setenv("GPUPAGER_GROUP_SPLIT", "off", 1);

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
	struct gp_model_desc *desc;
	const struct gp_group *mid;
	size_t pos = 0;
	uint32_t mid_tensors = 0;

	/* The groups as found, before the large ones are split (below). */
	setenv("GPUPAGER_GROUP_SPLIT", "off", 1);
	desc = grouped_arch("sdxl-unet");

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

/* ------------------------------------------------------------- splitting */

/* The groups from pos on whose names start with "prefix." or equal it, up to the first other. */
static size_t groups_under(const struct gp_model_desc *desc, size_t pos, const char *prefix)
{
	size_t len = strlen(prefix), n = 0;

	while (pos + n < desc->n_groups && !strncmp(desc->groups[pos + n].name, prefix, len) &&
	       (desc->groups[pos + n].name[len] == '.' || !desc->groups[pos + n].name[len]))
		n++;
	return n;
}

static size_t find_group(const struct gp_model_desc *desc, const char *name)
{
	for (size_t g = 0; g < desc->n_groups; g++)
		if (!strcmp(desc->groups[g].name, name))
			return g;
	cr_assert_fail("%s: no group %s", desc->source, name);
	return 0;
}

/* The next groups are attention's sub-groups: norm, proj_in, 10 transformer blocks, proj_out. */
static void expect_split_attention(const struct gp_model_desc *desc, size_t *pos,
				   const char *attn, int64_t block_index)
{
	static const char *const parts[] = { "norm", "proj_in", "transformer_blocks.0",
		"transformer_blocks.1", "transformer_blocks.2", "transformer_blocks.3",
		"transformer_blocks.4", "transformer_blocks.5", "transformer_blocks.6",
		"transformer_blocks.7", "transformer_blocks.8", "transformer_blocks.9", "proj_out",
		NULL };
	char name[160];

	for (const char *const *p = parts; *p; p++, (*pos)++) {
		const struct gp_group *grp = group_at(desc, *pos);

		snprintf(name, sizeof(name), "%s.%s", attn, *p);
		cr_assert_str_eq(grp->name, name, "group %zu is %s, expected %s", *pos, grp->name,
				 name);
		cr_assert_eq(grp->block_index, block_index, "%s: block index %lld", name,
			     (long long)grp->block_index);
		cr_assert_eq(grp->parent_len, strlen(attn), "%s: parent '%.*s'", name,
			     (int)grp->parent_len, grp->name);
	}
}

/* up_blocks.0 (47% of the model) as sub-groups in forward order; the parent's span is whole. */
static void expect_sdxl_up_blocks_0(const struct gp_model_desc *desc)
{
	size_t first = find_group(desc, "up_blocks.0.resnets.0"), pos = first;
	uint32_t tensors = 0, in_span = 0;
	char name[64];

	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "up_blocks.0.resnets.%d", i);
		expect_in_order(desc, &pos, (const char *const[]){ name, NULL });
		cr_assert_eq(desc->groups[pos - 1].parent_len, strlen("up_blocks.0"));
		cr_assert_eq(desc->groups[pos - 1].block_index, 0);
		snprintf(name, sizeof(name), "up_blocks.0.attentions.%d", i);
		expect_split_attention(desc, &pos, name, 0);
	}
	expect_in_order(desc, &pos, (const char *const[]){ "up_blocks.0.upsamplers.0", "up_blocks.1",
							   NULL });
	cr_assert_eq(desc->groups[pos - 1].parent_len, 0, "up_blocks.1 is not split");
	/* Consecutive: every tensor of up_blocks.0 is in the span, and nothing else. */
	for (uint32_t t = 0; t < desc->n_tensors; t++) {
		tensors += !strncmp(desc->tensors[t].name, "up_blocks.0.", 12);
		in_span += desc->tensors[t].group >= first && desc->tensors[t].group < pos - 1;
	}
	cr_assert_eq(groups_under(desc, first, "up_blocks.0"), pos - 1 - first);
	cr_assert_eq(in_span, tensors, "%u tensors in the span, %u under up_blocks.0", in_span,
		     tensors);
}

Test(grouping, sdxl_large_groups_split)
{
	struct gp_model_desc *desc = grouped_arch("sdxl-unet");
	size_t pos = 0;

	expect_any_order(desc, &pos,
			 (const char *const[]){ "conv_in", "time_embedding", "add_embedding", NULL });
	/* Under 5% of the model: whole. */
	expect_blocks(desc, &pos, "down_blocks", 2);
	expect_in_order(desc, &pos, (const char *const[]){ "down_blocks.2.resnets.0", NULL });
	expect_split_attention(desc, &pos, "down_blocks.2.attentions.0", 2);
	expect_in_order(desc, &pos, (const char *const[]){ "down_blocks.2.resnets.1", NULL });
	expect_split_attention(desc, &pos, "down_blocks.2.attentions.1", 2);
	/* A named group splits too; its sub-groups stay named (block index -1). */
	expect_in_order(desc, &pos, (const char *const[]){ "mid_block.resnets.0", NULL });
	expect_split_attention(desc, &pos, "mid_block.attentions.0", -1);
	expect_in_order(desc, &pos, (const char *const[]){ "mid_block.resnets.1", NULL });
	expect_sdxl_up_blocks_0(desc);
	pos = find_group(desc, "up_blocks.1");
	expect_in_order(desc, &pos, (const char *const[]){ "up_blocks.1", "up_blocks.2",
							   "conv_norm_out", "conv_out", NULL });
	expect_end(desc, pos);
	for (uint32_t g = 0; g < desc->n_groups; g++)
		cr_assert_leq(desc->groups[g].nbytes, desc->tensor_bytes / 20,
			      "%s: %llu bytes of %llu", desc->groups[g].name,
			      (unsigned long long)desc->groups[g].nbytes,
			      (unsigned long long)desc->tensor_bytes);
	gp_model_desc_free(desc);
}

/* Real files list names alphabetically (attentions before resnets, 10 before 2): same order. */
Test(grouping, split_order_independent_of_file_order)
{
	struct gp_model_desc *desc = grouped_arch_sorted("sdxl-unet");

	cr_assert_str_eq(desc->tensors[0].name, "add_embedding.linear_1.bias",
			 "the sort under test did not happen");
	expect_sdxl_up_blocks_0(desc);
	gp_model_desc_free(desc);
}

/* A larger share splits one level only where that suffices. */
Test(grouping, split_share_from_environment)
{
	struct gp_model_desc *desc;
	size_t pos;

	setenv("GPUPAGER_GROUP_SPLIT", "20%", 1);
	desc = grouped_arch("sdxl-unet");
	/* mid_block is 16%: whole; down_blocks.2 is 29%: its attentions (14%) stay whole. */
	pos = find_group(desc, "down_blocks.2.resnets.0");
	expect_in_order(desc, &pos, (const char *const[]){ "down_blocks.2.resnets.0",
		"down_blocks.2.attentions.0", "down_blocks.2.resnets.1", "down_blocks.2.attentions.1",
		"mid_block", "up_blocks.0.resnets.0", "up_blocks.0.attentions.0",
		"up_blocks.0.resnets.1", "up_blocks.0.attentions.1", "up_blocks.0.resnets.2",
		"up_blocks.0.attentions.2", "up_blocks.0.upsamplers.0", "up_blocks.1", NULL });
	gp_model_desc_free(desc);
}

static void expect_same_groups(const struct gp_model_desc *a, const struct gp_model_desc *b)
{
	cr_assert_eq(a->n_groups, b->n_groups, "%s: %u groups, %u unsplit", a->source, a->n_groups,
		     b->n_groups);
	for (uint32_t g = 0; g < a->n_groups; g++) {
		cr_assert_str_eq(a->groups[g].name, b->groups[g].name);
		cr_assert_eq(a->groups[g].parent_len, 0, "%s", a->groups[g].name);
		cr_assert_eq(a->groups[g].n_tensors, b->groups[g].n_tensors);
		cr_assert_arr_eq(a->groups[g].tensors, b->groups[g].tensors,
				 a->groups[g].n_tensors * sizeof(uint32_t));
	}
}

/* Models whose groups are all under the share (or cannot split: one tensor) are unchanged. */
Test(grouping, small_groups_unchanged)
{
	static const char *const archs[] = { "wan2.1-14b", "flux-dev", "llama3-8b", NULL };
	struct gp_model_desc *split[3];

	for (int i = 0; archs[i]; i++)
		split[i] = grouped_arch(archs[i]);
	setenv("GPUPAGER_GROUP_SPLIT", "off", 1);
	for (int i = 0; archs[i]; i++) {
		struct gp_model_desc *whole = gp_test_desc_arch(archs[i], 0.05);

		cr_assert_eq(gp_model_group(whole, NULL), 0, "%s", gp_last_error());
		expect_same_groups(split[i], whole);
		gp_model_desc_free(whole);
		gp_model_desc_free(split[i]);
	}
}

/* nbytes each: a description where one group is most of the model. */
static struct gp_model_desc *desc_sized(const char *const *names, uint64_t nbytes)
{
	struct gp_model_desc *desc = gp_test_desc_new("sized");

	for (; *names; names++)
		gp_test_desc_add(desc, *names, nbytes);
	gp_test_desc_add(desc, "blocks.0.x.weight", 1);
	gp_test_desc_add(desc, "blocks.1.x.weight", 1);
	return desc;
}

Test(grouping, split_order_of_sub_modules)
{
	struct gp_model_desc *desc = desc_sized((const char *const[]){
		"blocks.2.proj_out.weight", "blocks.2.up.0.w", "blocks.2.net.10.w", "blocks.2.net.2.w",
		"blocks.2.net.2.b", "blocks.2.norm.weight", "blocks.2.attentions.1.w",
		"blocks.2.resnets.1.w", "blocks.2.upsamplers.0.w", NULL }, 1000);
	size_t pos = 0;

	cr_assert_eq(gp_model_group(desc, NULL), 0, "%s", gp_last_error());
	check_partition(desc);
	/*
	 * Named first (output ones last), then by index: bare indices as numbers,
	 * resnets before attentions at one index, other families by first
	 * appearance; resamplers after the numbered.
	 */
	expect_blocks(desc, &pos, "blocks", 2);
	expect_in_order(desc, &pos, (const char *const[]){ "blocks.2.norm", "blocks.2.up.0",
		"blocks.2.resnets.1", "blocks.2.attentions.1", "blocks.2.net.2", "blocks.2.net.10",
		"blocks.2.upsamplers.0", "blocks.2.proj_out", NULL });
	expect_end(desc, pos);
	cr_assert_eq(group_at(desc, 6)->n_tensors, 2, "net.2 holds both of its tensors");
	cr_assert_eq(group_at(desc, 6)->block_index, 2);
	gp_model_desc_free(desc);
}

Test(grouping, split_stops_at_a_module)
{
	/* blocks.2 has a parameter of its own; blocks.3 one sub-module, whose halves split. */
	struct gp_model_desc *desc = desc_sized((const char *const[]){
		"blocks.2.weight", "blocks.2.a.w", "blocks.2.b.w", "blocks.3.only.a.w",
		"blocks.3.only.b.w", NULL }, 1000);
	size_t pos = 0;

	cr_assert_eq(gp_model_group(desc, NULL), 0, "%s", gp_last_error());
	check_partition(desc);
	expect_blocks(desc, &pos, "blocks", 3);
	expect_in_order(desc, &pos, (const char *const[]){ "blocks.3.only.a", "blocks.3.only.b",
							   NULL });
	expect_end(desc, pos);
	cr_assert_eq(group_at(desc, 2)->n_tensors, 3, "blocks.2 stays whole");
	cr_assert_eq(group_at(desc, 3)->block_index, 3);
	cr_assert_eq(group_at(desc, 3)->parent_len, strlen("blocks.3.only"));
	gp_model_desc_free(desc);
}

Test(grouping, bad_split_share)
{
	static const char *const bad[] = { "0%", "101%", "5", "five%", "-1%", "nan%", NULL };

	for (const char *const *v = bad; *v; v++) {
		struct gp_config cfg;

		setenv("GPUPAGER_GROUP_SPLIT", *v, 1);
		cr_assert_eq(gp_config_parse(&cfg), GP_ECONFIG, "'%s' accepted", *v);
		cr_assert(strstr(gp_last_error(), "GPUPAGER_GROUP_SPLIT"), "%s", gp_last_error());
	}
	setenv("GPUPAGER_GROUP_SPLIT", "100%", 1);
	cr_assert_eq(gp_config_parse(&(struct gp_config){ 0 }), 0, "%s", gp_last_error());
}

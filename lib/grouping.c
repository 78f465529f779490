/*
 * grouping.c - assign tensors to groups, the pager's unit of decision.
 *
 * A repeated block is found from a tensor's name: the outermost
 * "<container>.<N>" pair, container being one of the names models use for
 * their block lists (blocks, layers, h, transformer_blocks, down_blocks, ...),
 * so "down_blocks.1.attentions.0.transformer_blocks.3.attn1.to_q.weight"
 * belongs to "down_blocks.1".  GPUPAGER_GROUP_PATTERN (or a pattern argument)
 * overrides this with a regex whose first capture group is the block index.
 * Every other tensor belongs to a named group: its first name component after
 * a wrapper prefix ("model.", "transformer.", ...), e.g. "model.embed_tokens".
 *
 * Groups are ordered as a forward pass runs them, as far as names tell:
 * input-side groups (embeddings, stems), then block families in their known
 * order (down, mid, up; double, single; encoder, decoder; others as first
 * seen) each by index, then output-side groups (norms, heads).
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "model.h"

static const char *const containers[] = {
	"blocks", "layers", "layer", "h", "block", "resblocks", "transformer_blocks",
	"single_transformer_blocks", "double_blocks", "single_blocks", "down_blocks",
	"up_blocks", "joint_blocks", "input_blocks", "output_blocks", NULL,
};

/* Families whose relative order is known; others run in first-seen order after them. */
static const char *const family_order[] = {
	"down_blocks", "mid_block", "up_blocks", "input_blocks", "middle_block", "output_blocks", "double_blocks", "single_blocks",
	"transformer_blocks", "single_transformer_blocks", NULL,
};

/* Modules that run once but hold numbered sub-blocks of their own: one group each. */
static const char *const singletons[] = { "mid_block", "middle_block", NULL };

static const char *const wrappers[] = { "model.", "transformer.", "diffusion_model.", "unet.",
					"model.diffusion_model.", NULL };

static const char *const input_words[] = { "embed", "patch", "conv_in", "time", "text",
					   "txt_in", "img_in", "vector_in", "guidance_in", "wte",
					   "wpe", "tok", "pos_", "context_embedder", "x_embedder",
					   NULL };

static const char *const output_words[] = { "norm", "head", "final", "conv_out", "proj_out",
					    "ln_f", "out", NULL };

enum stage { STAGE_INPUT, STAGE_BLOCKS, STAGE_OUTPUT };

struct group_key {
	char *name;
	char *family;           /* block family ("down_blocks"), or the group's own name */
	int64_t index;          /* block index, -1 for named groups */
	uint32_t first_seen;
};

static int in_list(const char *word, size_t len, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == len && !strncmp(word, *list, len))
			return 1;
	return 0;
}

static int contains_any(const char *text, const char *const *words)
{
	for (; *words; words++)
		if (strstr(text, *words))
			return 1;
	return 0;
}

static int all_digits(const char *s, size_t len)
{
	if (!len || len > 18)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* Outermost "<container>.<N>": sets *name_len to the end of N, *family_len to the container's end. */
static int find_block(const char *name, size_t *family_len, size_t *name_len, int64_t *index)
{
	const char *prev = NULL, *p = name;
	size_t prev_len = 0;

	for (;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		if (!dot)
			return 0; /* the last component names a parameter, never a block */
		if (prev && all_digits(p, len) && in_list(prev, prev_len, containers)) {
			*family_len = (size_t)(prev + prev_len - name);
			*name_len = (size_t)(p + len - name);
			*index = strtoll(p, NULL, 10);
			return 1;
		}
		prev = p;
		prev_len = len;
		p = dot + 1;
	}
}

static int match_pattern(const regex_t *re, const char *name, size_t *family_len,
			 size_t *name_len, int64_t *index)
{
	regmatch_t m[2];
	size_t len;

	if (regexec(re, name, 2, m, 0) || m[1].rm_so < 0)
		return 0;
	len = (size_t)(m[1].rm_eo - m[1].rm_so);
	if (!all_digits(name + m[1].rm_so, len))
		return 0;
	*family_len = (size_t)m[1].rm_so;
	*name_len = (size_t)m[1].rm_eo;
	*index = strtoll(name + m[1].rm_so, NULL, 10);
	return 1;
}

/* Named group: the first component after a wrapper prefix (with the prefix). */
static size_t named_group_len(const char *name)
{
	size_t skip = 0;
	const char *dot;

	for (const char *const *w = wrappers; *w; w++)
		if (!strncmp(name, *w, strlen(*w)) && strchr(name + strlen(*w), '.') &&
		    strlen(*w) > skip)
			skip = strlen(*w);
	dot = strchr(name + skip, '.');
	return dot ? (size_t)(dot - name) : strlen(name);
}

static int is_singleton(const char *name)
{
	size_t len = named_group_len(name);
	const char *dot = memrchr(name, '.', len);
	const char *base = dot ? dot + 1 : name;

	return in_list(base, len - (size_t)(base - name), singletons);
}

static int family_rank(const char *family)
{
	const char *base = strrchr(family, '.');

	base = base ? base + 1 : family;
	for (int i = 0; family_order[i]; i++)
		if (!strcmp(base, family_order[i]))
			return i;
	return 1000;
}

static enum stage group_stage(const struct group_key *k)
{
	if (k->index >= 0 || family_rank(k->family) < 1000)
		return STAGE_BLOCKS;
	if (contains_any(k->name, input_words))
		return STAGE_INPUT;
	if (contains_any(k->name, output_words))
		return STAGE_OUTPUT;
	return STAGE_BLOCKS;
}

static int cmp_groups(const void *a, const void *b)
{
	const struct group_key *x = a, *y = b;
	enum stage sx = group_stage(x), sy = group_stage(y);
	int rx = family_rank(x->family), ry = family_rank(y->family);

	if (sx != sy)
		return sx < sy ? -1 : 1;
	if (rx != ry)
		return rx < ry ? -1 : 1;
	/* Unknown families: the family first seen runs first. */
	if (strcmp(x->family, y->family))
		return x->first_seen < y->first_seen ? -1 : 1;
	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return x->first_seen < y->first_seen ? -1 : x->first_seen > y->first_seen;
}

struct grouping {
	struct group_key *keys;
	uint32_t n_keys;
	uint32_t *tensor_key;   /* per tensor: its key's index */
};

static void grouping_free(struct grouping *g)
{
	for (uint32_t i = 0; i < g->n_keys; i++) {
		free(g->keys[i].name);
		free(g->keys[i].family);
	}
	free(g->keys);
	free(g->tensor_key);
}

/* The key with this name, added if new; family is name[0..family_len). */
static int intern_key(struct grouping *g, const char *name, size_t name_len, size_t family_len,
		      int64_t index, uint32_t *out)
{
	struct group_key *k;

	for (uint32_t i = g->n_keys; i-- > 0;) {
		if (strlen(g->keys[i].name) == name_len && !strncmp(g->keys[i].name, name, name_len)) {
			*out = i;
			return 0;
		}
	}
	k = &g->keys[g->n_keys];
	k->name = strndup(name, name_len);
	k->family = strndup(name, family_len);
	k->index = index;
	k->first_seen = g->n_keys;
	if (!k->name || !k->family) {
		free(k->name);
		free(k->family);
		return gp_fail(GP_ENOMEM, "out of memory grouping tensors");
	}
	*out = g->n_keys++;
	return 0;
}

static int classify(struct gp_model_desc *desc, const regex_t *re, struct grouping *g)
{
	for (uint32_t t = 0; t < desc->n_tensors; t++) {
		const char *name = desc->tensors[t].name;
		size_t family_len, name_len;
		int64_t index;
		int err;

		if (!(re && match_pattern(re, name, &family_len, &name_len, &index)) &&
		    (is_singleton(name) || !find_block(name, &family_len, &name_len, &index))) {
			name_len = family_len = named_group_len(name);
			index = -1;
		}
		err = intern_key(g, name, name_len, family_len, index, &g->tensor_key[t]);
		if (err)
			return err;
	}
	return 0;
}

/* Build desc->groups in sorted key order; tensors keep their file order. */
static int build_groups(struct gp_model_desc *desc, struct grouping *g)
{
	uint32_t *order = malloc(g->n_keys * sizeof(*order) + 1);
	struct group_key *sorted = malloc(g->n_keys * sizeof(*sorted) + 1);
	struct gp_group *groups = calloc(g->n_keys + 1, sizeof(*groups));
	int err = 0;

	if (!order || !sorted || !groups) {
		err = gp_fail(GP_ENOMEM, "out of memory grouping tensors");
		goto out;
	}
	memcpy(sorted, g->keys, g->n_keys * sizeof(*sorted));
	qsort(sorted, g->n_keys, sizeof(*sorted), cmp_groups);
	for (uint32_t i = 0; i < g->n_keys; i++)
		order[sorted[i].first_seen] = i;
	for (uint32_t t = 0; t < desc->n_tensors; t++)
		groups[order[g->tensor_key[t]]].n_tensors++;
	for (uint32_t i = 0; i < g->n_keys && !err; i++) {
		groups[i].name = strdup(sorted[i].name);
		groups[i].block_index = sorted[i].index;
		groups[i].tensors = malloc(groups[i].n_tensors * sizeof(uint32_t) + 1);
		if (!groups[i].name || !groups[i].tensors)
			err = gp_fail(GP_ENOMEM, "out of memory grouping tensors");
		groups[i].n_tensors = 0;
	}
	if (err)
		goto out;
	for (uint32_t t = 0; t < desc->n_tensors; t++) {
		struct gp_group *grp = &groups[order[g->tensor_key[t]]];
		grp->tensors[grp->n_tensors++] = t;
		grp->nbytes += desc->tensors[t].nbytes;
		desc->tensors[t].group = order[g->tensor_key[t]];
	}
	desc->groups = groups;
	desc->n_groups = g->n_keys;
	groups = NULL;
out:
	if (groups) {
		for (uint32_t i = 0; i < g->n_keys; i++) {
			free(groups[i].name);
			free(groups[i].tensors);
		}
		free(groups);
	}
	free(sorted);
	free(order);
	return err;
}

int gp_model_group(struct gp_model_desc *desc, const char *pattern)
{
	struct grouping g = { 0 };
	regex_t re;
	int have_re = 0, err;

	if (desc->groups)
		return gp_fail(GP_ESTATE, "%s: tensors are grouped already", desc->source);
	if (!pattern) {
		const struct gp_config *cfg;
		err = gp_config_get(&cfg);
		if (err)
			return err;
		pattern = cfg->group_pattern;
	}
	if (pattern) {
		if (regcomp(&re, pattern, REG_EXTENDED))
			return gp_fail(GP_EINVAL, "group pattern '%s': not a POSIX extended regex",
				       pattern);
		if (re.re_nsub < 1) {
			regfree(&re);
			return gp_fail(GP_EINVAL, "group pattern '%s': needs a capture group for the block index",
				       pattern);
		}
		have_re = 1;
	}
	g.keys = calloc(desc->n_tensors + 1, sizeof(*g.keys));
	g.tensor_key = calloc(desc->n_tensors + 1, sizeof(*g.tensor_key));
	if (!g.keys || !g.tensor_key)
		err = gp_fail(GP_ENOMEM, "out of memory grouping tensors");
	else
		err = classify(desc, have_re ? &re : NULL, &g);
	if (!err)
		err = build_groups(desc, &g);
	grouping_free(&g);
	if (have_re)
		regfree(&re);
	return err;
}

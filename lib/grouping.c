/*
 * grouping.c - assign every tensor to one group, the pager's unit of
 * decision, and order the groups as a forward pass runs them.
 *
 * A tensor name is a path of dot-separated components; the last one names
 * the parameter ("weight").  The first rule that applies wins:
 *
 *  1. Override.  With a pattern (the argument, else GPUPAGER_GROUP_PATTERN),
 *     a name the POSIX extended regex matches belongs to the block named by
 *     the name up to the end of capture group 1, whose text is the block
 *     index.  The pattern replaces rule 2; names it misses go to rule 3.
 *  2. Repeated block.  The outermost "<container>.<N>" in the name, container
 *     being a name models give their block lists (blocks, layers, h, ...):
 *     "down_blocks.1.attentions.0.transformer_blocks.3.attn1.to_q.weight"
 *     belongs to "down_blocks.1", index 1, family "down_blocks".  A module
 *     that runs once but numbers sub-blocks of its own (mid_block) ends the
 *     search when it comes first: all of it is the one group "mid_block".
 *  3. Named group.  Any other tensor groups by module: the leading
 *     components it shares with a block family ("model." with "model.layers")
 *     plus one more, never the parameter's own name and never past a numeric
 *     component.  "model.embed_tokens.weight" -> "model.embed_tokens",
 *     "time_embedding.linear_1.weight" -> "time_embedding", "lm_head.weight"
 *     -> "lm_head".
 *
 * Order, as far as names tell (a forward pass cannot be seen from a file):
 *   input side   named groups whose module name says embedding or input
 *                (input_words[] or a "_in" suffix: patch_embedding, conv_in);
 *   blocks       block families in family_order[] (down, mid, up; double,
 *                single), then the others, encoders before decoders, else by
 *                first appearance; each family by block index.  Named groups
 *                of neither side sit here by first appearance too;
 *   output side  named groups whose module name says norm, head, final, out.
 * Ties keep the order in which groups first appear in the files.  Inside a
 * group tensors keep file order (file, offset), so a group reads sequentially.
 *
 * Splitting.  A group larger than GPUPAGER_GROUP_SPLIT's share of the model
 * (one share for every budget: the layout is fixed before a budget is known,
 * and traces and plans compare budgets over one layout) is replaced by its
 * sub-modules, the next name level: the component after the group's name,
 * with its index when one follows ("up_blocks.0.resnets.0"), or a bare index
 * ("ff.net.0"); a level with one sub-module is passed through.  A sub-group
 * still too large is split the same way.  A group holding a parameter of its
 * own ("lm_head.weight") stays whole.  Sub-groups keep the group's block index and run where it ran,
 * in this order:
 *   input        named sub-modules but the output ones, by first appearance
 *                (norm, proj_in: a module's norm usually runs first);
 *   numbered     by index, then resnets before attentions, then by first
 *                appearance (resnets.0, attentions.0, resnets.1, ...);
 *   resamplers   downsamplers, upsamplers;
 *   output       named sub-modules saying out, head or final (proj_out).
 * So a split group's sub-groups are consecutive, and the layout keeps them
 * contiguous: the split group is the span from its first sub-group to its
 * last (struct gp_group's parent_len).
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

/* Modules that run once but hold numbered sub-blocks: one group each. */
static const char *const run_once_modules[] = { "mid_block", "middle_block", NULL };

/* Families whose relative order is known; the others run after them. */
static const char *const family_order[] = {
	"down_blocks", "mid_block", "up_blocks",
	"input_blocks", "middle_block", "output_blocks",
	"double_blocks", "single_blocks",
	"transformer_blocks", "single_transformer_blocks", NULL,
};
#define UNKNOWN_FAMILY_RANK 1000

static const char *const input_words[] = { "emb", "patch", "time", "text", "txt", "tok", "pos",
					   "wte", "wpe", "shared", NULL };
static const char *const output_words[] = { "norm", "head", "final", "ln_f", "out", NULL };

enum side { SIDE_INPUT, SIDE_BLOCKS, SIDE_OUTPUT };

/* Where one tensor goes: group name[0, name_len), family name[0, family_len). */
struct placement {
	int placed;
	size_t name_len;
	size_t family_len;
	int64_t index;          /* block index, -1 for a named group */
};

struct group_key {
	char *name;
	char *family;           /* "down_blocks"; a named group's own name */
	int64_t index;
	uint32_t first_seen;    /* file position of its first tensor */
	uint32_t family_seen;   /* file position of its family's first tensor */
	enum side side;
	int family_rank;
	int stack_rank;         /* see stack_rank() */
};

struct grouping {
	const struct gp_model_desc *desc;
	struct placement *at;   /* per tensor */
	uint32_t *tensor_key;   /* per tensor: index into keys */
	struct group_key *keys;
	uint32_t n_keys;
};

/* The position of word[0, len) in list, or -1. */
static int list_index(const char *word, size_t len, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (strlen(list[i]) == len && !strncmp(word, list[i], len))
			return i;
	return -1;
}

static int in_list(const char *word, size_t len, const char *const *list)
{
	return list_index(word, len, list) >= 0;
}

static int contains_any(const char *text, const char *const *words)
{
	for (; *words; words++)
		if (strstr(text, *words))
			return 1;
	return 0;
}

/* A block index: decimal digits, few enough for an int64_t. */
static int is_index(const char *s, size_t len)
{
	if (!len || len > 18)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* Rule 2: the outermost "<container>.<N>", or a run-once module before it. */
static int find_block(const char *name, struct placement *pl)
{
	const char *prev = NULL, *p = name, *dot;
	size_t prev_len = 0;

	/* Only components followed by a dot: the parameter's name is never a block. */
	for (; (dot = strchr(p, '.')); p = dot + 1) {
		size_t len = (size_t)(dot - p);

		if (prev && in_list(prev, prev_len, containers) && is_index(p, len)) {
			pl->family_len = (size_t)(prev + prev_len - name);
			pl->name_len = (size_t)(dot - name);
			pl->index = strtoll(p, NULL, 10);
			return 1;
		}
		if (in_list(p, len, run_once_modules)) {
			pl->family_len = pl->name_len = (size_t)(dot - name);
			pl->index = -1;
			return 1;
		}
		prev = p;
		prev_len = len;
	}
	return 0;
}

/* Rule 1: 1 if the pattern places the tensor, 0 if it does not match, or an error. */
static int match_pattern(const regex_t *re, const char *pattern, const char *name,
			 struct placement *pl)
{
	regmatch_t m[2];
	size_t start, end;

	if (regexec(re, name, 2, m, 0))
		return 0;
	if (m[1].rm_so < 0)
		return gp_fail(GP_EINVAL,
			       "group pattern '%s': tensor '%s' matches but capture group 1 takes no part in the match, so it has no block index",
			       pattern, name);
	start = (size_t)m[1].rm_so;
	end = (size_t)m[1].rm_eo;
	if (!is_index(name + start, end - start))
		return gp_fail(GP_EINVAL,
			       "group pattern '%s': tensor '%s' matches but capture group 1 is '%.*s', not a block index (1 to 18 decimal digits)",
			       pattern, name, (int)(end - start), name + start);
	/* The family is the text before the index, without its separator dots. */
	while (start > 0 && name[start - 1] == '.')
		start--;
	pl->family_len = start;
	pl->name_len = end;
	pl->index = strtoll(name + m[1].rm_so, NULL, 10);
	return 1;
}

/* Whole leading components that name shares with family ("model.norm.x", "model.layers": 1). */
static size_t shared_components(const char *name, const char *family, size_t family_len)
{
	size_t n = 0;

	for (size_t i = 0;; i++) {
		if (i == family_len)
			return n + (name[i] == '.');
		if (name[i] != family[i])
			return n;
		n += name[i] == '.';
	}
}

/* Rule 3: the named group's length when it keeps depth leading components at most. */
static size_t named_group_len(const char *name, size_t depth)
{
	const char *p = name, *dot;
	size_t len = 0;

	for (size_t i = 0; i < depth && (dot = strchr(p, '.')); i++, p = dot + 1) {
		if (i && is_index(p, (size_t)(dot - p)))
			break;
		len = (size_t)(dot - name);
	}
	/* A name without dots (or with an empty first component) is its own group. */
	return len ? len : strlen(name);
}

/* Rules 1 and 2 for every tensor; 0 or an error. */
static int place_blocks(struct grouping *g, const regex_t *re, const char *pattern)
{
	for (uint32_t t = 0; t < g->desc->n_tensors; t++) {
		const char *name = g->desc->tensors[t].name;
		int found = re ? match_pattern(re, pattern, name, &g->at[t]) : find_block(name, &g->at[t]);

		if (found < 0)
			return found;
		g->at[t].placed = found;
	}
	return 0;
}

struct span {
	const char *text;
	size_t len;
};

static int span_cmp(const char *a, size_t a_len, const char *b, size_t b_len)
{
	int c = memcmp(a, b, a_len < b_len ? a_len : b_len);

	return c ? c : (a_len > b_len) - (a_len < b_len);
}

static int cmp_spans(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return span_cmp(x->text, x->len, y->text, y->len);
}

/*
 * Rule 3 for the tensors rules 1-2 left.  The family sharing the most
 * components with a name is one of its neighbours in sorted order (the
 * longest common prefix with a sorted set is a neighbour's), so a binary
 * search per name suffices.
 */
static int place_named(struct grouping *g)
{
	const struct gp_model_desc *d = g->desc;
	struct span *families = malloc(((size_t)d->n_tensors + 1) * sizeof(*families));
	size_t n_families = 0;

	if (!families)
		return gp_fail(GP_ENOMEM, "out of memory grouping %u tensors", d->n_tensors);
	for (uint32_t t = 0; t < d->n_tensors; t++)
		if (g->at[t].placed)
			families[n_families++] = (struct span){ d->tensors[t].name, g->at[t].family_len };
	qsort(families, n_families, sizeof(*families), cmp_spans);
	for (uint32_t t = 0; t < d->n_tensors; t++) {
		const char *name = d->tensors[t].name;
		size_t lo = 0, hi = n_families, shared = 0;

		if (g->at[t].placed)
			continue;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (span_cmp(families[mid].text, families[mid].len, name, strlen(name)) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t i = lo ? lo - 1 : lo; i < n_families && i <= lo; i++) {
			size_t s = shared_components(name, families[i].text, families[i].len);
			shared = s > shared ? s : shared;
		}
		g->at[t] = (struct placement){ .placed = 1, .index = -1 };
		g->at[t].name_len = g->at[t].family_len = named_group_len(name, shared + 1);
	}
	free(families);
	return 0;
}

static int family_rank(const char *family)
{
	const char *base = strrchr(family, '.');

	base = base ? base + 1 : family;
	for (int i = 0; family_order[i]; i++)
		if (!strcmp(base, family_order[i]))
			return i;
	return UNKNOWN_FAMILY_RANK;
}

static enum side named_group_side(const char *name)
{
	const char *module = strrchr(name, '.');
	size_t len;

	module = module ? module + 1 : name;
	len = strlen(module);
	if (contains_any(module, input_words) || (len > 3 && !strcmp(module + len - 3, "_in")))
		return SIDE_INPUT;
	if (contains_any(module, output_words))
		return SIDE_OUTPUT;
	return SIDE_BLOCKS;
}

/*
 * Encoder stacks run before decoder stacks.  What belongs to neither runs
 * before both on the input side (a shared embedding) and after both
 * elsewhere (lm_head after the decoder's final norm).
 */
static int stack_rank(const struct group_key *k)
{
	if (strstr(k->family, "encoder"))
		return 1;
	if (strstr(k->family, "decoder"))
		return 2;
	return k->side == SIDE_INPUT ? 0 : 3;
}

static void classify_key(struct group_key *k)
{
	k->family_rank = family_rank(k->family);
	if (k->index >= 0 || k->family_rank != UNKNOWN_FAMILY_RANK)
		k->side = SIDE_BLOCKS;
	else
		k->side = named_group_side(k->name);
	k->stack_rank = stack_rank(k);
}

/* Tensor indices by group name, then file position (qsort_r). */
static int cmp_by_group_name(const void *a, const void *b, void *ctx)
{
	const struct grouping *g = ctx;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int c = span_cmp(g->desc->tensors[x].name, g->at[x].name_len, g->desc->tensors[y].name,
			 g->at[y].name_len);

	return c ? c : (x > y) - (x < y);
}

/* Key indices by family, then first appearance (qsort_r). */
static int cmp_by_family(const void *a, const void *b, void *ctx)
{
	const struct group_key *keys = ctx;
	const struct group_key *x = &keys[*(const uint32_t *)a], *y = &keys[*(const uint32_t *)b];
	int c = strcmp(x->family, y->family);

	return c ? c : (x->first_seen > y->first_seen) - (x->first_seen < y->first_seen);
}

#define CMP_FIELD(x, y, field)                         \
	do {                                           \
		if ((x)->field != (y)->field)          \
			return (x)->field < (y)->field ? -1 : 1; \
	} while (0)

/* Forward order (qsort_r over key indices); a total order, so the result is well defined. */
static int cmp_forward(const void *a, const void *b, void *ctx)
{
	const struct group_key *keys = ctx;
	const struct group_key *x = &keys[*(const uint32_t *)a], *y = &keys[*(const uint32_t *)b];

	CMP_FIELD(x, y, side);
	CMP_FIELD(x, y, family_rank);
	CMP_FIELD(x, y, stack_rank);
	CMP_FIELD(x, y, family_seen);
	CMP_FIELD(x, y, index);
	CMP_FIELD(x, y, first_seen);
	return 0;
}

/* One key per distinct group name; sets tensor_key and each key's first_seen. */
static int make_keys(struct grouping *g, uint32_t *order)
{
	const struct gp_model_desc *d = g->desc;

	for (uint32_t t = 0; t < d->n_tensors; t++)
		order[t] = t;
	qsort_r(order, d->n_tensors, sizeof(*order), cmp_by_group_name, g);
	for (uint32_t i = 0; i < d->n_tensors; i++) {
		uint32_t t = order[i];
		const struct placement *pl = &g->at[t];
		struct group_key *k;

		if (i && !span_cmp(d->tensors[order[i - 1]].name, g->at[order[i - 1]].name_len,
				   d->tensors[t].name, pl->name_len)) {
			g->tensor_key[t] = g->n_keys - 1;
			continue;
		}
		/* Sorted by position within a name, so this is the group's first tensor. */
		k = &g->keys[g->n_keys];
		k->name = strndup(d->tensors[t].name, pl->name_len);
		k->family = strndup(d->tensors[t].name, pl->family_len);
		if (!k->name || !k->family) {
			free(k->name);
			free(k->family);
			return gp_fail(GP_ENOMEM, "out of memory grouping %u tensors", d->n_tensors);
		}
		k->index = pl->index;
		k->first_seen = t;
		classify_key(k);
		g->tensor_key[t] = g->n_keys++;
	}
	return 0;
}

/* Each key's family_seen: the smallest first_seen among the keys of its family. */
static void find_family_starts(struct grouping *g, uint32_t *order)
{
	for (uint32_t i = 0; i < g->n_keys; i++)
		order[i] = i;
	qsort_r(order, g->n_keys, sizeof(*order), cmp_by_family, g->keys);
	for (uint32_t i = 0; i < g->n_keys; i++) {
		struct group_key *k = &g->keys[order[i]];
		const struct group_key *prev = i ? &g->keys[order[i - 1]] : NULL;

		k->family_seen = prev && !strcmp(prev->family, k->family) ? prev->family_seen
									   : k->first_seen;
	}
}

static void free_groups(struct gp_group *groups, uint32_t n)
{
	for (uint32_t i = 0; groups && i < n; i++) {
		free(groups[i].name);
		free(groups[i].tensors);
	}
	free(groups);
}

/* desc->groups from the keys in forward order; order[] holds the sorted key indices. */
static int build_groups(struct gp_model_desc *desc, struct grouping *g, const uint32_t *order)
{
	struct gp_group *groups = calloc((size_t)g->n_keys + 1, sizeof(*groups));
	uint32_t *slot = malloc(((size_t)g->n_keys + 1) * sizeof(*slot));
	int err = 0;

	if (!groups || !slot) {
		err = gp_fail(GP_ENOMEM, "out of memory grouping %u tensors", desc->n_tensors);
		goto out;
	}
	for (uint32_t i = 0; i < g->n_keys; i++) {
		slot[order[i]] = i;
		/* The name moves from the key to the group. */
		groups[i].name = g->keys[order[i]].name;
		g->keys[order[i]].name = NULL;
		groups[i].block_index = g->keys[order[i]].index;
	}
	for (uint32_t t = 0; t < desc->n_tensors; t++)
		groups[slot[g->tensor_key[t]]].n_tensors++;
	for (uint32_t i = 0; i < g->n_keys; i++) {
		groups[i].tensors = malloc(groups[i].n_tensors * sizeof(uint32_t));
		if (!groups[i].tensors) {
			err = gp_fail(GP_ENOMEM, "out of memory grouping %u tensors", desc->n_tensors);
			goto out;
		}
		groups[i].n_tensors = 0;
	}
	for (uint32_t t = 0; t < desc->n_tensors; t++) {
		struct gp_group *grp = &groups[slot[g->tensor_key[t]]];

		grp->tensors[grp->n_tensors++] = t;
		grp->nbytes += desc->tensors[t].nbytes;
		desc->tensors[t].group = slot[g->tensor_key[t]];
	}
	desc->groups = groups;
	desc->n_groups = g->n_keys;
	groups = NULL;
out:
	free_groups(groups, g->n_keys);
	free(slot);
	return err;
}

static int compile_pattern(const char *pattern, regex_t *re)
{
	int rc = regcomp(re, pattern, REG_EXTENDED);

	if (rc) {
		char why[128];

		regerror(rc, re, why, sizeof(why));
		return gp_fail(GP_EINVAL, "group pattern '%s': not a POSIX extended regex: %s",
			       pattern, why);
	}
	if (re->re_nsub < 1) {
		regfree(re);
		return gp_fail(GP_EINVAL,
			       "group pattern '%s': needs a capture group, e.g. 'layers\\.([0-9]+)\\.', for the block index",
			       pattern);
	}
	return 0;
}

static int group_with(struct gp_model_desc *desc, const regex_t *re, const char *pattern)
{
	size_t n = (size_t)desc->n_tensors + 1;
	struct grouping g = { .desc = desc };
	uint32_t *order = malloc(n * sizeof(*order));
	int err;

	g.at = calloc(n, sizeof(*g.at));
	g.tensor_key = calloc(n, sizeof(*g.tensor_key));
	g.keys = calloc(n, sizeof(*g.keys));
	if (!order || !g.at || !g.tensor_key || !g.keys) {
		err = gp_fail(GP_ENOMEM, "out of memory grouping %u tensors", desc->n_tensors);
		goto out;
	}
	err = place_blocks(&g, re, pattern);
	if (!err)
		err = place_named(&g);
	if (!err)
		err = make_keys(&g, order);
	if (err)
		goto out;
	find_family_starts(&g, order);
	for (uint32_t i = 0; i < g.n_keys; i++)
		order[i] = i;
	qsort_r(order, g.n_keys, sizeof(*order), cmp_forward, g.keys);
	err = build_groups(desc, &g, order);
out:
	for (uint32_t i = 0; i < g.n_keys; i++) {
		free(g.keys[i].name);
		free(g.keys[i].family);
	}
	free(g.keys);
	free(g.tensor_key);
	free(g.at);
	free(order);
	return err;
}

/* ------------------------------------------------------------ splitting */

/* Families whose members run in this order when they share an index. */
static const char *const sub_family_order[] = { "resnets", "attentions", NULL };
/* Families that run after every other numbered sub-module of a block. */
static const char *const resamplers[] = { "downsamplers", "upsamplers", NULL };
static const char *const sub_output_words[] = { "out", "head", "final", NULL };

/* Sub-modules, in the order they run. */
enum child_kind { CHILD_INPUT, CHILD_NUMBERED, CHILD_RESAMPLER, CHILD_OUTPUT };

/* Where a tensor goes in a split: text after the group's "name.", len bytes. */
struct child_at {
	size_t len;             /* "resnets.0", "norm", "0" */
	size_t family_len;      /* "resnets", "norm", "" */
	int64_t index;          /* -1 for a named sub-module */
};

struct child {
	enum child_kind kind;
	int64_t index;
	int family_rank;
	uint32_t first_seen;    /* position of its first tensor in the group's list */
	uint32_t n_tensors;
};

/* One group being split. */
struct splitting {
	const struct gp_model_desc *desc;
	const struct gp_group *group;
	size_t skip;            /* strlen(group name) + 1: where the sub-module starts */
	struct child_at *at;    /* per position in the group's tensor list */
	struct child *kids;
	uint32_t n_kids;
};

struct split_state {
	struct gp_model_desc *desc;
	uint64_t limit;         /* groups of more bytes are split */
	struct gp_group *out;   /* done, in forward order */
	uint32_t n_out;
	struct gp_group *stack; /* to look at, the next on top */
	uint32_t n_stack;
};

static const char *tensor_name(const struct splitting *sp, uint32_t pos)
{
	return sp->desc->tensors[sp->group->tensors[pos]].name;
}

/* The sub-module of the tensor at pos; 0 when it is a parameter of the group itself. */
static int place_child(const struct splitting *sp, uint32_t pos, struct child_at *at)
{
	const char *name = tensor_name(sp, pos), *c = name + sp->skip, *dot, *next;

	if (name[sp->skip - 1] != '.' || !(dot = strchr(c, '.')) || dot == c)
		return 0;
	at->len = at->family_len = (size_t)(dot - c);
	at->index = -1;
	if (is_index(c, at->len)) {
		at->index = strtoll(c, NULL, 10);
		at->family_len = 0;
		return 1;
	}
	next = strchr(dot + 1, '.');
	if (next && is_index(dot + 1, (size_t)(next - dot - 1))) {
		at->index = strtoll(dot + 1, NULL, 10);
		at->len = (size_t)(next - c);
	}
	return 1;
}

static int span_has_any(const char *text, size_t len, const char *const *words)
{
	for (; *words; words++)
		if (memmem(text, len, *words, strlen(*words)))
			return 1;
	return 0;
}

static void classify_child(struct child *k, const char *family, size_t len, int64_t index)
{
	int rank = list_index(family, len, sub_family_order);

	k->index = index;
	k->family_rank = rank < 0 ? UNKNOWN_FAMILY_RANK : rank;
	if (index >= 0)
		k->kind = in_list(family, len, resamplers) ? CHILD_RESAMPLER : CHILD_NUMBERED;
	else
		k->kind = span_has_any(family, len, sub_output_words) ? CHILD_OUTPUT : CHILD_INPUT;
}

/* Positions by sub-module text, then position (qsort_r). */
static int cmp_by_child(const void *a, const void *b, void *ctx)
{
	const struct splitting *sp = ctx;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int c = span_cmp(tensor_name(sp, x) + sp->skip, sp->at[x].len,
			 tensor_name(sp, y) + sp->skip, sp->at[y].len);

	return c ? c : (x > y) - (x < y);
}

/* Sub-module indices in the order they run (qsort_r); a total order. */
static int cmp_child_order(const void *a, const void *b, void *ctx)
{
	const struct child *kids = ctx;
	const struct child *x = &kids[*(const uint32_t *)a], *y = &kids[*(const uint32_t *)b];

	CMP_FIELD(x, y, kind);
	CMP_FIELD(x, y, index);
	CMP_FIELD(x, y, family_rank);
	CMP_FIELD(x, y, first_seen);
	return 0;
}

/*
 * sp->kids from the group's tensors, and kid[pos] for each position: 1, or 0
 * when the group holds a parameter of its own (it is one module).
 */
static int find_children(struct splitting *sp, uint32_t *kid, uint32_t *order)
{
	uint32_t n = sp->group->n_tensors;

	for (uint32_t pos = 0; pos < n; pos++) {
		if (!place_child(sp, pos, &sp->at[pos]))
			return 0;
		order[pos] = pos;
	}
	qsort_r(order, n, sizeof(*order), cmp_by_child, sp);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t pos = order[i], prev = i ? order[i - 1] : 0;
		const char *text = tensor_name(sp, pos) + sp->skip;

		/* Sorted by position within a sub-module: pos is its first tensor. */
		if (!i || span_cmp(tensor_name(sp, prev) + sp->skip, sp->at[prev].len, text,
				   sp->at[pos].len)) {
			struct child *k = &sp->kids[sp->n_kids++];

			*k = (struct child){ .first_seen = pos };
			classify_child(k, text, sp->at[pos].family_len, sp->at[pos].index);
		}
		kid[pos] = sp->n_kids - 1;
		sp->kids[kid[pos]].n_tensors++;
	}
	return 1;
}

/* The sub-groups, in the order they run, into subs[0, sp->n_kids); order[] is scratch. */
static int make_sub_groups(const struct splitting *sp, const uint32_t *kid, uint32_t *order,
			   struct gp_group *subs)
{
	const struct gp_group *g = sp->group;
	uint32_t *slot = order + sp->n_kids;

	for (uint32_t i = 0; i < sp->n_kids; i++)
		order[i] = i;
	qsort_r(order, sp->n_kids, sizeof(*order), cmp_child_order, sp->kids);
	for (uint32_t i = 0; i < sp->n_kids; i++) {
		const struct child *k = &sp->kids[order[i]];
		struct gp_group *sub = &subs[i];

		slot[order[i]] = i;
		*sub = (struct gp_group){ .block_index = g->block_index, .parent_len = sp->skip - 1 };
		/* "up_blocks.0.resnets.0": its first tensor's name up to the sub-module's end. */
		sub->name = strndup(tensor_name(sp, k->first_seen), sp->skip + sp->at[k->first_seen].len);
		sub->tensors = malloc(k->n_tensors * sizeof(uint32_t));
		if (!sub->name || !sub->tensors)
			return gp_fail(GP_ENOMEM, "%s: out of memory splitting group '%s'",
				       sp->desc->source, g->name);
	}
	/* Positions in order: each sub-group keeps file order. */
	for (uint32_t pos = 0; pos < g->n_tensors; pos++) {
		struct gp_group *sub = &subs[slot[kid[pos]]];
		uint32_t t = g->tensors[pos];

		sub->tensors[sub->n_tensors++] = t;
		sub->nbytes += sp->desc->tensors[t].nbytes;
	}
	return 0;
}

static void free_group(struct gp_group *g)
{
	free(g->name);
	free(g->tensors);
	*g = (struct gp_group){ 0 };
}

/*
 * Split *g onto the stack (its first sub-group on top), or move it to the
 * output when it stays whole.  On failure *g is untouched.
 */
static int split_one(struct split_state *st, struct gp_group *g)
{
	uint32_t n = g->n_tensors;
	struct splitting sp = { .desc = st->desc, .group = g, .skip = strlen(g->name) + 1 };
	uint32_t *kid = NULL, *order = NULL;
	struct gp_group *subs = NULL;
	int err = 0;

	if (g->nbytes <= st->limit || n < 2) {
		st->out[st->n_out++] = *g;
		return 0;
	}
	sp.at = malloc(n * sizeof(*sp.at));
	sp.kids = malloc(n * sizeof(*sp.kids));
	kid = malloc(n * sizeof(*kid));
	order = malloc(2 * (size_t)n * sizeof(*order));
	if (!sp.at || !sp.kids || !kid || !order) {
		err = gp_fail(GP_ENOMEM, "%s: out of memory splitting group '%s'", st->desc->source,
			      g->name);
		goto out;
	}
	/* One sub-module is the group itself: look one level further down. */
	while (find_children(&sp, kid, order) && sp.n_kids == 1) {
		sp.skip += sp.at[0].len + 1;
		sp.n_kids = 0;
	}
	if (sp.n_kids < 2) {
		st->out[st->n_out++] = *g;
		goto out;
	}
	subs = calloc(sp.n_kids, sizeof(*subs));
	err = subs ? make_sub_groups(&sp, kid, order, subs)
		   : gp_fail(GP_ENOMEM, "%s: out of memory splitting group '%s'",
			     st->desc->source, g->name);
	if (err) {
		for (uint32_t i = 0; subs && i < sp.n_kids; i++)
			free_group(&subs[i]);
		goto out;
	}
	for (uint32_t i = sp.n_kids; i-- > 0;)
		st->stack[st->n_stack++] = subs[i];
	free_group(g);
out:
	free(subs);
	free(order);
	free(kid);
	free(sp.kids);
	free(sp.at);
	return err;
}

/*
 * Replace every group over pct percent of the model's bytes by its
 * sub-groups, recursively; desc has no groups on failure.  Each pending or
 * finished group holds at least one tensor, so n_tensors bounds both lists.
 */
static int split_groups(struct gp_model_desc *desc, double pct)
{
	struct split_state st = {
		.desc = desc, .limit = (uint64_t)((double)desc->tensor_bytes * pct / 100.0),
	};
	uint32_t g;
	int err = 0;

	for (g = 0; g < desc->n_groups && desc->groups[g].nbytes <= st.limit; g++)
		;
	if (g == desc->n_groups)
		return 0;
	st.out = calloc((size_t)desc->n_tensors + 1, sizeof(*st.out));
	st.stack = calloc((size_t)desc->n_tensors + 1, sizeof(*st.stack));
	if (!st.out || !st.stack)
		err = gp_fail(GP_ENOMEM, "out of memory splitting %u groups", desc->n_groups);
	for (g = 0; !err && g < desc->n_groups; g++) {
		st.stack[st.n_stack++] = desc->groups[g];
		desc->groups[g] = (struct gp_group){ 0 };
		while (!err && st.n_stack) {
			struct gp_group top = st.stack[--st.n_stack];

			err = split_one(&st, &top);
			if (err)
				st.stack[st.n_stack++] = top;
		}
	}
	if (err) {
		/* What was not moved yet, what waits, what is done. */
		free_groups(desc->groups, desc->n_groups);
		free_groups(st.stack, st.n_stack);
		free_groups(st.out, st.n_out);
		desc->groups = NULL;
		desc->n_groups = 0;
		return err;
	}
	for (uint32_t i = 0; i < st.n_out; i++)
		for (uint32_t k = 0; k < st.out[i].n_tensors; k++)
			desc->tensors[st.out[i].tensors[k]].group = i;
	free(desc->groups);
	free(st.stack);
	desc->groups = st.out;
	desc->n_groups = st.n_out;
	return 0;
}

int gp_model_group(struct gp_model_desc *desc, const char *pattern)
{
	const struct gp_config *cfg;
	regex_t re;
	int err;

	if (desc->groups)
		return gp_fail(GP_ESTATE, "%s: tensors are grouped already", desc->source);
	err = gp_config_get(&cfg);
	if (err)
		return err;
	if (!pattern)
		pattern = cfg->group_pattern;
	if (!pattern) {
		err = group_with(desc, NULL, NULL);
	} else {
		err = compile_pattern(pattern, &re);
		if (err)
			return err;
		err = group_with(desc, &re, pattern);
		regfree(&re);
	}
	if (!err && cfg->group_split_pct > 0)
		err = split_groups(desc, cfg->group_split_pct);
	return err;
}

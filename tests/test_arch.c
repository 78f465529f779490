/* test_arch.c - the architecture tables: names, structure, shapes, parameter counts, scaling. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"

struct table {
	struct gp_arch_tensor *t;
	size_t n;
};

static const double scales[] = { 0.01, 0.02, 0.05, 0.1, 0.33, 0.36, 0.5, 0.77, 1.0 };

#define N_SCALES (sizeof(scales) / sizeof(scales[0]))

static struct table load(const char *arch, double scale)
{
	struct table tb;

	cr_assert_eq(gp_arch_tensors(arch, scale, &tb.t, &tb.n), 0, "%s at %g: %s", arch, scale,
		     gp_last_error());
	cr_assert_gt(tb.n, 0);
	return tb;
}

static const struct gp_arch_tensor *find(const struct table *tb, const char *fmt, ...)
{
	char name[sizeof(tb->t[0].name)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < tb->n; i++)
		if (!strcmp(tb->t[i].name, name))
			return &tb->t[i];
	return NULL;
}

/* The tensor's shape must be exactly dims[0..ndim). */
static void expect_shape(const struct table *tb, const char *name, const int64_t *dims, int ndim)
{
	const struct gp_arch_tensor *t = find(tb, "%s", name);

	cr_assert(t, "tensor '%s' missing", name);
	cr_assert_eq(t->ndim, ndim, "%s: ndim %d, expected %d", name, t->ndim, ndim);
	for (int d = 0; d < ndim; d++)
		cr_assert_eq(t->shape[d], dims[d], "%s: dim %d is %lld, expected %lld", name, d,
			     (long long)t->shape[d], (long long)dims[d]);
}

#define SHAPE(tb, name, ...)                                           \
	expect_shape(tb, name, (int64_t[]){ __VA_ARGS__ },             \
		     (int)(sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)))

static uint64_t count_params(const struct table *tb)
{
	uint64_t total = 0;

	for (size_t i = 0; i < tb->n; i++) {
		uint64_t e = 1;

		for (int d = 0; d < tb->t[i].ndim; d++)
			e *= (uint64_t)tb->t[i].shape[d];
		total += e;
	}
	return total;
}

/* How many tensors are named like fmt with %d = 0, 1, 2, ... until one is missing. */
static int count_indexed(const struct table *tb, const char *fmt)
{
	int n = 0;

	while (find(tb, fmt, n))
		n++;
	return n;
}

Test(arch, names)
{
	const char *const *names = gp_arch_names();
	static const char *const expected[] = { "wan2.1-14b", "flux-dev", "sdxl-unet", "llama3-8b" };
	size_t n = 0;

	while (names[n])
		n++;
	cr_assert_eq(n, 4, "%zu architectures", n);
	for (size_t i = 0; i < 4; i++)
		cr_assert_str_eq(names[i], expected[i]);
}

Test(arch, unknown_arch)
{
	struct gp_arch_tensor *t = NULL;
	size_t n = 7;

	cr_assert_eq(gp_arch_tensors("gpt-5", 1.0, &t, &n), GP_ENOENT);
	cr_assert(strstr(gp_last_error(), "unknown architecture 'gpt-5'"), "%s", gp_last_error());
	cr_assert(strstr(gp_last_error(), "llama3-8b"), "known names not listed: %s",
		  gp_last_error());
	cr_assert_null(t);
	cr_assert_eq(n, 7);
	cr_assert_eq(gp_arch_tensors(NULL, 1.0, &t, &n), GP_EINVAL);
}

Test(arch, bad_scale)
{
	const double bad[] = { 0.0, -0.5, 1.0000001, 2.0, NAN, INFINITY, -INFINITY };
	struct gp_arch_tensor *t = NULL;
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(gp_arch_tensors("flux-dev", bad[i], &t, &n), GP_EINVAL, "scale %g", bad[i]);
		cr_assert(strstr(gp_last_error(), "scale"), "%s", gp_last_error());
		cr_assert(strstr(gp_last_error(), "flux-dev"), "%s", gp_last_error());
		cr_assert_null(t);
	}
}

/* Scale 1 is the published checkpoint, to the parameter. */
Test(arch, full_scale_parameter_counts)
{
	static const struct {
		const char *arch;
		uint64_t params;
		double published;
		size_t tensors;
	} cases[] = {
		{ "wan2.1-14b", 14288491584ull, 14.3e9, 1095 },
		{ "flux-dev", 11901408320ull, 11.9e9, 780 },
		{ "sdxl-unet", 2567463684ull, 2.567e9, 1680 },
		{ "llama3-8b", 8030261248ull, 8.03e9, 291 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct table tb = load(cases[i].arch, 1.0);
		uint64_t p = count_params(&tb);

		cr_assert_eq(p, cases[i].params, "%s: %llu parameters", cases[i].arch,
			     (unsigned long long)p);
		cr_assert(fabs((double)p / cases[i].published - 1.0) < 0.03, "%s", cases[i].arch);
		cr_assert_eq(tb.n, cases[i].tensors, "%s: %zu tensors", cases[i].arch, tb.n);
		free(tb.t);
	}
}

Test(arch, wan_structure)
{
	struct table tb = load("wan2.1-14b", 1.0);

	cr_assert_eq(count_indexed(&tb, "blocks.%d.modulation"), 40);
	cr_assert_str_eq(tb.t[0].name, "patch_embedding.weight");
	cr_assert_str_eq(tb.t[tb.n - 1].name, "head.head.bias");
	SHAPE(&tb, "patch_embedding.weight", 5120, 16, 1, 2, 2);
	SHAPE(&tb, "text_embedding.0.weight", 5120, 4096);
	SHAPE(&tb, "text_embedding.2.weight", 5120, 5120);
	SHAPE(&tb, "time_embedding.0.weight", 5120, 256);
	SHAPE(&tb, "time_projection.1.weight", 30720, 5120);
	SHAPE(&tb, "blocks.39.modulation", 1, 6, 5120);
	SHAPE(&tb, "blocks.0.self_attn.q.weight", 5120, 5120);
	SHAPE(&tb, "blocks.0.self_attn.o.bias", 5120);
	SHAPE(&tb, "blocks.0.self_attn.norm_k.weight", 5120);
	SHAPE(&tb, "blocks.0.cross_attn.v.weight", 5120, 5120);
	SHAPE(&tb, "blocks.0.cross_attn.norm_q.weight", 5120);
	SHAPE(&tb, "blocks.7.norm3.bias", 5120);
	SHAPE(&tb, "blocks.0.ffn.0.weight", 13824, 5120);
	SHAPE(&tb, "blocks.0.ffn.2.weight", 5120, 13824);
	SHAPE(&tb, "head.modulation", 1, 2, 5120);
	SHAPE(&tb, "head.head.weight", 64, 5120);
	cr_assert_null(find(&tb, "blocks.0.cross_attn.k_img.weight"), "T2V has no image branch");
	cr_assert_null(find(&tb, "blocks.0.norm1.weight"), "norm1 has no affine parameters");
	for (size_t i = 0; i < tb.n; i++)
		cr_assert_eq(tb.t[i].dtype, GP_DTYPE_BF16, "%s", tb.t[i].name);
	free(tb.t);
}

Test(arch, flux_structure)
{
	struct table tb = load("flux-dev", 1.0);

	cr_assert_eq(count_indexed(&tb, "double_blocks.%d.img_mod.lin.weight"), 19);
	cr_assert_eq(count_indexed(&tb, "single_blocks.%d.linear1.weight"), 38);
	cr_assert_str_eq(tb.t[0].name, "img_in.weight");
	cr_assert_str_eq(tb.t[tb.n - 1].name, "final_layer.linear.bias");
	SHAPE(&tb, "img_in.weight", 3072, 64);
	SHAPE(&tb, "txt_in.weight", 3072, 4096);
	SHAPE(&tb, "time_in.in_layer.weight", 3072, 256);
	SHAPE(&tb, "guidance_in.out_layer.weight", 3072, 3072);
	SHAPE(&tb, "vector_in.in_layer.weight", 3072, 768);
	SHAPE(&tb, "double_blocks.0.img_mod.lin.weight", 18432, 3072);
	SHAPE(&tb, "double_blocks.18.txt_attn.qkv.weight", 9216, 3072);
	SHAPE(&tb, "double_blocks.3.img_attn.qkv.bias", 9216);
	SHAPE(&tb, "double_blocks.3.img_attn.norm.query_norm.scale", 128);
	SHAPE(&tb, "double_blocks.3.txt_attn.norm.key_norm.scale", 128);
	SHAPE(&tb, "double_blocks.0.img_attn.proj.weight", 3072, 3072);
	SHAPE(&tb, "double_blocks.0.txt_mlp.0.weight", 12288, 3072);
	SHAPE(&tb, "double_blocks.0.txt_mlp.2.weight", 3072, 12288);
	SHAPE(&tb, "single_blocks.37.linear1.weight", 21504, 3072);
	SHAPE(&tb, "single_blocks.0.linear2.weight", 3072, 15360);
	SHAPE(&tb, "single_blocks.0.modulation.lin.weight", 9216, 3072);
	SHAPE(&tb, "single_blocks.0.norm.key_norm.scale", 128);
	SHAPE(&tb, "final_layer.adaLN_modulation.1.weight", 6144, 3072);
	SHAPE(&tb, "final_layer.linear.weight", 64, 3072);
	for (size_t i = 0; i < tb.n; i++)
		cr_assert_eq(tb.t[i].dtype, GP_DTYPE_BF16, "%s", tb.t[i].name);
	free(tb.t);
}

Test(arch, sdxl_structure)
{
	struct table tb = load("sdxl-unet", 1.0);
	static const char *const attn_of[] = {
		"down_blocks.0.attentions.%d.norm.weight", "down_blocks.1.attentions.%d.norm.weight",
		"down_blocks.2.attentions.%d.norm.weight", "up_blocks.0.attentions.%d.norm.weight",
		"up_blocks.1.attentions.%d.norm.weight",   "up_blocks.2.attentions.%d.norm.weight",
	};
	static const int attentions[] = { 0, 2, 2, 3, 3, 0 };

	for (size_t i = 0; i < 6; i++)
		cr_assert_eq(count_indexed(&tb, attn_of[i]), attentions[i], "%s", attn_of[i]);
	cr_assert_eq(count_indexed(&tb, "down_blocks.1.attentions.1.transformer_blocks.%d.norm1.weight"), 2);
	cr_assert_eq(count_indexed(&tb, "down_blocks.2.attentions.0.transformer_blocks.%d.norm1.weight"), 10);
	cr_assert_eq(count_indexed(&tb, "mid_block.attentions.0.transformer_blocks.%d.norm1.weight"), 10);
	cr_assert_eq(count_indexed(&tb, "up_blocks.0.attentions.2.transformer_blocks.%d.norm1.weight"), 10);
	cr_assert_eq(count_indexed(&tb, "up_blocks.1.attentions.0.transformer_blocks.%d.norm1.weight"), 2);
	cr_assert_eq(count_indexed(&tb, "up_blocks.%d.resnets.2.conv1.weight"), 3);
	cr_assert_eq(count_indexed(&tb, "down_blocks.%d.downsamplers.0.conv.weight"), 2);
	cr_assert_eq(count_indexed(&tb, "up_blocks.%d.upsamplers.0.conv.weight"), 2);
	cr_assert_null(find(&tb, "down_blocks.2.downsamplers.0.conv.weight"));
	cr_assert_null(find(&tb, "up_blocks.2.upsamplers.0.conv.weight"));

	SHAPE(&tb, "conv_in.weight", 320, 4, 3, 3);
	SHAPE(&tb, "time_embedding.linear_1.weight", 1280, 320);
	SHAPE(&tb, "add_embedding.linear_1.weight", 1280, 2816);
	SHAPE(&tb, "down_blocks.1.resnets.0.conv1.weight", 640, 320, 3, 3);
	SHAPE(&tb, "down_blocks.1.resnets.0.conv_shortcut.weight", 640, 320, 1, 1);
	SHAPE(&tb, "down_blocks.1.resnets.0.time_emb_proj.weight", 640, 1280);
	SHAPE(&tb, "down_blocks.2.attentions.1.proj_in.weight", 1280, 1280);
	SHAPE(&tb, "down_blocks.2.attentions.1.transformer_blocks.9.attn2.to_k.weight", 1280, 2048);
	SHAPE(&tb, "down_blocks.2.attentions.1.transformer_blocks.9.ff.net.0.proj.weight", 10240, 1280);
	SHAPE(&tb, "down_blocks.2.attentions.1.transformer_blocks.9.ff.net.2.weight", 1280, 5120);
	SHAPE(&tb, "mid_block.resnets.1.conv2.weight", 1280, 1280, 3, 3);
	SHAPE(&tb, "up_blocks.0.resnets.0.norm1.weight", 2560);
	SHAPE(&tb, "up_blocks.0.resnets.2.conv1.weight", 1280, 1920, 3, 3);
	SHAPE(&tb, "up_blocks.1.resnets.0.conv1.weight", 640, 1920, 3, 3);
	SHAPE(&tb, "up_blocks.1.resnets.2.conv_shortcut.weight", 640, 960, 1, 1);
	SHAPE(&tb, "up_blocks.2.resnets.0.conv1.weight", 320, 960, 3, 3);
	SHAPE(&tb, "up_blocks.2.resnets.2.conv1.weight", 320, 640, 3, 3);
	SHAPE(&tb, "conv_out.weight", 4, 320, 3, 3);
	cr_assert_null(find(&tb, "down_blocks.0.resnets.0.conv_shortcut.weight"));
	cr_assert_null(find(&tb, "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.bias"));
	cr_assert_str_eq(tb.t[tb.n - 1].name, "conv_out.bias");
	for (size_t i = 0; i < tb.n; i++)
		cr_assert_eq(tb.t[i].dtype, GP_DTYPE_F16, "%s", tb.t[i].name);
	free(tb.t);
}

Test(arch, llama_structure)
{
	struct table tb = load("llama3-8b", 1.0);

	cr_assert_eq(count_indexed(&tb, "model.layers.%d.input_layernorm.weight"), 32);
	cr_assert_str_eq(tb.t[0].name, "model.embed_tokens.weight");
	cr_assert_str_eq(tb.t[tb.n - 2].name, "model.norm.weight");
	cr_assert_str_eq(tb.t[tb.n - 1].name, "lm_head.weight");
	SHAPE(&tb, "model.embed_tokens.weight", 128256, 4096);
	SHAPE(&tb, "model.layers.0.self_attn.q_proj.weight", 4096, 4096);
	SHAPE(&tb, "model.layers.0.self_attn.k_proj.weight", 1024, 4096);
	SHAPE(&tb, "model.layers.31.self_attn.v_proj.weight", 1024, 4096);
	SHAPE(&tb, "model.layers.0.self_attn.o_proj.weight", 4096, 4096);
	SHAPE(&tb, "model.layers.0.mlp.gate_proj.weight", 14336, 4096);
	SHAPE(&tb, "model.layers.0.mlp.up_proj.weight", 14336, 4096);
	SHAPE(&tb, "model.layers.0.mlp.down_proj.weight", 4096, 14336);
	SHAPE(&tb, "model.layers.5.post_attention_layernorm.weight", 4096);
	SHAPE(&tb, "lm_head.weight", 128256, 4096);
	cr_assert_null(find(&tb, "model.layers.0.self_attn.q_proj.bias"), "Llama has no biases");
	for (size_t i = 0; i < tb.n; i++)
		cr_assert_eq(tb.t[i].dtype, GP_DTYPE_BF16, "%s", tb.t[i].name);
	free(tb.t);
}

/* The block index in a name ("blocks.12.x" -> 12), or -1. */
static long block_index(const char *name, const char *marker)
{
	const char *p = strstr(name, marker);

	return p ? strtol(p + strlen(marker), NULL, 10) : -1;
}

/* Forward order: the blocks of each repeated stack come in increasing order, never interleaved. */
Test(arch, forward_order)
{
	static const struct {
		const char *arch;
		const char *marker;
	} stacks[] = {
		{ "wan2.1-14b", "blocks." },       { "flux-dev", "double_blocks." },
		{ "flux-dev", "single_blocks." },  { "llama3-8b", "model.layers." },
		{ "sdxl-unet", "down_blocks." },   { "sdxl-unet", "up_blocks." },
	};

	for (size_t s = 0; s < sizeof(stacks) / sizeof(stacks[0]); s++) {
		struct table tb = load(stacks[s].arch, 0.05);
		long last = -1;
		int ended = 0;

		for (size_t i = 0; i < tb.n; i++) {
			long b = block_index(tb.t[i].name, stacks[s].marker);

			if (b < 0) {
				ended = last >= 0;
				continue;
			}
			cr_assert(!ended, "%s: %s after the stack ended", stacks[s].arch, tb.t[i].name);
			cr_assert_geq(b, last, "%s: %s out of order", stacks[s].arch, tb.t[i].name);
			last = b;
		}
		free(tb.t);
	}
}

/* Names unique; every "X.bias" follows its "X.weight" with the same output size. */
Test(arch, names_unique_and_biases_match)
{
	for (const char *const *arch = gp_arch_names(); *arch; arch++) {
		struct table tb = load(*arch, 0.1);

		for (size_t i = 0; i < tb.n; i++) {
			const char *name = tb.t[i].name;
			size_t len = strlen(name);
			const struct gp_arch_tensor *w;

			for (size_t j = i + 1; j < tb.n; j++)
				cr_assert_str_neq(name, tb.t[j].name, "%s: duplicate", *arch);
			if (len < 5 || strcmp(name + len - 5, ".bias"))
				continue;
			w = find(&tb, "%.*s.weight", (int)(len - 5), name);
			cr_assert(w && w < &tb.t[i], "%s: %s has no weight before it", *arch, name);
			cr_assert_eq(tb.t[i].ndim, 1, "%s", name);
			cr_assert_eq(tb.t[i].shape[0], w->shape[0], "%s", name);
		}
		free(tb.t);
	}
}

/*
 * At every scale: the same names in the same order with the same ranks, and
 * each dim either kept as at scale 1 or a multiple of 8, at least 8.
 */
Test(arch, scaling_keeps_structure)
{
	for (const char *const *arch = gp_arch_names(); *arch; arch++) {
		struct table full = load(*arch, 1.0);

		for (size_t s = 0; s < N_SCALES; s++) {
			struct table tb = load(*arch, scales[s]);

			cr_assert_eq(tb.n, full.n, "%s at %g", *arch, scales[s]);
			for (size_t i = 0; i < tb.n; i++) {
				const struct gp_arch_tensor *t = &tb.t[i];

				cr_assert_str_eq(t->name, full.t[i].name);
				cr_assert_eq(t->ndim, full.t[i].ndim, "%s", t->name);
				cr_assert_eq(t->dtype, full.t[i].dtype, "%s", t->name);
				for (int d = 0; d < t->ndim; d++)
					cr_assert(t->shape[d] == full.t[i].shape[d] ||
							  (t->shape[d] % 8 == 0 && t->shape[d] >= 8),
						  "%s at %g: %s dim %d = %lld", *arch, scales[s], t->name,
						  d, (long long)t->shape[d]);
			}
			free(tb.t);
		}
		free(full.t);
	}
}

/* The hidden sizes follow base * scale, rounded to their multiple; the ratios stay exact. */
Test(arch, scaled_dims)
{
	static const struct {
		const char *arch;
		const char *tensor;
		int dim;
		int64_t base;
		int64_t multiple;
	} probes[] = {
		{ "wan2.1-14b", "patch_embedding.weight", 0, 5120, 8 },
		{ "wan2.1-14b", "blocks.0.ffn.0.weight", 0, 13824, 8 },
		{ "wan2.1-14b", "text_embedding.0.weight", 1, 4096, 8 },
		{ "flux-dev", "img_in.weight", 0, 3072, 8 },
		{ "flux-dev", "txt_in.weight", 1, 4096, 8 },
		{ "flux-dev", "vector_in.in_layer.weight", 1, 768, 8 },
		{ "sdxl-unet", "conv_in.weight", 0, 320, 8 },
		{ "sdxl-unet", "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_v.weight", 1, 2048, 8 },
		{ "llama3-8b", "model.embed_tokens.weight", 1, 4096, 32 },
		{ "llama3-8b", "model.embed_tokens.weight", 0, 128256, 8 },
		{ "llama3-8b", "model.layers.0.mlp.up_proj.weight", 0, 14336, 8 },
	};

	for (size_t p = 0; p < sizeof(probes) / sizeof(probes[0]); p++) {
		for (size_t s = 0; s < N_SCALES; s++) {
			struct table tb = load(probes[p].arch, scales[s]);
			const struct gp_arch_tensor *t = find(&tb, "%s", probes[p].tensor);
			double ideal = (double)probes[p].base * scales[s];
			int64_t d;

			cr_assert(t, "%s", probes[p].tensor);
			d = t->shape[probes[p].dim];
			cr_assert_eq(d % probes[p].multiple, 0, "%s at %g: %lld", t->name, scales[s],
				     (long long)d);
			if (ideal < probes[p].multiple)
				cr_assert_eq(d, probes[p].multiple, "%s at %g", t->name, scales[s]);
			else
				cr_assert_leq(fabs((double)d - ideal), probes[p].multiple / 2.0,
					      "%s at %g: %lld for %g", t->name, scales[s], (long long)d,
					      ideal);
			free(tb.t);
		}
	}
}

/* Ratios inside each architecture hold at any scale. */
Test(arch, ratios_exact_at_any_scale)
{
	for (size_t s = 0; s < N_SCALES; s++) {
		struct table wan = load("wan2.1-14b", scales[s]);
		struct table flux = load("flux-dev", scales[s]);
		struct table sdxl = load("sdxl-unet", scales[s]);
		struct table llama = load("llama3-8b", scales[s]);
		int64_t dim = find(&wan, "patch_embedding.weight")->shape[0];
		int64_t hidden = find(&flux, "img_in.weight")->shape[0];
		int64_t c = find(&sdxl, "conv_in.weight")->shape[0];
		int64_t pooled = find(&sdxl, "add_embedding.linear_1.weight")->shape[1] - 6 * 256;
		int64_t h = find(&llama, "model.embed_tokens.weight")->shape[1];

		cr_assert_eq(find(&wan, "time_projection.1.weight")->shape[0], 6 * dim);
		cr_assert_eq(find(&wan, "blocks.3.ffn.2.weight")->shape[1],
			     find(&wan, "blocks.3.ffn.0.weight")->shape[0]);
		cr_assert_eq(find(&flux, "double_blocks.0.img_mlp.0.weight")->shape[0], 4 * hidden);
		cr_assert_eq(find(&flux, "single_blocks.0.linear1.weight")->shape[0], 7 * hidden);
		cr_assert_eq(find(&flux, "single_blocks.0.linear2.weight")->shape[1], 5 * hidden);
		cr_assert_eq(find(&sdxl, "mid_block.resnets.0.conv1.weight")->shape[0], 4 * c);
		cr_assert_eq(find(&sdxl, "up_blocks.0.resnets.0.conv1.weight")->shape[1], 8 * c);
		cr_assert_eq(find(&sdxl, "time_embedding.linear_2.weight")->shape[0], 4 * c);
		cr_assert(pooled >= 8 && pooled % 8 == 0, "pooled width %lld", (long long)pooled);
		cr_assert_eq(find(&llama, "model.layers.0.self_attn.k_proj.weight")->shape[0] * 4, h);
		cr_assert_eq(find(&llama, "model.layers.0.self_attn.k_proj.weight")->shape[0] % 8, 0);
		free(wan.t);
		free(flux.t);
		free(sdxl.t);
		free(llama.t);
	}
}

Test(arch, deterministic)
{
	for (const char *const *arch = gp_arch_names(); *arch; arch++) {
		struct table a = load(*arch, 0.36), b = load(*arch, 0.36);

		cr_assert_eq(a.n, b.n);
		cr_assert_eq(memcmp(a.t, b.t, a.n * sizeof(*a.t)), 0, "%s differs between calls", *arch);
		free(a.t);
		free(b.t);
	}
}

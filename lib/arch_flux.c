/*
 * arch_flux.c - FLUX.1-dev, the rectified-flow image transformer, BF16,
 * in BFL's original naming and forward order.
 *
 * Real config: hidden 3072, mlp_ratio 4, 24 heads of 128, context_in_dim
 * 4096 (T5), vec_in_dim 768 (CLIP pooled), in/out channels 64 (2x2 patches
 * of 16 latent channels), 19 double and 38 single blocks, guidance embed.
 * Scaled: hidden, context_in_dim, vec_in_dim (the mlp width stays 4 x
 * hidden).  Kept: block counts, channels, the 256-wide sinusoidal time and
 * guidance inputs, and the per-head QK-norm width 128.  11,901,408,320
 * parameters at scale 1.
 */
#include <stdio.h>

#include "arch_build.h"

#define FLUX_DOUBLE_BLOCKS 19
#define FLUX_SINGLE_BLOCKS 38
#define FLUX_CHANNELS 64
#define FLUX_FREQ_DIM 256
#define FLUX_HEAD_DIM 128
#define FLUX_MLP_RATIO 4

/* MLPEmbedder: in_layer, SiLU, out_layer. */
static void embedder(struct gp_arch_builder *b, const char *name, int64_t in, int64_t hidden)
{
	gp_arch_linear(b, hidden, in, "%s.in_layer", name);
	gp_arch_linear(b, hidden, hidden, "%s.out_layer", name);
}

static void qk_norm(struct gp_arch_builder *b, const char *prefix)
{
	gp_arch_add(b, GP_SHAPE(FLUX_HEAD_DIM), "%s.query_norm.scale", prefix);
	gp_arch_add(b, GP_SHAPE(FLUX_HEAD_DIM), "%s.key_norm.scale", prefix);
}

/* The output half of one stream of a double block: attention projection, then MLP. */
static void stream_out(struct gp_arch_builder *b, int block, const char *stream, int64_t hidden)
{
	int64_t mlp = FLUX_MLP_RATIO * hidden;

	gp_arch_linear(b, hidden, hidden, "double_blocks.%d.%s_attn.proj", block, stream);
	gp_arch_linear(b, mlp, hidden, "double_blocks.%d.%s_mlp.0", block, stream);
	gp_arch_linear(b, hidden, mlp, "double_blocks.%d.%s_mlp.2", block, stream);
}

static void double_block(struct gp_arch_builder *b, int i, int64_t hidden)
{
	char prefix[64];

	gp_arch_linear(b, 6 * hidden, hidden, "double_blocks.%d.img_mod.lin", i);
	gp_arch_linear(b, 6 * hidden, hidden, "double_blocks.%d.txt_mod.lin", i);
	gp_arch_linear(b, 3 * hidden, hidden, "double_blocks.%d.img_attn.qkv", i);
	snprintf(prefix, sizeof(prefix), "double_blocks.%d.img_attn.norm", i);
	qk_norm(b, prefix);
	gp_arch_linear(b, 3 * hidden, hidden, "double_blocks.%d.txt_attn.qkv", i);
	snprintf(prefix, sizeof(prefix), "double_blocks.%d.txt_attn.norm", i);
	qk_norm(b, prefix);
	stream_out(b, i, "img", hidden);
	stream_out(b, i, "txt", hidden);
}

/* linear1 computes q, k, v and the MLP input at once; linear2 takes attention out ++ MLP. */
static void single_block(struct gp_arch_builder *b, int i, int64_t hidden)
{
	int64_t mlp = FLUX_MLP_RATIO * hidden;
	char prefix[64];

	gp_arch_linear(b, 3 * hidden, hidden, "single_blocks.%d.modulation.lin", i);
	gp_arch_linear(b, 3 * hidden + mlp, hidden, "single_blocks.%d.linear1", i);
	snprintf(prefix, sizeof(prefix), "single_blocks.%d.norm", i);
	qk_norm(b, prefix);
	gp_arch_linear(b, hidden, hidden + mlp, "single_blocks.%d.linear2", i);
}

void gp_arch_flux_dev(struct gp_arch_builder *b)
{
	int64_t hidden = gp_arch_dim(b, 3072, 8);
	int64_t context = gp_arch_dim(b, 4096, 8);
	int64_t vec = gp_arch_dim(b, 768, 8);

	b->dtype = GP_DTYPE_BF16;
	gp_arch_linear(b, hidden, FLUX_CHANNELS, "img_in");
	embedder(b, "time_in", FLUX_FREQ_DIM, hidden);
	embedder(b, "guidance_in", FLUX_FREQ_DIM, hidden);
	embedder(b, "vector_in", vec, hidden);
	gp_arch_linear(b, hidden, context, "txt_in");
	for (int i = 0; i < FLUX_DOUBLE_BLOCKS; i++)
		double_block(b, i, hidden);
	for (int i = 0; i < FLUX_SINGLE_BLOCKS; i++)
		single_block(b, i, hidden);
	gp_arch_linear(b, 2 * hidden, hidden, "final_layer.adaLN_modulation.1");
	gp_arch_linear(b, FLUX_CHANNELS, hidden, "final_layer.linear");
}

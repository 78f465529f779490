/*
 * arch_wan.c - Wan2.1-T2V-14B, the video diffusion transformer (WanModel),
 * BF16, in forward order.
 *
 * Real config: dim 5120, ffn_dim 13824, text_dim 4096, freq_dim 256,
 * 40 heads, 40 blocks, in/out channels 16, patch (1, 2, 2).
 * Scaled: dim, ffn_dim, text_dim.  Kept: freq_dim (the sinusoidal time
 * embedding's width), block count, channels, patch, and the 6 (block) and
 * 2 (head) modulation vectors.  14,288,491,584 parameters at scale 1.
 */
#include "arch_build.h"

#define WAN_BLOCKS 40
#define WAN_FREQ_DIM 256
#define WAN_CHANNELS 16
#define WAN_PATCH_T 1
#define WAN_PATCH_HW 2

/* q/k/v/o projections with RMSNorm on q and k, in the order they are applied. */
static void attention(struct gp_arch_builder *b, int block, const char *kind, int64_t dim)
{
	gp_arch_linear(b, dim, dim, "blocks.%d.%s.q", block, kind);
	gp_arch_add(b, GP_SHAPE(dim), "blocks.%d.%s.norm_q.weight", block, kind);
	gp_arch_linear(b, dim, dim, "blocks.%d.%s.k", block, kind);
	gp_arch_add(b, GP_SHAPE(dim), "blocks.%d.%s.norm_k.weight", block, kind);
	gp_arch_linear(b, dim, dim, "blocks.%d.%s.v", block, kind);
	gp_arch_linear(b, dim, dim, "blocks.%d.%s.o", block, kind);
}

void gp_arch_wan21_14b(struct gp_arch_builder *b)
{
	int64_t dim = gp_arch_dim(b, 5120, 8);
	int64_t ffn = gp_arch_dim(b, 13824, 8);
	int64_t text = gp_arch_dim(b, 4096, 8);
	int64_t patch_out = WAN_CHANNELS * WAN_PATCH_T * WAN_PATCH_HW * WAN_PATCH_HW;

	b->dtype = GP_DTYPE_BF16;
	gp_arch_add(b, GP_SHAPE(dim, WAN_CHANNELS, WAN_PATCH_T, WAN_PATCH_HW, WAN_PATCH_HW),
		    "patch_embedding.weight");
	gp_arch_add(b, GP_SHAPE(dim), "patch_embedding.bias");
	gp_arch_linear(b, dim, WAN_FREQ_DIM, "time_embedding.0");
	gp_arch_linear(b, dim, dim, "time_embedding.2");
	gp_arch_linear(b, 6 * dim, dim, "time_projection.1");
	gp_arch_linear(b, dim, text, "text_embedding.0");
	gp_arch_linear(b, dim, dim, "text_embedding.2");
	for (int i = 0; i < WAN_BLOCKS; i++) {
		gp_arch_add(b, GP_SHAPE(1, 6, dim), "blocks.%d.modulation", i);
		attention(b, i, "self_attn", dim);
		gp_arch_norm(b, dim, "blocks.%d.norm3", i);
		attention(b, i, "cross_attn", dim);
		gp_arch_linear(b, ffn, dim, "blocks.%d.ffn.0", i);
		gp_arch_linear(b, dim, ffn, "blocks.%d.ffn.2", i);
	}
	gp_arch_add(b, GP_SHAPE(1, 2, dim), "head.modulation");
	gp_arch_linear(b, patch_out, dim, "head.head");
}

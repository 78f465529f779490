/*
 * arch_sdxl.c - the Stable Diffusion XL base 1.0 UNet, F16, in diffusers
 * naming (UNet2DConditionModel) and forward order.
 *
 * Real config: block_out_channels (320, 640, 1280), layers_per_block 2,
 * transformer_layers_per_block (1, 2, 10) with no attention in the first
 * down block, cross_attention_dim 2048, linear projections, GEGLU
 * feed-forward of 4 x channels, "text_time" added embedding of the pooled
 * text embedding (1280) and six 256-wide time ids, in/out channels 4.
 * Scaled: the base channel width (the others stay 2x and 4x it, and the
 * time embedding 4x), cross_attention_dim and the pooled text width.
 * Kept: block/layer/transformer counts, latent channels, the time-id width.
 * 2,567,463,684 parameters at scale 1.
 */
#include <stdio.h>

#include "arch_build.h"

#define SDXL_LEVELS 3
#define SDXL_LATENT_CHANNELS 4
#define SDXL_TIME_IDS 6
#define SDXL_TIME_ID_DIM 256

static const int channel_mult[SDXL_LEVELS] = { 1, 2, 4 };
static const int transformer_depth[SDXL_LEVELS] = { 0, 2, 10 };

struct sdxl_dims {
	int64_t channels[SDXL_LEVELS];
	int64_t temb;
	int64_t context;
};

/* ResnetBlock2D; prefix is e.g. "down_blocks.1.resnets.0". */
static void resnet(struct gp_arch_builder *b, const struct sdxl_dims *d, int64_t in, int64_t out,
		   const char *prefix)
{
	gp_arch_norm(b, in, "%s.norm1", prefix);
	gp_arch_conv2d(b, out, in, 3, "%s.conv1", prefix);
	gp_arch_linear(b, out, d->temb, "%s.time_emb_proj", prefix);
	gp_arch_norm(b, out, "%s.norm2", prefix);
	gp_arch_conv2d(b, out, out, 3, "%s.conv2", prefix);
	if (in != out)
		gp_arch_conv2d(b, out, in, 1, "%s.conv_shortcut", prefix);
}

/* Attention without q/k/v bias; keys and values come from kv_dim wide inputs. */
static void attention(struct gp_arch_builder *b, int64_t dim, int64_t kv_dim, const char *prefix,
		      int block, const char *name)
{
	gp_arch_linear_nobias(b, dim, dim, "%s.transformer_blocks.%d.%s.to_q", prefix, block, name);
	gp_arch_linear_nobias(b, dim, kv_dim, "%s.transformer_blocks.%d.%s.to_k", prefix, block, name);
	gp_arch_linear_nobias(b, dim, kv_dim, "%s.transformer_blocks.%d.%s.to_v", prefix, block, name);
	gp_arch_linear(b, dim, dim, "%s.transformer_blocks.%d.%s.to_out.0", prefix, block, name);
}

/* Transformer2DModel with use_linear_projection; prefix is e.g. "mid_block.attentions.0". */
static void transformer(struct gp_arch_builder *b, const struct sdxl_dims *d, int64_t dim, int depth,
			const char *prefix)
{
	gp_arch_norm(b, dim, "%s.norm", prefix);
	gp_arch_linear(b, dim, dim, "%s.proj_in", prefix);
	for (int k = 0; k < depth; k++) {
		gp_arch_norm(b, dim, "%s.transformer_blocks.%d.norm1", prefix, k);
		attention(b, dim, dim, prefix, k, "attn1");
		gp_arch_norm(b, dim, "%s.transformer_blocks.%d.norm2", prefix, k);
		attention(b, dim, d->context, prefix, k, "attn2");
		gp_arch_norm(b, dim, "%s.transformer_blocks.%d.norm3", prefix, k);
		/* GEGLU: one projection yields the value and the gate. */
		gp_arch_linear(b, 2 * 4 * dim, dim, "%s.transformer_blocks.%d.ff.net.0.proj",
			       prefix, k);
		gp_arch_linear(b, dim, 4 * dim, "%s.transformer_blocks.%d.ff.net.2", prefix, k);
	}
	gp_arch_linear(b, dim, dim, "%s.proj_out", prefix);
}

/*
 * Down path.  skips[] receives the channel count of every activation the up
 * path concatenates back, in the order they are produced.
 */
static int down_blocks(struct gp_arch_builder *b, const struct sdxl_dims *d, int64_t *skips)
{
	int64_t in = d->channels[0];
	int n_skips = 0;
	char prefix[64];

	skips[n_skips++] = in; /* conv_in's output */
	for (int level = 0; level < SDXL_LEVELS; level++) {
		int64_t out = d->channels[level];

		for (int j = 0; j < 2; j++) {
			snprintf(prefix, sizeof(prefix), "down_blocks.%d.resnets.%d", level, j);
			resnet(b, d, in, out, prefix);
			if (transformer_depth[level]) {
				snprintf(prefix, sizeof(prefix), "down_blocks.%d.attentions.%d", level, j);
				transformer(b, d, out, transformer_depth[level], prefix);
			}
			skips[n_skips++] = out;
			in = out;
		}
		if (level + 1 < SDXL_LEVELS) {
			gp_arch_conv2d(b, out, out, 3, "down_blocks.%d.downsamplers.0.conv", level);
			skips[n_skips++] = out;
		}
	}
	return n_skips;
}

static void mid_block(struct gp_arch_builder *b, const struct sdxl_dims *d)
{
	int64_t c = d->channels[SDXL_LEVELS - 1];

	resnet(b, d, c, c, "mid_block.resnets.0");
	transformer(b, d, c, transformer_depth[SDXL_LEVELS - 1], "mid_block.attentions.0");
	resnet(b, d, c, c, "mid_block.resnets.1");
}

/* Up path: three resnets per level, each taking one skip from the end of skips[]. */
static void up_blocks(struct gp_arch_builder *b, const struct sdxl_dims *d, const int64_t *skips,
		      int n_skips)
{
	int64_t in = d->channels[SDXL_LEVELS - 1];
	char prefix[64];

	for (int i = 0; i < SDXL_LEVELS; i++) {
		int level = SDXL_LEVELS - 1 - i;
		int64_t out = d->channels[level];

		for (int j = 0; j < 3; j++) {
			snprintf(prefix, sizeof(prefix), "up_blocks.%d.resnets.%d", i, j);
			resnet(b, d, in + skips[--n_skips], out, prefix);
			if (transformer_depth[level]) {
				snprintf(prefix, sizeof(prefix), "up_blocks.%d.attentions.%d", i, j);
				transformer(b, d, out, transformer_depth[level], prefix);
			}
			in = out;
		}
		if (level > 0)
			gp_arch_conv2d(b, out, out, 3, "up_blocks.%d.upsamplers.0.conv", i);
	}
}

void gp_arch_sdxl_unet(struct gp_arch_builder *b)
{
	int64_t base = gp_arch_dim(b, 320, 8);
	int64_t pooled = gp_arch_dim(b, 1280, 8);
	int64_t skips[3 * SDXL_LEVELS];
	struct sdxl_dims d;
	int n_skips;

	for (int i = 0; i < SDXL_LEVELS; i++)
		d.channels[i] = channel_mult[i] * base;
	d.temb = 4 * base;
	d.context = gp_arch_dim(b, 2048, 8);

	b->dtype = GP_DTYPE_F16;
	gp_arch_linear(b, d.temb, base, "time_embedding.linear_1");
	gp_arch_linear(b, d.temb, d.temb, "time_embedding.linear_2");
	gp_arch_linear(b, d.temb, pooled + SDXL_TIME_IDS * SDXL_TIME_ID_DIM, "add_embedding.linear_1");
	gp_arch_linear(b, d.temb, d.temb, "add_embedding.linear_2");
	gp_arch_conv2d(b, base, SDXL_LATENT_CHANNELS, 3, "conv_in");
	n_skips = down_blocks(b, &d, skips);
	mid_block(b, &d);
	up_blocks(b, &d, skips, n_skips);
	gp_arch_norm(b, base, "conv_norm_out");
	gp_arch_conv2d(b, SDXL_LATENT_CHANNELS, base, 3, "conv_out");
}

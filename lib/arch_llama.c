/*
 * arch_llama.c - Meta-Llama-3-8B, BF16, in Hugging Face naming
 * (LlamaForCausalLM) and forward order.
 *
 * Real config: hidden 4096, 32 layers, 32 query heads and 8 key/value heads
 * (grouped-query attention: k/v projections are a quarter of q), intermediate
 * 14336, vocabulary 128256, untied lm_head.
 * Scaled: hidden (rounded to a multiple of 32 so the 4:1 q:kv ratio stays
 * exact and k/v stay multiples of 8), intermediate, vocabulary.  Kept: layer
 * count and the GQA ratio.  8,030,261,248 parameters at scale 1.
 */
#include "arch_build.h"

#define LLAMA_LAYERS 32
#define LLAMA_HEADS 32
#define LLAMA_KV_HEADS 8

void gp_arch_llama3_8b(struct gp_arch_builder *b)
{
	int64_t hidden = gp_arch_dim(b, 4096, 8 * LLAMA_HEADS / LLAMA_KV_HEADS);
	int64_t kv = hidden / (LLAMA_HEADS / LLAMA_KV_HEADS);
	int64_t ffn = gp_arch_dim(b, 14336, 8);
	int64_t vocab = gp_arch_dim(b, 128256, 8);

	b->dtype = GP_DTYPE_BF16;
	gp_arch_add(b, GP_SHAPE(vocab, hidden), "model.embed_tokens.weight");
	for (int i = 0; i < LLAMA_LAYERS; i++) {
		gp_arch_add(b, GP_SHAPE(hidden), "model.layers.%d.input_layernorm.weight", i);
		gp_arch_linear_nobias(b, hidden, hidden, "model.layers.%d.self_attn.q_proj", i);
		gp_arch_linear_nobias(b, kv, hidden, "model.layers.%d.self_attn.k_proj", i);
		gp_arch_linear_nobias(b, kv, hidden, "model.layers.%d.self_attn.v_proj", i);
		gp_arch_linear_nobias(b, hidden, hidden, "model.layers.%d.self_attn.o_proj", i);
		gp_arch_add(b, GP_SHAPE(hidden), "model.layers.%d.post_attention_layernorm.weight", i);
		gp_arch_linear_nobias(b, ffn, hidden, "model.layers.%d.mlp.gate_proj", i);
		gp_arch_linear_nobias(b, ffn, hidden, "model.layers.%d.mlp.up_proj", i);
		gp_arch_linear_nobias(b, hidden, ffn, "model.layers.%d.mlp.down_proj", i);
	}
	gp_arch_add(b, GP_SHAPE(hidden), "model.norm.weight");
	gp_arch_add(b, GP_SHAPE(vocab, hidden), "lm_head.weight");
}

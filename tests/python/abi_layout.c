/*
 * abi_layout.c - prints sizeof and every field's offset of the public
 * structs, as "struct field offset" lines, so test_package.py can check
 * that gpupager's ctypes mirrors match the header exactly.
 */
#include <stddef.h>
#include <stdio.h>

#include "gpupager.h"

#define S(t) printf("%s - %zu\n", #t, sizeof(struct t))
#define F(t, f) printf("%s %s %zu\n", #t, #f, offsetof(struct t, f))

int main(void)
{
	S(gp_tensor_info); F(gp_tensor_info, struct_size); F(gp_tensor_info, name);
	F(gp_tensor_info, dtype); F(gp_tensor_info, ndim); F(gp_tensor_info, shape);
	F(gp_tensor_info, nbytes); F(gp_tensor_info, group); F(gp_tensor_info, range_offset);
	F(gp_tensor_info, device_ptr);
	S(gp_group_info); F(gp_group_info, struct_size); F(gp_group_info, name);
	F(gp_group_info, block_index); F(gp_group_info, n_tensors); F(gp_group_info, nbytes);
	F(gp_group_info, range_offset); F(gp_group_info, range_size);
	F(gp_group_info, resident_chunks); F(gp_group_info, total_chunks);
	S(gp_pager_options); F(gp_pager_options, struct_size); F(gp_pager_options, device);
	F(gp_pager_options, driver_path); F(gp_pager_options, vram_budget);
	F(gp_pager_options, vram_budget_pct); F(gp_pager_options, host_budget);
	F(gp_pager_options, policy); F(gp_pager_options, swap_blocks); F(gp_pager_options, load_all);
	F(gp_pager_options, plan);
	S(gp_pager_stats); F(gp_pager_stats, struct_size); F(gp_pager_stats, hits);
	F(gp_pager_stats, misses); F(gp_pager_stats, chunk_hits); F(gp_pager_stats, chunk_misses);
	F(gp_pager_stats, bytes_disk); F(gp_pager_stats, bytes_h2d); F(gp_pager_stats, bytes_d2h);
	F(gp_pager_stats, host_hits); F(gp_pager_stats, dev_evictions);
	F(gp_pager_stats, host_evictions); F(gp_pager_stats, prefetch_issued);
	F(gp_pager_stats, prefetch_hits); F(gp_pager_stats, prefetch_wasted);
	F(gp_pager_stats, stall_ns); F(gp_pager_stats, vram_used); F(gp_pager_stats, vram_budget);
	F(gp_pager_stats, host_used); F(gp_pager_stats, host_budget);
	F(gp_pager_stats, weights_dropped); F(gp_pager_stats, weights_written);
	S(gp_pager_info); F(gp_pager_info, struct_size); F(gp_pager_info, device_name);
	F(gp_pager_info, device); F(gp_pager_info, simulated); F(gp_pager_info, driver_path);
	F(gp_pager_info, driver_version); F(gp_pager_info, chunk_size);
	F(gp_pager_info, vram_budget); F(gp_pager_info, host_budget); F(gp_pager_info, policy);
	F(gp_pager_info, link_h2d_gbps); F(gp_pager_info, checksum_gbps);
	S(gp_verify_result); F(gp_verify_result, struct_size); F(gp_verify_result, tensors_checked);
	F(gp_verify_result, mismatches); F(gp_verify_result, first_mismatch);
	F(gp_verify_result, device_checksum); F(gp_verify_result, file_checksum);
	S(gp_model_options); F(gp_model_options, struct_size); F(gp_model_options, chunk_size);
	F(gp_model_options, group_pattern);
	S(gp_file_info); F(gp_file_info, struct_size); F(gp_file_info, path); F(gp_file_info, name);
	F(gp_file_info, size); F(gp_file_info, header_bytes); F(gp_file_info, n_tensors);
	F(gp_file_info, n_metadata);
	S(gp_env_var); F(gp_env_var, struct_size); F(gp_env_var, name); F(gp_env_var, accepted);
	F(gp_env_var, default_value); F(gp_env_var, help); F(gp_env_var, value);
	S(gp_sample_arch_info); F(gp_sample_arch_info, struct_size);
	F(gp_sample_arch_info, n_tensors); F(gp_sample_arch_info, params);
	F(gp_sample_arch_info, bytes); F(gp_sample_arch_info, dtype);
	S(gp_sample_options); F(gp_sample_options, struct_size); F(gp_sample_options, arch);
	F(gp_sample_options, scale); F(gp_sample_options, seed); F(gp_sample_options, dtype);
	F(gp_sample_options, shard_size); F(gp_sample_options, force);
	F(gp_sample_options, progress); F(gp_sample_options, progress_ctx);
	S(gp_sample_result); F(gp_sample_result, struct_size); F(gp_sample_result, n_files);
	F(gp_sample_result, n_tensors); F(gp_sample_result, tensor_bytes);
	F(gp_sample_result, file_bytes);
	return 0;
}

/*
 * test_heap_groups.c - a heap's chunks grouped by the tensors they hold
 * (gp_heap_regroup): file-backed runs of one block become one group named
 * after it, anything else stays a chunk alone, a write splits a group, and
 * only what may be evicted, without repeats, reaches the policy.  The heap
 * is filled as the shim fills it: the file's bytes are copied to the device
 * and each copy is noted with its file range; every byte is then checked
 * on the device against the file, after the policy has paged the heap.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cuda_env.h"
#include "common/st_fixture.h"
#include "heap.h"
#include "kernels.h"
#include "pager.h"

#define MIB (1ull << 20)
#define CHUNK (2 * MIB)
#define HEAP_CHUNKS 16u

/* Two blocks of a 3 MiB and a 1 MiB tensor, then a head: chunk-aligned as the shim places them. */
static const struct {
	const char *name;
	uint64_t bytes, heap_off;
} tensors[] = {
	{ "blocks.0.attn.weight", 3 * MIB, 0 },
	{ "blocks.0.norm.weight", 1 * MIB, 4 * MIB },
	{ "blocks.1.attn.weight", 3 * MIB, 6 * MIB },
	{ "blocks.1.norm.weight", 1 * MIB, 10 * MIB },
	{ "head.weight", 1 * MIB, 12 * MIB },
};
#define N_TENSORS (sizeof(tensors) / sizeof(tensors[0]))

static char *dir;
static int fd = -1;
static uint8_t *file_bytes;
static uint64_t data_start;
static struct gp_pager *pager;
static struct gp_model *heap;
static struct gp_heap_file *file;

static void write_model(void)
{
	char header[1024];
	size_t len = 0;
	uint64_t off = 0;
	char *path;
	struct stat st;

	len += (size_t)snprintf(header + len, sizeof(header) - len, "{");
	for (size_t i = 0; i < N_TENSORS; i++) {
		len += (size_t)snprintf(header + len, sizeof(header) - len,
					"%s'%s': {'dtype': 'U8', 'shape': [%llu], "
					"'data_offsets': [%llu, %llu]}", i ? ", " : "",
					tensors[i].name, (unsigned long long)tensors[i].bytes,
					(unsigned long long)off,
					(unsigned long long)(off + tensors[i].bytes));
		off += tensors[i].bytes;
	}
	snprintf(header + len, sizeof(header) - len, "}");
	gp_test_st_write(dir, "model.safetensors", header, off);
	path = gp_test_st_path(dir, "model.safetensors");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &st), 0);
	file_bytes = malloc((size_t)st.st_size);
	cr_assert_eq(pread(fd, file_bytes, (size_t)st.st_size, 0), st.st_size);
	data_start = (uint64_t)st.st_size - off;
	free(path);
}

static void setup(void)
{
	struct gp_pager_options po;
	struct stat st;

	gp_test_cuda_env();
	/* Each block is 44% of this small file: kept whole, not split into its tensors. */
	setenv("GPUPAGER_GROUP_SPLIT", "off", 1);
	dir = gp_test_st_dir_new_in("/var/tmp");
	write_model();
	gp_pager_options_init(&po);
	po.policy = "auto";
	/* Three chunks for weights; one for the heap's checksum word, one for the test's. */
	po.vram_budget = 5 * CHUNK;
	po.host_budget = 32 * MIB;
	cr_assert_eq(gp_pager_open(&po, &pager), 0, "%s", gp_last_error());
	cr_assert_eq(gp_heap_open(pager, "app memory", HEAP_CHUNKS * CHUNK, &heap), 0, "%s",
		     gp_last_error());
	cr_assert_eq(gp_heap_back_enable(heap, false), 0, "%s", gp_last_error());
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(gp_heap_file_get(heap, fd, st.st_dev, st.st_ino, &file), 0, "%s",
		     gp_last_error());
}

static void teardown(void)
{
	gp_heap_back_free(heap);
	gp_model_close(heap);
	gp_pager_close(pager);
	close(fd);
	free(file_bytes);
	gp_test_st_dir_remove(dir);
}

TestSuite(heap_groups, .init = setup, .fini = teardown, .timeout = 120);

/* Copy tensor i from the file to its heap place, as the app does, and note where it came from. */
static void copy_in(size_t i)
{
	uint64_t off = tensors[i].heap_off, len = tensors[i].bytes;
	uint64_t file_off = data_start;

	for (size_t k = 0; k < i; k++)
		file_off += tensors[k].bytes;
	cr_assert_eq(gp_acquire_range_on(heap, off, len, GP_ACCESS_WRITE, pager->own_stream), 0, "%s",
		     gp_last_error());
	cr_assert_eq(gp_copy_h2d(pager->gpu, heap->range->base + off, file_bytes + file_off, len,
				 pager->own_stream), 0);
	cr_assert_eq(gp_stream_sync(pager->gpu, pager->own_stream), 0);
	gp_heap_note_file(heap, off, len, file, file_off);
	cr_assert_eq(gp_release_range_on(heap, off, len, pager->own_stream), 0);
}

static void copy_all_in(void)
{
	for (size_t i = 0; i < N_TENSORS; i++)
		copy_in(i);
}

static struct gp_group_info group(uint32_t g)
{
	struct gp_group_info gi = { .struct_size = sizeof(gi) };

	cr_assert_eq(gp_model_group_info(heap, g, &gi), 0, "%s", gp_last_error());
	return gi;
}

static void expect_group(uint32_t g, const char *name, uint32_t first_chunk, uint32_t chunks)
{
	struct gp_group_info gi = group(g);

	cr_expect_str_eq(gi.name, name, "group %u", g);
	cr_expect_eq(gi.range_offset, (uint64_t)first_chunk * CHUNK, "group %u (%s) starts at "
		     "chunk %llu, expected %u", g, gi.name,
		     (unsigned long long)(gi.range_offset / CHUNK), first_chunk);
	cr_expect_eq(gi.total_chunks, chunks, "group %u (%s): %u chunks, expected %u", g, gi.name,
		     gi.total_chunks, chunks);
}

Test(heap_groups, chunks_of_one_block_become_its_group)
{
	cr_assert_eq(gp_model_group_count(heap), HEAP_CHUNKS, "a heap starts with chunk groups");
	copy_all_in();
	cr_assert_eq(gp_heap_regroup(heap), 0, "%s", gp_last_error());
	/* blocks.0: chunks 0-2, blocks.1: 3-5, head: 6, then 9 untouched chunks alone. */
	cr_assert_eq(gp_model_group_count(heap), 3 + HEAP_CHUNKS - 7);
	expect_group(0, "blocks.0", 0, 3);
	expect_group(1, "blocks.1", 3, 3);
	expect_group(2, "head", 6, 1);
	expect_group(3, "chunk.7", 7, 1);
	cr_expect_eq(group(0).block_index, 0);
	cr_expect_eq(group(1).block_index, 1);
	cr_expect_eq(group(2).block_index, -1);
}

Test(heap_groups, a_written_chunk_leaves_its_group)
{
	copy_all_in();
	cr_assert_eq(gp_heap_regroup(heap), 0, "%s", gp_last_error());
	gp_heap_note_write(heap, 1 * CHUNK + 100, 8);
	cr_assert_eq(gp_heap_regroup(heap), 0, "%s", gp_last_error());
	expect_group(0, "blocks.0", 0, 1);
	expect_group(1, "chunk.1", 1, 1);
	expect_group(2, "blocks.0", 2, 1);
	expect_group(3, "blocks.1", 3, 3);
}

Test(heap_groups, nothing_copied_since_keeps_the_groups)
{
	copy_all_in();
	cr_assert_eq(gp_heap_regroup(heap), 0);
	cr_assert_eq(gp_heap_regroup(heap), 0);
	cr_expect_eq(gp_model_group_count(heap), 3 + HEAP_CHUNKS - 7);
	/* Copying the same bytes again (an app reloading its weights) changes nothing either. */
	copy_in(0);
	cr_assert_eq(gp_heap_regroup(heap), 0);
	expect_group(0, "blocks.0", 0, 3);
}

Test(heap_groups, only_evictable_groups_reach_the_policy_and_never_twice_in_a_row)
{
	copy_all_in();
	gp_heap_note_write(heap, 14 * CHUNK, 8);        /* an activation: anonymous */
	cr_assert_eq(gp_heap_regroup(heap), 0);
	pthread_mutex_lock(&pager->lock);
	cr_expect(gp_heap_back_reports(heap, 0), "blocks.0 is file-backed");
	cr_expect_not(gp_heap_back_reports(heap, 0), "blocks.0 again, right after: no news");
	cr_expect(gp_heap_back_reports(heap, 1));
	cr_expect(gp_heap_back_reports(heap, 0), "blocks.0 after blocks.1");
	cr_expect_not(gp_heap_back_reports(heap, heap->chunk_group[14]),
		      "anonymous memory is never evicted under the weights mode");
	cr_expect_not(gp_heap_back_reports(heap, heap->chunk_group[15]), "nor untouched memory");
	pthread_mutex_unlock(&pager->lock);
}

/* Checksum every tensor on the device, in place, against the file's bytes. */
static void check_bytes(struct gp_kernels *k, uint64_t word)
{
	uint64_t file_off = data_start, got, before;

	cr_assert_eq(gp_copy_d2h(pager->gpu, &before, word, 8, pager->own_stream), 0);

	for (size_t i = 0; i < N_TENSORS; i++) {
		uint64_t off = tensors[i].heap_off, len = tensors[i].bytes;

		cr_assert_eq(gp_acquire_range_on(heap, off, len, GP_ACCESS_READ, pager->own_stream), 0, "%s",
			     gp_last_error());
		cr_assert_eq(gp_kernel_checksum(k, pager->own_stream, heap->range->base + off, len,
						0, word), 0);
		cr_assert_eq(gp_copy_d2h(pager->gpu, &got, word, 8, pager->own_stream), 0);
		cr_assert_eq(gp_stream_sync(pager->gpu, pager->own_stream), 0);
		cr_assert_eq(gp_release_range_on(heap, off, len, pager->own_stream), 0);
		cr_expect_eq(got - before, gp_checksum(file_bytes + file_off, len), "%s differs",
			     tensors[i].name);
		before = got;
		file_off += len;
	}
}

Test(heap_groups, paged_by_block_the_bytes_stay_the_files)
{
	struct gp_kernels *k = NULL;
	struct gp_pager_stats st = { .struct_size = sizeof(st) };
	struct gp_heap_back_stats back;
	uint64_t word = 0, zero = 0;

	copy_all_in();
	cr_assert_eq(gp_heap_regroup(heap), 0);
	cr_assert_eq(gp_kernels_load(pager->gpu, &k), 0, "%s", gp_last_error());
	cr_assert_eq(gp_pager_alloc(pager, 8, &word), 0);
	cr_assert_eq(gp_copy_h2d(pager->gpu, word, &zero, 8, pager->own_stream), 0);
	/* Seven chunks of weights through a budget of three, several passes. */
	for (int pass = 0; pass < 6; pass++)
		check_bytes(k, word);
	cr_assert_eq(gp_pager_get_stats(pager, &st), 0);
	gp_heap_back_get_stats(heap, &back);
	cr_expect_gt(st.dev_evictions, 0, "the budget forced evictions");
	cr_expect_gt(back.dropped, 0, "weights were dropped, not swapped");
	cr_expect_eq(st.bytes_d2h, 0);
	cr_expect_eq(st.weights_dropped, back.dropped, "the counter is the heap's count");
	cr_expect_eq(st.weights_written, 0, "the checksum kernel only reads");
	gp_pager_free(pager, word, NULL);
	gp_kernels_unload(k);
}

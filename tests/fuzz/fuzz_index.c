/*
 * fuzz_index.c - gp_st_index_parse on arbitrary bytes.  An accepted index
 * must hold plain shard names, each entry pointing at one of its shards.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

static int is_shard(const struct gp_st_index *index, const char *name)
{
	for (size_t s = 0; s < index->n_shards; s++)
		if (index->shards[s] == name)
			return 1;
	return 0;
}

static void check_accepted(const struct gp_st_index *index)
{
	if (index->n_entries == 0 || index->n_shards == 0 || index->n_shards > index->n_entries)
		abort();
	for (size_t s = 0; s < index->n_shards; s++) {
		const char *name = index->shards[s];

		if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
			abort();
	}
	for (size_t i = 0; i < index->n_entries; i++)
		if (!index->tensor_names[i][0] || !is_shard(index, index->shard_names[i]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gp_st_index *index = NULL;

	if (gp_st_index_parse((const char *)data, size, "fuzz.index.json", &index) == 0) {
		check_accepted(index);
		gp_st_index_free(index);
	} else if (index || !gp_last_error()[0]) {
		abort();
	}
	return 0;
}

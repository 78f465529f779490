/*
 * trace.h - what the trace writer (trace.c), reader (trace_read.c), curves
 * (mrc.c) and plans (plan.c) share (internal).
 *
 * Trace format v2: text, one record per line, fields separated by one
 * space; a name or path is the last field, with bytes below 0x21, 0x7f and
 * '\' written as \xHH.
 *
 *   # gpupager trace v2
 *   model ID CHUNK_SIZE N_CHUNKS N_GROUPS RANGE_SIZE FINGERPRINT SOURCE
 *   group ID INDEX FIRST_CHUNK CHUNK_COUNT BYTES BLOCK NAME      (N_GROUPS lines, in order)
 *   note NS KEY VALUE
 *   a NS ID GROUP FIRST_CHUNK CHUNKS STREAM LOADED H2D_BYTES DISK_BYTES
 *   r NS ID GROUP FIRST_CHUNK CHUNKS STREAM
 *   end NS
 *
 * A model's layout (its model and group lines) comes before its first
 * access; NS never decreases; "end" closes a complete trace.
 */
#ifndef GP_PAGER_TRACE_H
#define GP_PAGER_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy.h"

#define GP_TRACE_MAGIC "# gpupager trace v"

/* The layout fingerprint: FNV-1a over the chunk size, counts and every group. */
struct gp_fp {
	uint64_t h;
};
void gp_fp_init(struct gp_fp *fp, uint64_t chunk_size, uint32_t n_chunks, uint32_t n_groups);
void gp_fp_group(struct gp_fp *fp, const char *name, uint32_t first_chunk, uint32_t chunk_count);
uint64_t gp_fp_done(const struct gp_fp *fp);

/* GPUPAGER_TRACE at pager open: the first pager writes path, the Nth path.N. */
struct gp_pager;
int gp_trace_start_env(struct gp_pager *p, const char *path);

/* Write s escaped (see above) to f. */
void gp_trace_put_escaped(FILE *f, const char *s);
/* Undo the escaping of s[0..len) into a new string; NULL for a bad escape or NUL. */
char *gp_trace_unescape(const char *s, size_t len);

/* ---- the parsed trace (trace_read.c) */

struct gp_trace_model {
	char *source;
	uint64_t chunk_size, range_size, fingerprint;
	uint32_t n_chunks, n_groups, groups_seen;
	char **group_name;              /* [n_groups] */
	uint32_t *first, *count;        /* [n_groups]; count 0: never seen (v1) */
	uint64_t *bytes;                /* [n_groups] */
	int64_t *block;                 /* [n_groups] */
	uint32_t *seq;                  /* acquired groups, in order */
	size_t n_seq, cap_seq;
	uint64_t h2d_bytes, disk_bytes, loaded_chunks;
};

struct gp_trace {
	uint32_t version;
	struct gp_trace_model *models;
	uint32_t n_models, cap_models;
	int complete;
	uint64_t n_lines, n_acquires, n_releases;
	uint64_t first_ns, last_ns;
	double link_gbps, compute_ns_per_step;
};

/*
 * The policy layout of a model of the trace, groups never seen dropped:
 * map[g] is the compact index of trace group g (UINT32_MAX: dropped).
 * Arrays are malloc'ed into *l (free with gp_trace_layout_free).
 */
struct gp_trace_layout {
	struct gp_policy_layout layout;
	uint32_t *first, *count, *map, *unmap;
	int64_t *block;
	uint32_t *seq;                  /* the model's accesses in compact indices */
	size_t n_seq;
	uint32_t largest;               /* chunks of the largest group */
};
int gp_trace_layout_get(const struct gp_trace *t, uint32_t model, struct gp_trace_layout *l);
void gp_trace_layout_free(struct gp_trace_layout *l);

#endif

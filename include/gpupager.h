/*
 * gpupager.h - public interface of libgpupager, a userspace pager for GPU
 * model weights.
 *
 * Conventions:
 *   - Every function that can fail returns an int: 0 (GP_OK) or a positive
 *     count on success, a negative GP_E* code on failure.  gp_strerror()
 *     names a code; gp_last_error() gives the detailed message of the last
 *     failure on the calling thread (file, tensor, rule broken, what to do).
 *   - Names are snake_case with a gp_ prefix; types are opaque structs.
 *   - Configuration comes from GPUPAGER_* environment variables, parsed once
 *     and strictly (see README.md, "Environment").
 */
#ifndef GPUPAGER_H
#define GPUPAGER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GP_VERSION_MAJOR 0
#define GP_VERSION_MINOR 2
#define GP_VERSION_PATCH 0
#define GP_VERSION_STRING "0.2.0"
/* One integer for compile-time comparisons: 0x00MMmmpp. */
#define GP_VERSION_NUMBER \
	((GP_VERSION_MAJOR << 16) | (GP_VERSION_MINOR << 8) | GP_VERSION_PATCH)

#if defined(__GNUC__)
#define GP_API __attribute__((visibility("default")))
#else
#define GP_API
#endif

/* ---------------------------------------------------------------- errors */

enum gp_error {
	GP_OK = 0,
	GP_EINVAL = -1,        /* invalid argument */
	GP_ENOMEM = -2,        /* out of host memory (malloc failed) */
	GP_EIO = -3,           /* I/O error reading or writing a file */
	GP_ENOENT = -4,        /* no such file, tensor, group or key */
	GP_EFORMAT = -5,       /* malformed model file */
	GP_EUNSUPPORTED = -6,  /* valid but unsupported (dtype, feature) */
	GP_ENODRIVER = -7,     /* CUDA driver library not found or unusable */
	GP_ECUDA = -8,         /* the CUDA driver returned an error */
	GP_EDEVMEM = -9,       /* out of device memory */
	GP_EHOSTMEM = -10,     /* insufficient host memory for the request */
	GP_ECONFIG = -11,      /* bad GPUPAGER_* environment variable */
	GP_ERANGE = -12,       /* value out of range or arithmetic overflow */
	GP_ENOSYS = -13,       /* facility not available on this system */
	GP_ESTATE = -14,       /* call not valid in the object's current state */
	GP_EBUSY = -15,        /* resource busy */
	GP_EEXIST = -16,       /* already exists */
	GP_ETIMEDOUT = -17,    /* operation timed out */
	GP_ERROR_MIN = -17
};

/* Short description of an error code ("malformed model file"); never NULL. */
GP_API const char *gp_strerror(int err);
/* Symbolic name of an error code ("GP_EFORMAT"); never NULL. */
GP_API const char *gp_error_name(int err);
/*
 * Detailed message of the most recent failure on this thread, e.g.
 * "model.safetensors: tensor 'w': data_offsets [0, 12] span 12 bytes but
 * shape [2, 2] of F32 needs 16".  Empty string if none.
 */
GP_API const char *gp_last_error(void);

/* Version of the library actually loaded (may differ from the header). */
GP_API const char *gp_version(void);

/* --------------------------------------------------------------- logging */

/* GPUPAGER_LOG=error|warn|info|debug selects the level; default warn. */
enum gp_log_level {
	GP_LOG_ERROR = 0,
	GP_LOG_WARN = 1,
	GP_LOG_INFO = 2,
	GP_LOG_DEBUG = 3
};

/* ---------------------------------------------------------------- dtypes */

enum gp_dtype {
	GP_DTYPE_BOOL,
	GP_DTYPE_U8,
	GP_DTYPE_I8,
	GP_DTYPE_I16,
	GP_DTYPE_U16,
	GP_DTYPE_I32,
	GP_DTYPE_U32,
	GP_DTYPE_I64,
	GP_DTYPE_U64,
	GP_DTYPE_F16,
	GP_DTYPE_BF16,
	GP_DTYPE_F32,
	GP_DTYPE_F64,
	GP_DTYPE_F8_E4M3,
	GP_DTYPE_F8_E5M2,
	GP_DTYPE_F8_E8M0,
	GP_DTYPE_COUNT
};

/* Safetensors name of a dtype ("BF16"), or NULL if out of range. */
GP_API const char *gp_dtype_name(enum gp_dtype dtype);
/* Size in bytes of one element, or 0 if out of range. */
GP_API size_t gp_dtype_size(enum gp_dtype dtype);
/* Parse a safetensors dtype name; GP_EUNSUPPORTED if unknown. */
GP_API int gp_dtype_parse(const char *name, enum gp_dtype *out);

/* --------------------------------------------------------------- parsing */

/*
 * Parse a byte size: "123", "512K", "512M", "8G", "8GiB", "1T" (binary
 * multiples, case-insensitive, optional "B"/"iB" suffix).  Overflow and
 * trailing garbage are errors (GP_EINVAL / GP_ERANGE).
 */
GP_API int gp_parse_size(const char *text, uint64_t *bytes);

/*
 * Parse a budget: a size as above, or a percentage "40%" (0 < p <= 100,
 * decimals allowed).  Exactly one of *bytes / *percent is set non-zero.
 */
GP_API int gp_parse_budget(const char *text, uint64_t *bytes, double *percent);

/*
 * A set of block indices, parsed from the grammar "0-5,7,9-11" (used by
 * --swap-blocks / GPUPAGER_SWAP_BLOCKS).  Ranges are inclusive; order and
 * overlap are allowed.  Errors, through gp_last_error(), are exactly
 * "Invalid range: '<part>'" and "Invalid integer: '<part>'".
 */
struct gp_ranges;
GP_API int gp_ranges_parse(const char *text, struct gp_ranges **out);
GP_API int gp_ranges_contains(const struct gp_ranges *ranges, uint64_t index);
/* Number of (start, end) intervals after merging, sorted ascending. */
GP_API size_t gp_ranges_count(const struct gp_ranges *ranges);
GP_API void gp_ranges_get(const struct gp_ranges *ranges, size_t i,
			  uint64_t *start, uint64_t *end);
GP_API void gp_ranges_free(struct gp_ranges *ranges);

/* ------------------------------------------------------------- checksums */

/*
 * The checksum used wherever data moves (tests, --verify, the checksum
 * kernel): the sum, modulo 2^64, of mix64(w_i + i * 0x9e3779b97f4a7c15) over
 * the little-endian 64-bit words w_i (the last one zero-padded).  Pieces
 * combine by addition: gp_checksum_at(piece, len, offset_of_piece) with
 * 8-byte aligned offsets.  gp_mix64 is the splitmix64 finalizer.
 */
GP_API uint64_t gp_checksum(const void *data, size_t len);
GP_API uint64_t gp_checksum_at(const void *data, size_t len, uint64_t byte_offset);
GP_API uint64_t gp_mix64(uint64_t x);

/* --------------------------------------------------------------- objects */

/*
 * A pager owns one CUDA device's share of VRAM (a pool of physical chunks),
 * a host tier (pinned slots on the GPU's NUMA node) and a file reader.
 * Models opened on it get one reserved device range each: every tensor has
 * a device address that stays valid until the model is closed, whether or
 * not its bytes are resident.  Everything is thread-safe: several threads
 * and several models at once.
 */
struct gp_pager;
struct gp_model;

/* A CUstream, without including cuda.h; NULL is the pager's own stream (see gp_acquire_group). */
typedef void *gp_stream_t;

#define GP_MAX_DIMS 8

struct gp_tensor_info {
	const char *name;
	enum gp_dtype dtype;
	int ndim;
	int64_t shape[GP_MAX_DIMS];
	uint64_t nbytes;
	uint32_t group;         /* index of the group holding the tensor */
	uint64_t range_offset;  /* offset in the model's device range */
	uint64_t device_ptr;    /* CUdeviceptr, stable for the model's life */
};

struct gp_group_info {
	const char *name;       /* "blocks.3", "patch_embedding", ... */
	int64_t block_index;    /* -1 for a group that is not a repeated block */
	uint32_t n_tensors;
	uint64_t nbytes;        /* tensor bytes */
	uint64_t range_offset;  /* chunk-aligned */
	uint64_t range_size;    /* whole chunks */
	uint32_t resident_chunks;
	uint32_t total_chunks;
};

struct gp_pager_options {
	int device;                     /* CUDA ordinal (default 0) */
	const char *driver_path;        /* NULL: GPUPAGER_CUDA_LIB or libcuda.so.1 */
	/* VRAM budget: bytes, or percent of free device memory; both 0: GPUPAGER_VRAM_BUDGET. */
	uint64_t vram_budget;
	double vram_budget_pct;
	uint64_t host_budget;           /* 0: GPUPAGER_HOST_BUDGET */
	const char *policy;             /* "auto", "lru", "clock", "static"; NULL: GPUPAGER_POLICY */
	const char *swap_blocks;        /* static policy's streamed blocks; NULL: GPUPAGER_SWAP_BLOCKS or chosen */
	int load_all;                   /* 1: load whole models at open when they fit (no paging) */
};

/* Fill opts with defaults (everything from the environment). */
GP_API void gp_pager_options_init(struct gp_pager_options *opts);

/*
 * Open the pager: load the driver, create the VRAM chunk pool for the
 * budget and the pinned host pool.  GP_ENODRIVER without a driver (the
 * message says what to install), GP_ECONFIG for a bad GPUPAGER_* value,
 * GP_EHOSTMEM when the host budget exceeds what the machine can give.
 */
GP_API int gp_pager_open(const struct gp_pager_options *opts, struct gp_pager **out);
/*
 * Close the pager; models still open are closed first (each waits for its
 * chunks' last uses), allocations are given back: work the app queued on
 * them must be finished.
 */
GP_API void gp_pager_close(struct gp_pager *pager);

/*
 * Device memory for the app from the pager's VRAM budget: when the budget
 * is used up, weight chunks not in use are evicted to make room (and the
 * allocation retried), so the app does not hit an out-of-memory error
 * while weights could give way.  Rounded up to whole chunks.  gp_pager_free
 * waits for the work queued so far on stream (the last one using the memory;
 * NULL: the pager's own), then gives the memory back.
 */
GP_API int gp_pager_alloc(struct gp_pager *pager, uint64_t size, uint64_t *device_ptr);
GP_API int gp_pager_free(struct gp_pager *pager, uint64_t device_ptr, gp_stream_t stream);

/* Open a model: a .safetensors file, an index, or a directory (see README.md, "Models"). */
GP_API int gp_model_open(struct gp_pager *pager, const char *path, struct gp_model **out);
GP_API void gp_model_close(struct gp_model *model);

GP_API uint32_t gp_model_tensor_count(const struct gp_model *model);
GP_API uint32_t gp_model_group_count(const struct gp_model *model);
/* Look a tensor up by name (GP_ENOENT) or by index. */
GP_API int gp_model_tensor(const struct gp_model *model, const char *name,
			   struct gp_tensor_info *info);
GP_API int gp_model_tensor_at(const struct gp_model *model, uint32_t index,
			      struct gp_tensor_info *info);
GP_API int gp_model_group_info(const struct gp_model *model, uint32_t group,
			       struct gp_group_info *info);
/* Index of the group named name ("blocks.7"), or GP_ENOENT. */
GP_API int gp_model_group_find(const struct gp_model *model, const char *name);
/* Base device address and size of the model's range. */
GP_API uint64_t gp_model_device_base(const struct gp_model *model);
GP_API uint64_t gp_model_device_size(const struct gp_model *model);

/*
 * Acquire/release.  Acquiring makes the bytes resident and usable by work
 * queued on stream after the call: copies are queued on the pager's copy
 * stream and stream waits on them (no host-side wait when the data is in
 * flight).  Releasing records that work queued on stream so far is the
 * last use; the chunks become evictable once the GPU passes that point.
 * Acquires nest (counted).  With stream NULL the pager's own stream is used
 * and acquire returns with the data resident.
 *
 * GP_ACCESS_WRITE marks the range dirty: on eviction it is copied back to
 * the host tier first, never dropped.
 */
enum gp_access { GP_ACCESS_READ = 0, GP_ACCESS_WRITE = 1 };

GP_API int gp_acquire_group(struct gp_model *model, uint32_t group, gp_stream_t stream);
GP_API int gp_release_group(struct gp_model *model, uint32_t group, gp_stream_t stream);
GP_API int gp_acquire_range(struct gp_model *model, uint64_t offset, uint64_t len,
			    enum gp_access access, gp_stream_t stream);
GP_API int gp_release_range(struct gp_model *model, uint64_t offset, uint64_t len,
			    gp_stream_t stream);
GP_API int gp_acquire_tensor(struct gp_model *model, const char *name, enum gp_access access,
			     gp_stream_t stream);
GP_API int gp_release_tensor(struct gp_model *model, const char *name, gp_stream_t stream);

/* Hints: start loading a group now; the app is done with a group for this iteration. */
GP_API int gp_hint_prefetch(struct gp_model *model, uint32_t group);
GP_API int gp_hint_done(struct gp_model *model, uint32_t group);

/*
 * Whole-model offload: write dirty data back, keep every chunk in the host
 * tier under key, and give the device chunks back.  GP_EHOSTMEM before
 * anything moves when the host tier cannot hold the model.  Restore brings
 * the model back to the device (GP_ENOENT: unknown key).  Pointers stay
 * valid throughout; an acquire of an offloaded model restores on demand.
 */
GP_API int gp_model_offload(struct gp_model *model, const char *key);
GP_API int gp_model_restore(struct gp_pager *pager, const char *key);

struct gp_pager_stats {
	uint64_t hits, misses;                  /* acquires fully resident / not */
	uint64_t chunk_hits, chunk_misses;
	uint64_t bytes_disk;                    /* file -> host */
	uint64_t bytes_h2d, bytes_d2h;
	uint64_t host_hits;                     /* chunk loads served from the host tier */
	uint64_t dev_evictions, host_evictions;
	uint64_t prefetch_issued, prefetch_hits, prefetch_wasted;
	uint64_t stall_ns;                      /* time acquires waited for data */
	uint64_t vram_used, vram_budget;
	uint64_t host_used, host_budget;
};
GP_API int gp_pager_get_stats(struct gp_pager *pager, struct gp_pager_stats *out);
/*
 * One line for logs: "VRAM 3.2/8.0 GiB, host 6.0/12.0 GiB, hit 91.3%,
 * prefetch 97.0%, stall 0.12 s".  Returns the length snprintf would.
 */
GP_API int gp_pager_stats_line(struct gp_pager *pager, char *buf, size_t len);

/*
 * Access trace: every acquire (model, group, offset, length, time) is
 * appended to path as text lines, for pagerstat and the policy benchmark.
 */
GP_API int gp_trace_start(struct gp_pager *pager, const char *path);
GP_API int gp_trace_stop(struct gp_pager *pager);

#ifdef __cplusplus
}
#endif

#endif /* GPUPAGER_H */

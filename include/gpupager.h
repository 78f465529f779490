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
#define GP_VERSION_MINOR 3
#define GP_VERSION_PATCH 0
#define GP_VERSION_STRING "0.3.0"
/* One integer for compile-time comparisons: 0x00MMmmpp. */
#define GP_VERSION_NUMBER \
	((GP_VERSION_MAJOR << 16) | (GP_VERSION_MINOR << 8) | GP_VERSION_PATCH)

#if defined(__GNUC__)
#define GP_API __attribute__((visibility("default")))
#else
#define GP_API
#endif

/* ---------------------------------------------------------------- errors */

/*
 * The error codes: X(name, value, description).  This list is the one
 * source of the codes, gp_error_name() and gp_strerror(); README.md's table
 * is checked against it by the tests.
 */
#define GP_ERROR_LIST(X) \
	X(GP_OK,           0,   "success") \
	X(GP_EINVAL,      -1,   "invalid argument") \
	X(GP_ENOMEM,      -2,   "out of host memory (an allocation failed)") \
	X(GP_EIO,         -3,   "I/O error reading or writing a file") \
	X(GP_ENOENT,      -4,   "no such file, tensor, group or key") \
	X(GP_EFORMAT,     -5,   "malformed model file") \
	X(GP_EUNSUPPORTED, -6,  "valid but unsupported (dtype, feature, version)") \
	X(GP_ENODRIVER,   -7,   "CUDA driver library not found or unusable") \
	X(GP_ECUDA,       -8,   "the CUDA driver returned an error") \
	X(GP_EDEVMEM,     -9,   "out of device memory") \
	X(GP_EHOSTMEM,    -10,  "insufficient host memory for the request") \
	X(GP_ECONFIG,     -11,  "bad GPUPAGER_* environment variable") \
	X(GP_ERANGE,      -12,  "value out of range or arithmetic overflow") \
	X(GP_ENOSYS,      -13,  "facility not available on this system") \
	X(GP_ESTATE,      -14,  "call not valid in the object's current state") \
	X(GP_EBUSY,       -15,  "resource busy") \
	X(GP_EEXIST,      -16,  "already exists") \
	X(GP_ETIMEDOUT,   -17,  "operation timed out")

#define GP_ERROR_ENUM_ROW(name, value, text) name = (value),
enum gp_error {
	GP_ERROR_LIST(GP_ERROR_ENUM_ROW)
	GP_ERROR_MIN = -17
};
#undef GP_ERROR_ENUM_ROW

/* Description of an error code ("malformed model file"); never NULL. */
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

/*
 * Check at run time that the loaded library can serve a program built
 * against header version `header_version` (pass GP_VERSION_NUMBER, or use
 * GP_CHECK_VERSION()).  Compatible: the same major version and a library
 * at least as new; while the major version is 0, the minor must match too
 * (0.x releases may change the ABI).  GP_EUNSUPPORTED otherwise, with a
 * message naming both versions.
 */
GP_API int gp_check_version(unsigned int header_version);
#define GP_CHECK_VERSION() gp_check_version(GP_VERSION_NUMBER)

/*
 * Structs that cross the ABI start with `uint32_t struct_size`.  The
 * caller sets it to sizeof(the struct) as it was compiled (an _init()
 * macro does it for option structs: it passes that sizeof to the
 * library's _init_size() function, which never writes past it; set it
 * yourself before passing an info or stats struct to be filled).  The library reads and writes only
 * the first struct_size bytes and, for structs it fills, sets struct_size
 * to the number of bytes it filled.  New fields are only ever appended, so
 * a program built against an older header keeps working with a newer
 * library.  A struct_size smaller than the first version of the struct is
 * GP_EINVAL.
 */

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
	/* Added later: the values above never change (ABI). */
	GP_DTYPE_F4,            /* MXFP4 E2M1, 4 bits */
	GP_DTYPE_F6_E2M3,       /* MXFP6, 6 bits */
	GP_DTYPE_F6_E3M2,       /* MXFP6, 6 bits */
	GP_DTYPE_F8_E4M3FNUZ,
	GP_DTYPE_F8_E5M2FNUZ,
	GP_DTYPE_C64,           /* complex, two F32 parts */
	GP_DTYPE_COUNT
};

/* Safetensors name of a dtype ("BF16"), or NULL if out of range. */
GP_API const char *gp_dtype_name(enum gp_dtype dtype);
/*
 * Size in bytes of one element; 0 if out of range, and 0 for the sub-byte
 * types (F4, F6_*), whose elements are packed: use gp_dtype_bits for those.
 */
GP_API size_t gp_dtype_size(enum gp_dtype dtype);
/*
 * Bits per element (4 for F4, 6 for F6_*, 8 * size for the others), or 0 if
 * out of range.  A tensor holds numel * bits / 8 bytes, and numel * bits must
 * be a multiple of 8 (the reference's rule).
 */
GP_API size_t gp_dtype_bits(enum gp_dtype dtype);
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
	uint32_t struct_size;   /* sizeof(struct gp_tensor_info), set by the caller */
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
	uint32_t struct_size;   /* sizeof(struct gp_group_info), set by the caller */
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
	uint32_t struct_size;           /* set by gp_pager_options_init() */
	int device;                     /* CUDA ordinal (default 0) */
	const char *driver_path;        /* NULL: GPUPAGER_CUDA_LIB or libcuda.so.1 */
	/* VRAM budget: bytes, or percent of free device memory; both 0: GPUPAGER_VRAM_BUDGET. */
	uint64_t vram_budget;
	double vram_budget_pct;
	uint64_t host_budget;           /* 0: GPUPAGER_HOST_BUDGET */
	const char *policy;             /* "auto", "lru", "clock", "static" ("plan" needs a plan); NULL: GPUPAGER_POLICY */
	const char *swap_blocks;        /* static policy's streamed blocks; NULL: GPUPAGER_SWAP_BLOCKS or chosen */
	int load_all;                   /* 1: load whole models at open when they fit (no paging) */
	/* Added after v1 (struct_size tells): */
	const char *plan;               /* plan file (pagerstat plan) to follow; NULL: GPUPAGER_PLAN */
};

/*
 * Fill opts with defaults (everything from the environment) and set its
 * struct_size.  gp_pager_open copies and validates every option: strings
 * are copied, so the caller's buffers may go away after the call.
 */
GP_API void gp_pager_options_init_size(struct gp_pager_options *opts, size_t size);
#define gp_pager_options_init(opts) gp_pager_options_init_size((opts), sizeof(*(opts)))

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

/*
 * Open a model: a .safetensors file, an index, or a directory (see README.md,
 * "Models").  pager NULL describes it without a device (gp_model_describe).
 */
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

/*
 * Counters of one pager, since it was opened (gp_pager_get_stats), or of
 * every pager the process has had open since its statistics segment was
 * created (gp_process_get_stats: what pagerstat shows).  Gauges (vram_*,
 * host_*) are what is held now.
 */
struct gp_pager_stats {
	uint32_t struct_size;                   /* sizeof(struct gp_pager_stats), set by the caller */
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
	/* The shim's file-backed chunks: evicted without a copy / found written and swapped. */
	uint64_t weights_dropped, weights_written;
};
GP_API int gp_pager_get_stats(struct gp_pager *pager, struct gp_pager_stats *out);
/* The process's totals over all its pagers; GP_ENOENT when no pager is open. */
GP_API int gp_process_get_stats(struct gp_pager_stats *out);
/*
 * One line for logs: "VRAM 3.2 GiB/8.0 GiB, host 6.0 GiB/12.0 GiB, hit 91.3%,
 * prefetch 97.0%, stall 0.12 s".  Returns the length snprintf would.
 */
GP_API int gp_pager_stats_line(struct gp_pager *pager, char *buf, size_t len);

/*
 * Access trace: every acquire (model, group, offset, length, time) is
 * appended to path as text lines, for pagerstat and the policy benchmark.
 */
GP_API int gp_trace_start(struct gp_pager *pager, const char *path);
GP_API int gp_trace_stop(struct gp_pager *pager);

/* ------------------------------------------------------ pager facts, streams */

/*
 * What a pager runs on.  Strings point into the pager and stay valid until
 * it is closed.  The two rates are measured on the first call (the later
 * ones return them again): H2D copies of pinned host memory (one untimed
 * copy, then 16 timed ones of up to 16 MiB, taken from the VRAM budget for
 * the moment) and the checksum kernel over twice the device's L2 (at least
 * 16 MiB, in budget room the weights leave; the median of 5 passes).
 * checksum_gbps is 0 when the kernel module cannot be loaded (see
 * GPUPAGER_KERNELS).
 */
struct gp_pager_info {
	uint32_t struct_size;           /* sizeof(struct gp_pager_info), set by the caller */
	const char *device_name;        /* "NVIDIA H200", or the simulator's name */
	int device;                     /* CUDA ordinal */
	int simulated;                  /* 1: the simulated device, no GPU is used */
	const char *driver_path;        /* the driver library actually loaded (full path) */
	int driver_version;             /* cuDriverGetVersion: 1000 * major + 10 * minor */
	uint64_t chunk_size;            /* residency unit, bytes */
	uint64_t vram_budget;           /* bytes of device memory for weights and allocations */
	uint64_t host_budget;           /* bytes of pinned host memory (the host tier) */
	const char *policy;             /* "auto", "lru", "clock" or "static" */
	double link_h2d_gbps;           /* measured host-to-device rate, GB/s (10^9 bytes) */
	double checksum_gbps;           /* measured checksum kernel rate, GB/s */
};
/* Fill info; an error only when the measurement fails (the other fields are filled). */
GP_API int gp_pager_info(struct gp_pager *pager, struct gp_pager_info *info);

/*
 * The host budget a pager opened with host_budget 0 gets: GPUPAGER_HOST_BUDGET
 * resolved against this machine's memory.
 */
GP_API int gp_host_budget_default_bytes(uint64_t *bytes);
/* 0 if name is a policy gp_pager_open accepts, else GP_EINVAL naming the choices. */
GP_API int gp_policy_check(const char *name);

/*
 * Streams for programs without CUDA code of their own (they are CUstreams,
 * non-blocking, on the pager's device).  NULL in synchronize and delay is
 * the pager's own stream.  gp_pager_stream_delay queues a host function
 * that holds the stream for ns nanoseconds: simulated compute, for
 * benchmarks and demos.
 */
GP_API int gp_pager_stream_create(struct gp_pager *pager, gp_stream_t *out);
GP_API void gp_pager_stream_destroy(struct gp_pager *pager, gp_stream_t stream);
GP_API int gp_pager_stream_synchronize(struct gp_pager *pager, gp_stream_t stream);
GP_API int gp_pager_stream_delay(struct gp_pager *pager, gp_stream_t stream, uint64_t ns);

/* ----------------------------------------------------------- verification */

/*
 * Check on the device that a model's bytes are its files' bytes, with the
 * checksum kernel (gp_checksum of each tensor).
 *
 *   gp_model_verify_prepare  reads the files once and keeps every tensor's
 *                            checksum in the model (optional: collect does
 *                            it on first use; call it to time that phase);
 *   gp_model_verify_group    queues, on stream, a checksum of each tensor of
 *                            group: acquire the group on stream first and
 *                            release it after; nothing waits;
 *   gp_model_verify_collect  waits for stream, then compares every tensor
 *                            checksummed since the last collect (once or
 *                            several times) with its file.  Checksums queued
 *                            on other streams must be finished by then.
 *
 * The model keeps one result word per tensor in device memory (from the
 * VRAM budget, taken on the first verify_group) and never resets it: the
 * kernel adds, and collect compares differences.  A mismatch is not an
 * error: collect returns 0 and counts it.
 */
struct gp_verify_result {
	uint32_t struct_size;           /* sizeof(struct gp_verify_result), set by the caller */
	uint64_t tensors_checked;       /* tensor checksums compared by this collect */
	uint64_t mismatches;
	const char *first_mismatch;     /* name of the first tensor that differs, or NULL */
	uint64_t device_checksum;       /* of first_mismatch: what the device holds */
	uint64_t file_checksum;         /* and what its file holds */
};
GP_API int gp_model_verify_prepare(struct gp_model *model);
GP_API int gp_model_verify_group(struct gp_model *model, uint32_t group, gp_stream_t stream);
GP_API int gp_model_verify_collect(struct gp_model *model, gp_stream_t stream,
				   struct gp_verify_result *result);

/* ------------------------------------------------- models without a device */

/*
 * A model described without a pager: gp_model_open(NULL, path, &model) or,
 * with options, gp_model_describe.  Tensors, groups, files and the layout
 * are there; device addresses are 0 and acquire, release, hints, offload
 * and verify return GP_ESTATE.  Close it with gp_model_close.
 */
struct gp_model_options {
	uint32_t struct_size;           /* set by gp_model_options_init() */
	uint64_t chunk_size;            /* layout chunk (power of two >= 64K); 0: GPUPAGER_CHUNK_SIZE */
	const char *group_pattern;      /* block regex (see GPUPAGER_GROUP_PATTERN); NULL: that or built-in */
};
GP_API void gp_model_options_init_size(struct gp_model_options *opts, size_t size);
#define gp_model_options_init(opts) gp_model_options_init_size((opts), sizeof(*(opts)))
GP_API int gp_model_describe(const char *path, const struct gp_model_options *opts,
			     struct gp_model **out);

/* The path the model was opened with. */
GP_API const char *gp_model_source(const struct gp_model *model);
/* Chunk size of the model's layout (groups start on its boundaries). */
GP_API uint64_t gp_model_chunk_size(const struct gp_model *model);
/* Sum of the tensors' bytes (gp_model_device_size adds the layout's padding). */
GP_API uint64_t gp_model_tensor_bytes(const struct gp_model *model);

struct gp_file_info {
	uint32_t struct_size;           /* sizeof(struct gp_file_info), set by the caller */
	const char *path;               /* as opened */
	const char *name;               /* base name, as an index lists it */
	uint64_t size;                  /* bytes */
	uint64_t header_bytes;          /* the JSON header's length */
	uint32_t n_tensors;
	uint32_t n_metadata;            /* __metadata__ pairs */
};
GP_API uint32_t gp_model_file_count(const struct gp_model *model);
GP_API int gp_model_file_info(const struct gp_model *model, uint32_t file,
			      struct gp_file_info *info);
/* The i-th __metadata__ pair of a file, in file order; GP_ENOENT past the last. */
GP_API int gp_model_file_metadata(const struct gp_model *model, uint32_t file, uint32_t i,
				  const char **key, const char **value);
/* Where tensor index's bytes are: file index and absolute byte offset in it. */
GP_API int gp_model_tensor_location(const struct gp_model *model, uint32_t index,
				    uint32_t *file, uint64_t *file_offset);

/* ------------------------------------------------------- formatting sizes */

/* "100 B", "1.50 GiB" (binary units, 2 decimals); 32 bytes always suffice.  Returns buf. */
GP_API const char *gp_format_size(uint64_t bytes, char *buf, size_t len);

/* ------------------------------------------------------------------ text */

/*
 * Length (1-4) of the valid UTF-8 character (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF) at s, within avail bytes; 0 when s
 * does not start one.  Paths and names from files need not be UTF-8: JSON
 * and terminal output check them with this.
 */
GP_API size_t gp_utf8_char_len(const char *s, size_t avail);
/* Replace, in place, each byte of text that is not part of valid UTF-8 by '?'; returns how many. */
GP_API size_t gp_utf8_sanitize(char *text);

/* ------------------------------------------------------------ environment */

/* One GPUPAGER_* variable of the library's table (what `gpupager env` lists). */
struct gp_env_var {
	uint32_t struct_size;           /* sizeof(struct gp_env_var), set by the caller */
	const char *name;               /* "GPUPAGER_CHUNK_SIZE" */
	const char *accepted;           /* the accepted forms */
	const char *default_value;      /* as text */
	const char *help;
	const char *value;              /* set in this environment now, or NULL */
};
GP_API size_t gp_env_count(void);
/* Variable i (0 <= i < gp_env_count()); GP_ENOENT past the last. */
GP_API int gp_env_describe(size_t i, struct gp_env_var *var);
/* Parse the environment now: 0, or GP_ECONFIG naming the bad variable and value. */
GP_API int gp_env_check(void);

/* ---------------------------------------------------------- sample models */

/*
 * Sample models (README.md, "gpupager mkmodel"): the tensors of a published
 * architecture scaled by `scale`, with content a pure function of (seed,
 * tensor name, byte offset).  Written into a staging directory inside
 * out_dir and renamed into place when complete.
 */
GP_API size_t gp_sample_arch_count(void);
/* Name of architecture i ("wan2.1-14b"), or NULL past the last. */
GP_API const char *gp_sample_arch_name(size_t i);

struct gp_sample_arch_info {
	uint32_t struct_size;           /* sizeof(struct gp_sample_arch_info), set by the caller */
	uint64_t n_tensors;
	uint64_t params;                /* elements */
	uint64_t bytes;
	enum gp_dtype dtype;            /* of the first tensor (the checkpoint's) */
};
/* Sizes of arch at scale; GP_ENOENT unknown arch, GP_EINVAL bad scale. */
GP_API int gp_sample_arch_info(const char *arch, double scale, struct gp_sample_arch_info *info);

struct gp_sample_options {
	uint32_t struct_size;           /* set by gp_sample_options_init() */
	const char *arch;
	double scale;                   /* 0 < scale <= 1 */
	uint64_t seed;
	int dtype;                      /* enum gp_dtype for every tensor, or -1: the architecture's */
	uint64_t shard_size;            /* most tensor bytes per file; 0: 2 GiB */
	int force;                      /* replace a model already in out_dir */
	/* Called after each buffer written: done of total tensor bytes (optional). */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
};
GP_API void gp_sample_options_init_size(struct gp_sample_options *opts, size_t size);
#define gp_sample_options_init(opts) gp_sample_options_init_size((opts), sizeof(*(opts)))

struct gp_sample_result {
	uint32_t struct_size;           /* sizeof(struct gp_sample_result), set by the caller */
	uint32_t n_files;               /* .safetensors files; an index comes with more than one */
	uint64_t n_tensors;
	uint64_t tensor_bytes;
	uint64_t file_bytes;            /* everything written: headers, data, index */
};
/* GP_EEXIST: a model is in out_dir and !force; GP_EIO naming the path otherwise. */
GP_API int gp_sample_write(const struct gp_sample_options *opts, const char *out_dir,
			   struct gp_sample_result *result);
/*
 * Name of file index of a model written as n_files files: "model.safetensors"
 * or "model-00001-of-00003.safetensors"; index == n_files (> 1) names the
 * index file.  Writes at most len bytes (64 suffice).
 */
GP_API void gp_sample_file_name(uint32_t index, uint32_t n_files, char *buf, size_t len);

/* ---------------------------------------- other processes' statistics */

/*
 * The counters every process using libgpupager keeps in
 * /dev/shm/gpupager.<pid> (what pagerstat shows), read without stopping
 * it.  The counter indices are stable; new ones are appended.
 */
enum gp_counter {
	GP_COUNTER_HITS, GP_COUNTER_MISSES, GP_COUNTER_CHUNK_HITS, GP_COUNTER_CHUNK_MISSES,
	GP_COUNTER_BYTES_DISK, GP_COUNTER_BYTES_H2D, GP_COUNTER_BYTES_D2H, GP_COUNTER_HOST_HITS,
	GP_COUNTER_DEV_EVICTIONS, GP_COUNTER_HOST_EVICTIONS, GP_COUNTER_PREFETCH_ISSUED,
	GP_COUNTER_PREFETCH_HITS, GP_COUNTER_PREFETCH_WASTED, GP_COUNTER_STALL_NS,
	GP_COUNTER_ALLOC_RETRIES,
	/* gauges: what is held now */
	GP_COUNTER_VRAM_USED, GP_COUNTER_VRAM_BUDGET, GP_COUNTER_HOST_USED, GP_COUNTER_HOST_BUDGET,
	/* the shim's weights (file-backed chunks): dropped unchanged / found written, swapped */
	GP_COUNTER_WEIGHTS_DROPPED, GP_COUNTER_WEIGHTS_WRITTEN,
	GP_COUNTER_COUNT
};
/* "hits", "bytes_h2d", ... as pagerstat --json prints them; "unknown" out of range. */
GP_API const char *gp_counter_name(int counter);
GP_API int gp_counter_is_gauge(int counter);

/*
 * gp_stats_reader_open maps pid's segment read-only: GP_ENOENT when there
 * is none (no pager open), GP_EFORMAT when it is malformed, not the
 * caller's own, or stale.  gp_stats_read copies it consistently into a
 * snapshot (GP_EBUSY if it kept changing for a second).
 */
#define GP_STATS_PATH_FMT "/dev/shm/gpupager.%d"  /* a pid's segment */
struct gp_stats_reader;
struct gp_stats_snapshot;
GP_API int gp_stats_reader_open(int pid, struct gp_stats_reader **out);
GP_API void gp_stats_reader_close(struct gp_stats_reader *reader);
GP_API int gp_stats_snapshot_new(struct gp_stats_snapshot **out);
GP_API void gp_stats_snapshot_free(struct gp_stats_snapshot *snap);
GP_API int gp_stats_read(const struct gp_stats_reader *reader, struct gp_stats_snapshot *snap);

/* Strings point into the snapshot (valid UTF-8, NUL-terminated). */
struct gp_stats_process {
	uint32_t struct_size;           /* sizeof(struct gp_stats_process), set by the caller */
	int pid;
	uint64_t start_unix_ns;         /* when its first pager opened */
	const char *device;
	const char *policy;
	uint32_t model_slots;           /* slots to look at with gp_stats_snapshot_model */
};
GP_API int gp_stats_snapshot_process(const struct gp_stats_snapshot *snap,
				     struct gp_stats_process *info);
/* Counter c of the snapshot (0 for a counter the writer did not have). */
GP_API uint64_t gp_stats_snapshot_counter(const struct gp_stats_snapshot *snap, int counter);

struct gp_stats_model_info {
	uint32_t struct_size;           /* sizeof(struct gp_stats_model_info), set by the caller */
	const char *name;               /* the model's path, cut from the left */
	uint32_t n_groups;
	uint64_t chunk_size;            /* bytes */
	uint64_t chunks, resident;      /* over all its groups */
};
/* GP_ENOENT for a slot without a model. */
GP_API int gp_stats_snapshot_model(const struct gp_stats_snapshot *snap, uint32_t slot,
				   struct gp_stats_model_info *info);
GP_API int gp_stats_snapshot_group(const struct gp_stats_snapshot *snap, uint32_t slot,
				   uint32_t group, uint32_t *chunks, uint32_t *resident);

/* ------------------------------------ traces, miss-ratio curves, advice */

/*
 * Reading traces (gp_trace_start, GPUPAGER_TRACE) and analysing them
 * without the model files: the trace carries each model's layout.
 * Formats v2 (what gp_trace_start writes) and v1 (read; its chunk size is
 * taken as 2 MiB, groups never accessed are unknown).  A bad trace is
 * GP_EFORMAT (GP_EUNSUPPORTED for a newer version) with a message
 * "NAME:LINE: problem" (truncated, out of order, unknown model, ...).
 */
#define GP_TRACE_FORMAT_VERSION 2
struct gp_trace;
GP_API int gp_trace_read(const char *path, struct gp_trace **out);
/* The same from memory; name is used in messages. */
GP_API int gp_trace_parse(const char *data, size_t len, const char *name, struct gp_trace **out);
GP_API void gp_trace_free(struct gp_trace *trace);
/* A note line in the trace being written ("compute_ns_per_step", "link_gbps"). */
GP_API int gp_trace_note(struct gp_pager *pager, const char *key, double value);

struct gp_trace_info {
	uint32_t struct_size;           /* sizeof(struct gp_trace_info), set by the caller */
	uint32_t version;               /* 1 or 2 */
	uint32_t n_models;
	int complete;                   /* 1: closed by gp_trace_stop (an end line) */
	uint64_t n_lines, n_acquires, n_releases;
	uint64_t duration_ns;           /* first to last line */
	double link_gbps;               /* note link_gbps; 0: not recorded */
	double compute_ns_per_step;     /* note compute_ns_per_step; 0: not recorded */
};
GP_API int gp_trace_get_info(const struct gp_trace *trace, struct gp_trace_info *info);

/* Strings point into the trace. */
struct gp_trace_model_info {
	uint32_t struct_size;           /* sizeof(struct gp_trace_model_info), set by the caller */
	const char *source;             /* the model path the traced process opened */
	uint64_t chunk_size, range_size;
	uint32_t n_chunks, n_groups;
	uint64_t fingerprint;           /* of the layout (chunk size, groups and their chunks) */
	uint64_t n_acquires;            /* group acquires */
	uint64_t loaded_chunks, h2d_bytes, disk_bytes;  /* what the acquires recorded moving */
};
GP_API int gp_trace_model(const struct gp_trace *trace, uint32_t model,
			  struct gp_trace_model_info *info);
struct gp_trace_group_info {
	uint32_t struct_size;           /* sizeof(struct gp_trace_group_info), set by the caller */
	const char *name;               /* "" for a v1 group never accessed */
	int64_t block_index;            /* -1: not a repeated block */
	uint32_t first_chunk, chunk_count;      /* chunk_count 0: unknown (v1) */
	uint64_t bytes;                 /* tensor bytes (v1: the reserved range) */
};
GP_API int gp_trace_group(const struct gp_trace *trace, uint32_t model, uint32_t group,
			  struct gp_trace_group_info *info);

/*
 * Miss-ratio curves: H2D bytes per steady-state step against the VRAM
 * budget, for one model of a trace.  Steps: the trace's group sequence is
 * cut into its period (the smallest that repeats to the end), else at each
 * access of its first group; the first step warms up, the others are
 * measured.  Every access loads its whole group, as gp_acquire_group does.
 *
 *   lru    exact for every budget in one pass: stack distances over
 *          groups weighted by their chunks (Mattson), in a Fenwick tree
 *   min    Belady's MIN over the chunk trace, exact for every budget: an
 *          OPT stack over next-use times from one backward pass
 *   clock, static, auto   the engine's own policy code replayed
 *          (pager/decide.h) at each budget
 *
 * A budget below the largest group has no point (valid 0).
 */
enum gp_mrc_curve { GP_MRC_LRU, GP_MRC_CLOCK, GP_MRC_STATIC, GP_MRC_AUTO, GP_MRC_MIN,
		    GP_MRC_CURVES };
/* "lru", ... ; NULL out of range. */
GP_API const char *gp_mrc_curve_name(int curve);
/* "lru,min,auto" to a mask of 1u << curve; GP_EINVAL naming an unknown name. */
GP_API int gp_mrc_parse_curves(const char *list, uint32_t *mask);

#define GP_MRC_MAX_POINTS 4096
struct gp_mrc_options {
	uint32_t struct_size;           /* set by gp_mrc_options_init() */
	uint32_t model;                 /* model index in the trace */
	uint32_t curves;                /* mask; 0: every curve */
	const uint64_t *budgets;        /* bytes, any order; NULL: from/to/points */
	uint32_t n_budgets;
	uint64_t from, to;              /* bytes; 0: the largest group / the whole model */
	uint32_t points;                /* evenly spaced in [from, to]; 0: 64 */
	double link_gbps;               /* 0: the trace's note, else 25 */
	double compute_ns_per_step;     /* 0: the trace's note (else none: bound = transfer) */
	uint32_t threads;               /* replays in parallel; 0: online CPUs, at most 8 */
	uint32_t lru_checks;            /* budgets where exact LRU is checked by replay; 0: 4 */
};
GP_API void gp_mrc_options_init_size(struct gp_mrc_options *opts, size_t size);
#define gp_mrc_options_init(opts) gp_mrc_options_init_size((opts), sizeof(*(opts)))

struct gp_mrc;
/* GP_EINVAL bad options, GP_ENOENT no such model or no access of it, GP_ENOMEM. */
GP_API int gp_mrc_compute(const struct gp_trace *trace, const struct gp_mrc_options *opts,
			  struct gp_mrc **out);
GP_API void gp_mrc_free(struct gp_mrc *mrc);

struct gp_mrc_info {
	uint32_t struct_size;           /* sizeof(struct gp_mrc_info), set by the caller */
	uint32_t n_points;
	uint32_t curves;                /* mask computed */
	uint64_t chunk_size;
	uint64_t model_bytes;           /* chunks x chunk size */
	uint64_t min_budget;            /* the largest group */
	uint32_t n_groups, n_chunks;
	uint64_t accesses, step_accesses, steps, measured_steps;
	int periodic;                   /* 1: steps are the sequence's period */
	double link_gbps, compute_ns_per_step;
	/* Checks (1 true, 0 false, -1 not computed). */
	int min_convex;                 /* bytes per step convex in the budget (every chunk count) */
	int min_below_all;              /* MIN at or below every policy at every point */
	int lru_matches_replay;         /* exact LRU equals the replayed lru policy */
	uint32_t lru_checked;           /* budgets it was checked at */
	double seconds;                 /* computing it took */
};
GP_API int gp_mrc_get_info(const struct gp_mrc *mrc, struct gp_mrc_info *info);

struct gp_mrc_point {
	uint32_t struct_size;           /* sizeof(struct gp_mrc_point), set by the caller */
	uint64_t budget;                /* bytes */
	uint64_t capacity_chunks;
	int valid;                      /* 0: below the largest group */
	uint64_t bytes_per_step;        /* H2D, average over the measured steps */
	double miss_ratio;              /* chunks loaded / chunks accessed */
	double step_ns;                 /* max(compute, bytes / link) */
};
/* Point index (0..n_points, budgets ascending) of curve; GP_ENOENT for a curve not computed. */
GP_API int gp_mrc_point(const struct gp_mrc *mrc, int curve, uint32_t index,
			struct gp_mrc_point *point);

/*
 * Advice: the smallest budget among the points at which curve's step time
 * is within target_ratio of the compute-only time (with no compute time:
 * where it moves nothing), and the smallest at which static block swap
 * moves no more bytes than that.  GP_ENOENT when no point qualifies.
 */
struct gp_mrc_advice {
	uint32_t struct_size;           /* sizeof(struct gp_mrc_advice), set by the caller */
	int curve;
	double target_ratio;
	uint64_t budget;                /* 0: none of the points */
	uint64_t bytes_per_step;
	double step_ns, compute_ns;
	uint64_t static_budget;         /* 0: static never gets there among the points */
	uint64_t min_budget;            /* where MIN gets there: no policy does better */
};
GP_API int gp_mrc_advise(const struct gp_mrc *mrc, int curve, double target_ratio,
			 struct gp_mrc_advice *advice);

/* ---------------------------------------------------------------- budget */

/*
 * Change the VRAM budget at run time (bytes, rounded down to whole chunks;
 * at least two).  Raising it lets the pool grow later, up to what the
 * device has free less GPUPAGER_VRAM_HEADROOM (a larger request is lowered
 * to that, logged).  Lowering it evicts weight chunks not in use (waiting
 * for their last use without the pager lock, dirty chunks written back
 * first; never a chunk acquired now) and releases the physical chunks
 * beyond the new budget, so the device memory goes back to the driver.
 * When acquired chunks or app allocations (gp_pager_alloc) keep the pool
 * above it, the pool is lowered as far as it can be and GP_EBUSY says how
 * much is held and by what; the budget stays at the requested value and
 * the pool shrinks to it as those are released (freed chunks are released,
 * each demand load evicts one chunk more than it takes).  Thread-safe.
 */
GP_API int gp_pager_set_vram_budget(struct gp_pager *pager, uint64_t bytes);
/*
 * Give back up to bytes (rounded up to whole chunks; 0: every chunk not in
 * use) of the pool's device memory now: free chunks first, then weight
 * chunks not in use, evicted as above.  The budget is unchanged, so the
 * pool may grow back later.  *released (may be NULL) gets the bytes given
 * back; fewer than asked is not an error.  Thread-safe.
 */
GP_API int gp_pager_trim(struct gp_pager *pager, uint64_t bytes, uint64_t *released);

/*
 * Plans (`pagerstat plan`, GPUPAGER_PLAN, gp_pager_options.plan): for one
 * model layout and one VRAM budget, which groups stay resident (whole, or
 * their head chunks) and which are streamed, the eviction order (outside
 * the plan, then beyond each group's kept head, then kept chunks; the
 * group needed furthest ahead in the step first) and how many accesses
 * ahead each group is prefetched.  The `plan` policy follows one exactly
 * and falls back to `auto`, with one log line, when the accesses depart
 * from the step the plan was compiled from.
 *
 * gp_plan_compile replays candidate schedules with the engine's own
 * decision code (the plan policy itself): "static" (whole groups resident,
 * by accesses per step) and "min" (every group keeps its head, the drops
 * spread: auto's schedule), each with prefetch distance 0..max_prefetch,
 * and keeps the fastest under the link model: copies run one after
 * another on the link (chunk size / link rate each) in the order the
 * replay issues them; an access's compute (the step's compute time times
 * the group's share of the bytes accessed) starts when its demand loads
 * are done and the previous compute has finished; the step time is the
 * time between step ends.  Link and compute come from the trace's notes
 * (link_gbps, compute_ns_per_step), the options, else 25 GB/s and none.
 *
 * options_json (NULL: defaults) is an object with the optional keys
 * "schedules" (["static", "min"]), "max_prefetch" (0..4, default 4),
 * "link_gbps" and "compute_ms".  Errors (GP_EINVAL unless said):
 * "plan options are not valid JSON: ...", "plan options: unknown key 'k'
 * (known: ...)", a budget below the largest group (GP_ERANGE, naming it),
 * a v1 trace (GP_EUNSUPPORTED) or a trace without two identical steps.
 *
 * Plan files are JSON ({"format": "gpupager-plan", "version": 1, ...},
 * README.md "pagerstat"); gp_plan_read refuses a newer version
 * (GP_EUNSUPPORTED), a malformed file (GP_EFORMAT, naming the path), and
 * a pager refuses a plan for another layout (GP_EINVAL naming both layout
 * fingerprints) when the model opens.
 */
#define GP_PLAN_FORMAT_VERSION 1
struct gp_plan;

struct gp_plan_options {
	uint32_t struct_size;           /* set by gp_plan_options_init() */
	uint32_t model;                 /* model index in the trace */
	uint64_t budget;                /* bytes, or ... */
	double budget_pct;              /* ... percent of the model's range (one of the two) */
	const char *options_json;       /* NULL or a JSON object (above) */
	double link_gbps;               /* 0: options_json, the trace's note, else 25 */
	double compute_ns_per_step;     /* 0: options_json, the trace's note, else none */
};
GP_API void gp_plan_options_init_size(struct gp_plan_options *opts, size_t size);
#define gp_plan_options_init(opts) gp_plan_options_init_size((opts), sizeof(*(opts)))
GP_API int gp_plan_compile(const struct gp_trace *trace, const struct gp_plan_options *opts,
			   struct gp_plan **out);
/* Write as JSON to path ("-": stdout); GP_EIO naming the path. */
GP_API int gp_plan_write(const struct gp_plan *plan, const char *path);
/* GP_ENOENT/GP_EIO unreadable, GP_EFORMAT not a plan, GP_EUNSUPPORTED a newer version. */
GP_API int gp_plan_read(const char *path, struct gp_plan **out);
GP_API void gp_plan_free(struct gp_plan *plan);

/* Strings point into the plan. */
struct gp_plan_info {
	uint32_t struct_size;           /* sizeof(struct gp_plan_info), set by the caller */
	uint32_t version;               /* the file's format version */
	const char *source;             /* the traced model's path */
	uint64_t fingerprint;           /* of the layout (as gp_trace_model_info's) */
	uint64_t chunk_size;
	uint32_t n_chunks, n_groups;
	uint32_t period;                /* accesses per step */
	uint64_t budget;                /* bytes */
	uint64_t capacity_chunks;
	const char *schedule;           /* "static" or "min" */
	uint32_t prefetch;              /* the schedule's prefetch distance */
	uint64_t bytes_per_step;        /* predicted H2D bytes per steady-state step */
	double step_ns;                 /* predicted step time (link model above) */
	double compute_ns_per_step, link_gbps;
	uint32_t n_candidates;          /* schedules tried (0 for a plan read from a file) */
	uint32_t resident_groups, streamed_groups;
};
GP_API int gp_plan_get_info(const struct gp_plan *plan, struct gp_plan_info *info);

struct gp_plan_group {
	uint32_t struct_size;           /* sizeof(struct gp_plan_group), set by the caller */
	const char *name;
	uint32_t chunks, keep_chunks;   /* keep_chunks: head chunks kept across the step */
	int used;                       /* 0: the step never accesses it */
	int resident;                   /* 1: kept whole; 0: streamed (or unused) */
	uint32_t prefetch;              /* accesses ahead it is prefetched */
	uint64_t bytes_per_step;        /* predicted H2D bytes of its chunks per step */
	double compute_ns, load_ns;     /* per step: its compute, its bytes over the link */
};
GP_API int gp_plan_group(const struct gp_plan *plan, uint32_t group, struct gp_plan_group *info);

struct gp_plan_candidate {
	uint32_t struct_size;           /* sizeof(struct gp_plan_candidate), set by the caller */
	const char *schedule;           /* "static" or "min" */
	uint32_t prefetch;
	uint64_t bytes_per_step;
	double step_ns;
	int chosen;
};
GP_API int gp_plan_candidate(const struct gp_plan *plan, uint32_t index,
			     struct gp_plan_candidate *info);

#ifdef __cplusplus
}
#endif

#endif /* GPUPAGER_H */

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
#define GP_VERSION_MINOR 1
#define GP_VERSION_PATCH 0
#define GP_VERSION_STRING "0.1.0"
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
 * The pager, its models and tensors.  Opaque; filled in by the pager
 * (see README.md, "API").
 */
struct gp_pager;
struct gp_model;

#define GP_MAX_DIMS 8

struct gp_tensor_info {
	const char *name;
	enum gp_dtype dtype;
	int ndim;
	int64_t shape[GP_MAX_DIMS];
	uint64_t nbytes;
	uint32_t group;         /* index of the group holding the tensor */
	uint64_t range_offset;  /* offset in the model's device range */
};

#ifdef __cplusplus
}
#endif

#endif /* GPUPAGER_H */

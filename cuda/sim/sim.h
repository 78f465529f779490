/*
 * sim.h - internals shared by the source files of the simulated CUDA device.
 *
 * The simulator is a libcuda.so.1 that implements, on host memory, the
 * driver-API subset libgpupager uses.  Device memory is real host virtual
 * memory: one large PROT_NONE reservation is the device's address space,
 * and physical "VRAM" is a memfd whose slices are mapped into it.  Every
 * stream is a worker thread running its operations in order.
 *
 * Internal functions return CUresult like the API; on a failure they log
 * one debug line (GPUPAGER_LOG=debug) saying which rule was broken.
 */
#ifndef GP_SIM_H
#define GP_SIM_H

#include <cuda.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "sim_kernel.h"

#define SIM_DRIVER_VERSION 13000
/* Allocation granularity of physical memory and of device addresses. */
#define SIM_GRANULARITY (2ull << 20)
/*
 * cuMemAllocPitch rounds pitches up to this, the texture alignment of
 * current GPUs (CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT), which covers their
 * texture pitch alignment (32); 2D copies refuse pitches above the maximum.
 */
#define SIM_PITCH_ALIGNMENT 512u
#define SIM_TEXTURE_PITCH_ALIGNMENT 32u
#define SIM_MAX_PITCH 0x7fffffffu
#define SIM_DEVICE_NAME "gpupager simulated device (no GPU)"
/* GPUPAGER_SIM_DEVICES may present up to this many devices. */
#define SIM_MAX_DEVICES 8

/* ---------------------------------------------------------- init.c */

/* What an entry point needs before it may run. */
enum sim_need {
	SIM_NEED_INIT, /* cuInit succeeded */
	SIM_NEED_CTX,  /* cuInit, and a current context on this thread */
};

/*
 * First statement of every entry point: checks initialisation, applies
 * fault injection for func (the base name, e.g. "cuMemAlloc"), then the
 * context and any sticky error when need is SIM_NEED_CTX.
 */
CUresult sim_enter(const char *func, enum sim_need need);

/* The configuration read at cuInit. */
const struct gp_config *sim_config(void);

/* Log why a call fails (debug level) and return code. */
CUresult sim_error(CUresult code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * An operation found an illegal address while executing: like a GPU, the
 * error sticks and every later call that needs the context returns it.
 */
void sim_set_sticky_error(CUresult code);
CUresult sim_sticky_error(void);

/* -------------------------------------------------------- device.c */

/* Parse GPUPAGER_SIM_DEVICES (capacities and NUMA nodes); logs one line on error. */
CUresult sim_devices_setup(const struct gp_config *cfg);
/* cuDeviceGetUuid as CUDA 9.2 exported it (the same answer: no MIG instances). */
CUresult sim_device_get_uuid_v9020(CUuuid *uuid, CUdevice dev) __asm__("cuDeviceGetUuid");
/* How many devices there are (1 .. SIM_MAX_DEVICES). */
int sim_device_count(void);
/* Simulated VRAM of device dev. */
uint64_t sim_device_capacity(int dev);
/* 0 for an existing device ordinal; INVALID_DEVICE otherwise. */
CUresult sim_check_device(CUdevice dev, const char *func);

/* ------------------------------------------------------- context.c */

/* 0 when the calling thread's current context is the live primary one. */
CUresult sim_context_check(void);
/* Device dev's primary context. */
CUcontext sim_primary_context(int dev);
/* The device of the calling thread's current context; 0 without one. */
int sim_current_device(void);
/* 0 when ctx is a retained (live) context; INVALID_CONTEXT otherwise (logged for func). */
CUresult sim_context_live(CUcontext ctx, const char *func);
/* Whether device dev's context may touch device peer's memory (always its own). */
bool sim_peer_enabled(int dev, int peer);

/* ----------------------------------------------------------- peer.c */

/*
 * Whether a kernel launched from device dev's context with these
 * parameters would touch another device's cuMemAlloc memory without peer
 * access (logged): the GPU would fault.
 */
bool sim_launch_peer_fault(int dev, const struct gp_sim_kernel_desc *desc, void *const *params);

/* --------------------------------------------------------- fault.c */

/* Parse GPUPAGER_SIM_FAIL (NULL: no faults).  Prints one line on error. */
CUresult sim_fault_setup(const char *spec, uint64_t seed);
/* CUDA_SUCCESS, or the error to inject into this call of func. */
CUresult sim_fault_check(const char *func);

/* ---------------------------------------------------------- proc.c */

/* Entry points whose injected faults default to CUDA_ERROR_OUT_OF_MEMORY. */
#define SIM_PROC_ALLOCATES 0x1
/* Entry points that work without cuInit and so cannot be made to fail. */
#define SIM_PROC_NO_FAULTS 0x2

/* Whether func is an entry point of the simulator; its flags in *flags. */
bool sim_proc_known(const char *func, unsigned *flags);

/* -------------------------------------------------------- legacy.c */

/* Older versions of entry points, exported under their real symbol names. */
CUresult sim_mem_advise_v8000(CUdeviceptr devptr, size_t count, CUmem_advise advice,
			      CUdevice device) __asm__("cuMemAdvise");
CUresult sim_mem_prefetch_async_v8000(CUdeviceptr devptr, size_t count, CUdevice device,
				      CUstream hstream) __asm__("cuMemPrefetchAsync");
CUresult sim_mem_prefetch_async_v8000_ptsz(CUdeviceptr devptr, size_t count, CUdevice device,
					   CUstream hstream) __asm__("cuMemPrefetchAsync_ptsz");
CUresult sim_get_proc_address_v11030(const char *symbol, void **pfn, int version,
				     cuuint64_t flags) __asm__("cuGetProcAddress");

/* -------------------------------------------------------- errors.c */

/* CUresult by its name ("CUDA_ERROR_OUT_OF_MEMORY"); false if unknown. */
bool sim_error_by_name(const char *name, CUresult *code);

/* -------------------------------------------------------- physmem.c */

/* Physical memory; callers hold sim_vm_lock (vspace.c). */

/* A slice of the memfd that backs simulated VRAM. */
struct sim_phys {
	uint64_t offset;   /* in the memfd */
	size_t size;
	int refs;          /* the handle, plus one per mapping */
	bool handle_live;  /* not yet cuMemRelease'd */
	uint32_t slot;     /* index in the handle table */
	uint32_t generation;
	bool parked;       /* its last mapping waits at sim_phys_park_addr (see vspace.c) */
	int device;        /* whose capacity it takes */
};

/* One memfd for every device's memory; device d has sim_device_capacity(d). */
CUresult sim_physmem_init(void);
/* Take size bytes of device dev's capacity and a slice; OUT_OF_MEMORY past capacity. */
CUresult sim_phys_create(size_t size, int dev, struct sim_phys **out);
/* Drop a reference; the last one frees the pages and the capacity. */
void sim_phys_put(struct sim_phys *phys);
/* Where phys's mapping is parked between an unmap and its next map (vspace.c). */
void *sim_phys_park_addr(const struct sim_phys *phys);
/* Replace [addr, +size) with inaccessible, unbacked address space. */
int sim_va_placeholder(void *addr, size_t size);
/* Handle <-> slice; lookup returns NULL for a stale or bogus handle. */
CUmemGenericAllocationHandle sim_phys_handle(const struct sim_phys *phys);
struct sim_phys *sim_phys_lookup(CUmemGenericAllocationHandle handle);
int sim_physmem_fd(void);
/* Device dev's memory in use and capacity; dev -1: all devices together. */
void sim_physmem_usage(int dev, size_t *used, size_t *capacity);

/* --------------------------------------------------------- vspace.c */

enum sim_resv_kind {
	SIM_RESV_VMM,     /* cuMemAddressReserve */
	SIM_RESV_ALLOC,   /* cuMemAlloc */
	SIM_RESV_MANAGED, /* cuMemAllocManaged */
};

struct sim_managed;

/* A reserved device address range. */
struct sim_resv {
	uintptr_t base;
	size_t size;          /* multiple of the granularity */
	size_t bytes;         /* as requested (cuMemAlloc / managed) */
	enum sim_resv_kind kind;
	struct sim_managed *managed;
	bool free_queued;     /* cuMemFreeAsync queued, not yet reached by its stream */
	bool from_pool;       /* cuMemAlloc*Async: counted in its device pool's used bytes */
	int device;           /* cuMemAlloc / managed: the device whose memory it is */
};

/* One cuMemMap: a slice mapped at va. */
struct sim_mapping {
	uintptr_t va;
	size_t size;
	struct sim_phys *phys;
};

/* What a device address is, for copies and pointer queries. */
struct sim_dev_range {
	struct sim_resv *resv;
	struct sim_mapping *mapping; /* of the first byte */
};

CUresult sim_vspace_init(void);
bool sim_vspace_contains(uintptr_t ptr);
void sim_vm_lock(void);
void sim_vm_unlock(void);

/* The following need sim_vm_lock held. */
CUresult sim_resv_create(size_t size, size_t align, uintptr_t hint, enum sim_resv_kind kind,
			 struct sim_resv **out);
CUresult sim_resv_destroy(struct sim_resv *resv);
struct sim_resv *sim_resv_find(uintptr_t ptr);
CUresult sim_map(uintptr_t va, size_t size, struct sim_phys *phys);
CUresult sim_unmap(uintptr_t va, size_t size);
/* Device dev's access to [va, va+size) (the host's is every device's together). */
CUresult sim_set_access(uintptr_t va, size_t size, int dev, int prot);
/* Device dev's PROT_* on the mapping holding ptr; -1 when ptr is not mapped device memory. */
int sim_vmm_access(uintptr_t ptr, int dev);
/*
 * Whether [ptr, ptr+len) is mapped device memory granting prot: 0, or
 * INVALID_VALUE (not reserved / not mapped) or ILLEGAL_ADDRESS (mapped
 * without that access).  *where describes the first byte when non-NULL.
 */
CUresult sim_dev_check(uintptr_t ptr, size_t len, int prot, struct sim_dev_range *where);

/* ---------------------------------------------------------- alloc.c */

/*
 * Device memory in one call (cuMemAlloc, cuMemAllocManaged): reserve,
 * create, map and grant read-write access to bytes rounded up to the
 * granularity, on device dev.  sim_dev_free undoes it for the allocation
 * based at ptr.
 */
CUresult sim_dev_alloc(size_t bytes, enum sim_resv_kind kind, int dev, struct sim_resv **out);
CUresult sim_dev_free(uintptr_t ptr);
/*
 * The two halves of sim_dev_free after its wait for idle streams, with
 * sim_vm_lock held: the allocation based at ptr that no free is queued for
 * (NULL if none, logged for func), and its release.
 */
struct sim_resv *sim_dev_find(uintptr_t ptr, const char *func);
CUresult sim_dev_release(struct sim_resv *resv);
/* pool.c: bytes allocated from dev's default pool (negative: released); high marks follow. */
void sim_pool_count(int dev, int64_t bytes);

/* -------------------------------------------------------- managed.c */

void sim_managed_release(struct sim_managed *managed);

/* --------------------------------------------------------- hostmem.c */

/* Whether [p, p+len) lies in one page-locked (pinned) host range. */
bool sim_host_is_pinned(const void *p, size_t len);
/* The page-locked range holding p: its start and length; false if none. */
bool sim_host_find(const void *p, uintptr_t *start, size_t *len);

/* --------------------------------------------------------- stream.c */

/* CUstream points at a struct CUstream_st (stream.c); ops wait through struct sim_dep. */
struct sim_dep;

/*
 * One queued operation.  run executes it on the stream's worker thread,
 * frees what the operation owns, and returns the simulated time (ns) at
 * which it completed; start_ns is when it may start (the previous
 * operation's completion, or when it was queued).
 */
struct sim_op {
	struct sim_op *next;
	uint64_t (*run)(struct sim_op *op, uint64_t start_ns);
	uint64_t seq;
	uint64_t queued_ns;
	struct sim_dep *deps;  /* implicit legacy-stream synchronisation */
	size_t n_deps;
	/* What a graph node of this op needs (graph.c); clone NULL: not capturable. */
	struct sim_op *(*clone)(const struct sim_op *op);
	int node_type;         /* CUgraphNodeType */
};

/*
 * The stream a handle names: NULL and CU_STREAM_LEGACY/PER_THREAD are the
 * default stream.  CU_STREAM_PER_THREAD, each thread's default stream in
 * CUDA, is the legacy stream here: it synchronises with every blocking
 * stream, where a real one synchronises with the legacy stream only.
 */
CUresult sim_stream_get(CUstream handle, CUstream *out);

/*
 * The per-thread-default-stream entry points (_ptsz, _ptds: what
 * cuGetProcAddress returns with CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM,
 * and what code built with CUDA_API_PER_THREAD_DEFAULT_STREAM links) are
 * functions of their own, so that a caller can tell by address which form
 * it was given.  In them the null stream is the calling thread's default
 * stream (this maps it); the synchronous _ptds forms run on that stream.
 */
static inline CUstream sim_per_thread(CUstream hstream)
{
	return hstream ? hstream : CU_STREAM_PER_THREAD;
}
/* Queue op (taking ownership); its sequence number in *seq if non-NULL. */
CUresult sim_stream_submit(CUstream s, struct sim_op *op, uint64_t *seq);
/* The same with sim_sched_lock held, for callers that publish seq atomically. */
CUresult sim_stream_submit_locked(CUstream s, struct sim_op *op, uint64_t *seq);
/* Queue on s a wait for operation seq of target (taking a reference to target). */
CUresult sim_stream_submit_wait(CUstream s, CUstream target, uint64_t seq);
/* Block until operation seq of s has completed. */
void sim_stream_wait(CUstream s, uint64_t seq);
/* These three with sim_sched_lock held. */
bool sim_stream_reached(const struct CUstream_st *s, uint64_t seq);
void sim_stream_get_ref(CUstream s);
void sim_stream_put(CUstream s);
/* Wait for everything queued so far on every stream. */
CUresult sim_streams_drain(void);
/* Serialises stream and event state; sim_sched_wait waits for any operation to complete. */
void sim_sched_lock(void);
void sim_sched_unlock(void);
void sim_sched_wait(void);

/* --------------------------------------------------------- module.c */

/* The opaque type behind CUfunction: a kernel and its parameter layout. */
struct CUfunc_st {
	const struct gp_sim_kernel_desc *desc;
	size_t offsets[GP_SIM_MAX_PARAMS];
	size_t param_bytes; /* end of the last parameter */
};

/* ---------------------------------------------------------- timing.c */

enum sim_copy_kind {
	SIM_COPY_H2D_PINNED,
	SIM_COPY_H2D_PAGEABLE,
	SIM_COPY_D2H_PINNED,
	SIM_COPY_D2H_PAGEABLE,
	SIM_COPY_D2D,
	SIM_COPY_H2H,
};

/*
 * Book the link a copy of bytes uses from start_ns on, after the copies
 * already booked on it; returns the simulated completion time.
 */
uint64_t sim_link_book(enum sim_copy_kind kind, size_t bytes, uint64_t start_ns);

/* Monotonic clock in nanoseconds. */
uint64_t sim_now_ns(void);
/* Sleep until the monotonic clock reaches deadline_ns. */
void sim_sleep_until(uint64_t deadline_ns);

/* ------------------------------------------ per-thread-default-stream forms */

/* cuda.h declares these only for the driver's own build (__CUDA_API_VERSION_INTERNAL). */
CUresult cuMemcpyHtoD_v2_ptds(CUdeviceptr dst, const void *src, size_t bytes);
CUresult cuMemcpyDtoH_v2_ptds(void *dst, CUdeviceptr src, size_t bytes);
CUresult cuMemcpyDtoD_v2_ptds(CUdeviceptr dst, CUdeviceptr src, size_t bytes);
CUresult cuMemcpy_ptds(CUdeviceptr dst, CUdeviceptr src, size_t bytes);
CUresult cuMemcpy2D_v2_ptds(const CUDA_MEMCPY2D *p);
CUresult cuMemcpyPeer_ptds(CUdeviceptr dst, CUcontext dst_ctx, CUdeviceptr src, CUcontext src_ctx,
			   size_t bytes);
CUresult cuMemcpyPeerAsync_ptsz(CUdeviceptr dst, CUcontext dst_ctx, CUdeviceptr src,
				CUcontext src_ctx, size_t bytes, CUstream hstream);
CUresult cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr dst, const void *src, size_t bytes,
				   CUstream hstream);
CUresult cuMemcpyDtoHAsync_v2_ptsz(void *dst, CUdeviceptr src, size_t bytes, CUstream hstream);
CUresult cuMemcpyDtoDAsync_v2_ptsz(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
				   CUstream hstream);
CUresult cuMemcpyAsync_ptsz(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream hstream);
CUresult cuMemcpy2DAsync_v2_ptsz(const CUDA_MEMCPY2D *p, CUstream hstream);
CUresult cuMemsetD8_v2_ptds(CUdeviceptr dst, unsigned char value, size_t n);
CUresult cuMemsetD16_v2_ptds(CUdeviceptr dst, unsigned short value, size_t n);
CUresult cuMemsetD32_v2_ptds(CUdeviceptr dst, unsigned int value, size_t n);
CUresult cuMemsetD2D8_v2_ptds(CUdeviceptr dst, size_t pitch, unsigned char value, size_t width,
			      size_t height);
CUresult cuMemsetD8Async_ptsz(CUdeviceptr dst, unsigned char value, size_t n, CUstream hstream);
CUresult cuMemsetD16Async_ptsz(CUdeviceptr dst, unsigned short value, size_t n,
			       CUstream hstream);
CUresult cuMemsetD32Async_ptsz(CUdeviceptr dst, unsigned int value, size_t n, CUstream hstream);
CUresult cuMemsetD2D8Async_ptsz(CUdeviceptr dst, size_t pitch, unsigned char value,
				size_t width, size_t height, CUstream hstream);
CUresult cuMemAllocAsync_ptsz(CUdeviceptr *dptr, size_t bytesize, CUstream hstream);
CUresult cuMemAllocFromPoolAsync_ptsz(CUdeviceptr *dptr, size_t bytesize, CUmemoryPool pool,
				      CUstream hstream);
CUresult cuMemFreeAsync_ptsz(CUdeviceptr dptr, CUstream hstream);
CUresult cuMemPrefetchAsync_v2_ptsz(CUdeviceptr devptr, size_t count, CUmemLocation location,
				    unsigned int flags, CUstream hstream);
CUresult cuStreamSynchronize_ptsz(CUstream hstream);
CUresult cuStreamQuery_ptsz(CUstream hstream);
CUresult cuStreamWaitEvent_ptsz(CUstream hstream, CUevent hevent, unsigned int flags);
CUresult cuEventRecord_ptsz(CUevent hevent, CUstream hstream);
CUresult cuLaunchKernel_ptsz(CUfunction f, unsigned int grid_x, unsigned int grid_y,
			     unsigned int grid_z, unsigned int block_x, unsigned int block_y,
			     unsigned int block_z, unsigned int shared_bytes, CUstream hstream,
			     void **kernel_params, void **extra);
CUresult cuLaunchKernelEx_ptsz(const CUlaunchConfig *config, CUfunction f, void **kernel_params,
			       void **extra);
CUresult cuLaunchCooperativeKernel_ptsz(CUfunction f, unsigned int grid_x, unsigned int grid_y,
					unsigned int grid_z, unsigned int block_x,
					unsigned int block_y, unsigned int block_z,
					unsigned int shared_bytes, CUstream hstream,
					void **kernel_params);
CUresult cuLaunchHostFunc_ptsz(CUstream hstream, CUhostFn fn, void *user_data);

#endif

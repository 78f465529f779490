/*
 * gpu.h - one CUDA device as the pager uses it: the driver, the device's
 * primary context, its properties, and the operations that are the same
 * whatever the device memory backend (streams, events, async copies,
 * pinned host memory, memory info).
 *
 * Every function makes the primary context current on the calling thread
 * first, so pager threads need no setup.  Streams and events are the
 * driver's own handles.
 */
#ifndef GP_CUDA_GPU_H
#define GP_CUDA_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver.h"

struct gp_gpu {
	struct gp_driver *drv;
	int ordinal;
	CUdevice device;
	CUcontext ctx;                  /* the retained primary context */
	char name[256];
	char pci_bus_id[32];            /* "0000:3b:00.0", lower case */
	uint64_t total_mem;
	uint64_t granularity;           /* VMM minimum granularity; 0 without VMM */
	uint64_t l2_cache_size;         /* bytes; 0: the driver did not say */
	int numa_node;                  /* -1: unknown (no affinity known) */
	bool is_simulator;              /* the device name says "simulated" */
	bool vmm_supported;             /* driver and device support cuMemCreate/Map */
	bool managed_supported;         /* managed memory with concurrent access and prefetch */
};

/*
 * Open device ordinal through the driver at driver_path (NULL: from the
 * configuration).  GP_ENODRIVER if no driver, GP_EINVAL if no such device.
 */
int gp_gpu_open(const char *driver_path, int ordinal, struct gp_gpu **out);
void gp_gpu_close(struct gp_gpu *gpu);

/* Make the primary context current on this thread (done by every call below). */
int gp_gpu_bind(struct gp_gpu *gpu);

int gp_gpu_mem_info(struct gp_gpu *gpu, uint64_t *free_bytes, uint64_t *total_bytes);

/* Pin host memory for async copies (portable: usable from every context). */
int gp_gpu_host_register(struct gp_gpu *gpu, void *ptr, size_t len);
int gp_gpu_host_unregister(struct gp_gpu *gpu, void *ptr);

/* Non-blocking streams: they never wait for the legacy default stream. */
int gp_stream_create(struct gp_gpu *gpu, CUstream *out);
int gp_stream_sync(struct gp_gpu *gpu, CUstream stream);
void gp_stream_destroy(struct gp_gpu *gpu, CUstream stream);

/* Async copies, ordered on stream; src/dst host memory should be pinned. */
int gp_copy_h2d(struct gp_gpu *gpu, CUdeviceptr dst, const void *src, size_t len,
		CUstream stream);
int gp_copy_d2h(struct gp_gpu *gpu, void *dst, CUdeviceptr src, size_t len, CUstream stream);

/* Events without timing, used as "the GPU is done up to here" markers. */
int gp_event_create(struct gp_gpu *gpu, CUevent *out);
int gp_event_record(struct gp_gpu *gpu, CUevent event, CUstream stream);
/* 1 when everything before the event has finished, 0 if not yet, or an error. */
int gp_event_query(struct gp_gpu *gpu, CUevent event);
int gp_event_sync(struct gp_gpu *gpu, CUevent event);
void gp_event_destroy(struct gp_gpu *gpu, CUevent event);
/* Work queued on stream after this waits for event (no host-side wait). */
int gp_stream_wait_event(struct gp_gpu *gpu, CUstream stream, CUevent event);
/* Run fn(arg) on a driver thread once the work queued on stream before it is done. */
int gp_stream_host_func(struct gp_gpu *gpu, CUstream stream, void (*fn)(void *), void *arg);

/*
 * The NUMA node of PCI device bus_id under sysfs_root (normally "/sys"):
 * <root>/bus/pci/devices/<bus id, lower case>/numa_node.  *node is -1 when
 * the file is missing or says -1 (a machine without NUMA affinity).
 * GP_EFORMAT if the file holds something else.
 */
int gp_numa_node_lookup(const char *sysfs_root, const char *bus_id, int *node);

#endif

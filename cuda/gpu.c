/* gpu.c - open a device: primary context, properties, NUMA node; memory info and pinning. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "gpu.h"
#include "log.h"

static int device_attribute(struct gp_gpu *gpu, CUdevice_attribute attr, const char *attr_name,
			    int *value)
{
	CUresult res = gpu->drv->cuDeviceGetAttribute(value, attr, gpu->device);

	if (res)
		return gp_cu_fail(gpu->drv, res, "cuDeviceGetAttribute", "%s of device %d",
				  attr_name, gpu->ordinal);
	return 0;
}

static int find_device(struct gp_gpu *gpu)
{
	struct gp_driver *drv = gpu->drv;
	int count;
	CUresult res;

	res = drv->cuDeviceGetCount(&count);
	if (res)
		return gp_cu_fail(drv, res, "cuDeviceGetCount", NULL);
	if (gpu->ordinal < 0 || gpu->ordinal >= count)
		return gp_fail(GP_EINVAL, "no CUDA device %d: the driver '%s' sees %d device(s)",
			       gpu->ordinal, drv->path, count);
	res = drv->cuDeviceGet(&gpu->device, gpu->ordinal);
	if (res)
		return gp_cu_fail(drv, res, "cuDeviceGet", "device %d", gpu->ordinal);
	return 0;
}

static int read_identity(struct gp_gpu *gpu)
{
	struct gp_driver *drv = gpu->drv;
	size_t total;
	CUresult res;

	res = drv->cuDeviceGetName(gpu->name, sizeof(gpu->name), gpu->device);
	if (res)
		return gp_cu_fail(drv, res, "cuDeviceGetName", "device %d", gpu->ordinal);
	res = drv->cuDeviceTotalMem(&total, gpu->device);
	if (res)
		return gp_cu_fail(drv, res, "cuDeviceTotalMem", "device %d", gpu->ordinal);
	gpu->total_mem = total;
	res = drv->cuDeviceGetPCIBusId(gpu->pci_bus_id, sizeof(gpu->pci_bus_id), gpu->device);
	if (res)
		return gp_cu_fail(drv, res, "cuDeviceGetPCIBusId", "device %d", gpu->ordinal);
	for (char *p = gpu->pci_bus_id; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	gpu->is_simulator = strcasestr(gpu->name, "simulated") != NULL;
	return 0;
}

static int probe_vmm(struct gp_gpu *gpu)
{
	CUmemAllocationProp prop = {
		.type = CU_MEM_ALLOCATION_TYPE_PINNED,
		.location = { .type = CU_MEM_LOCATION_TYPE_DEVICE, .id = gpu->device },
	};
	size_t granularity;
	CUresult res;
	int supported, err;

	if (gp_driver_require(gpu->drv, GP_CU_VMM))
		return 0;
	err = device_attribute(gpu, CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED,
			       "VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED", &supported);
	if (err || !supported)
		return err;
	res = gpu->drv->cuMemGetAllocationGranularity(&granularity, &prop,
						      CU_MEM_ALLOC_GRANULARITY_MINIMUM);
	if (res)
		return gp_cu_fail(gpu->drv, res, "cuMemGetAllocationGranularity", "device %d",
				  gpu->ordinal);
	gpu->granularity = granularity;
	gpu->vmm_supported = true;
	return 0;
}

/*
 * The L2 size, for measurements that must stream rather than hit the cache;
 * a driver that does not report it costs only their accuracy.
 */
static void read_cache_size(struct gp_gpu *gpu)
{
	int bytes = 0;

	if (gpu->drv->cuDeviceGetAttribute(&bytes, CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE,
					   gpu->device) || bytes < 0)
		bytes = 0;
	gpu->l2_cache_size = (uint64_t)bytes;
}

/* Prefetch and advice need concurrent managed access (Pascal or newer on Linux). */
static int probe_managed(struct gp_gpu *gpu)
{
	int managed, concurrent, err;

	if (gp_driver_require(gpu->drv, GP_CU_MANAGED))
		return 0;
	err = device_attribute(gpu, CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY, "MANAGED_MEMORY",
			       &managed);
	if (err)
		return err;
	err = device_attribute(gpu, CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS,
			       "CONCURRENT_MANAGED_ACCESS", &concurrent);
	if (err)
		return err;
	gpu->managed_supported = managed && concurrent;
	return 0;
}

/* GPUPAGER_NUMA_NODE wins; otherwise sysfs, where a bad entry only costs the affinity. */
static void find_numa_node(struct gp_gpu *gpu, const struct gp_config *cfg)
{
	if (cfg->numa_node >= 0) {
		gpu->numa_node = cfg->numa_node;
		return;
	}
	if (gp_numa_node_lookup("/sys", gpu->pci_bus_id, &gpu->numa_node)) {
		gp_log_warn("%s; host memory will not be bound to a NUMA node", gp_last_error());
		gpu->numa_node = -1;
	}
}

static int retain_context(struct gp_gpu *gpu)
{
	CUresult res;

	res = gpu->drv->cuDevicePrimaryCtxRetain(&gpu->ctx, gpu->device);
	if (res)
		return gp_cu_fail(gpu->drv, res, "cuDevicePrimaryCtxRetain", "device %d",
				  gpu->ordinal);
	return gp_gpu_bind(gpu);
}

int gp_gpu_open(const char *driver_path, int ordinal, struct gp_gpu **out)
{
	const struct gp_config *cfg;
	struct gp_gpu *gpu;
	int err;

	err = gp_config_get(&cfg);
	if (err)
		return err;
	gpu = calloc(1, sizeof(*gpu));
	if (!gpu)
		return gp_fail(GP_ENOMEM, "CUDA device %d: out of memory", ordinal);
	gpu->ordinal = ordinal;
	err = gp_driver_open(driver_path, &gpu->drv);
	if (err)
		goto fail;
	err = find_device(gpu);
	if (err)
		goto fail;
	err = read_identity(gpu);
	if (err)
		goto fail;
	read_cache_size(gpu);
	err = retain_context(gpu);
	if (err)
		goto fail;
	err = probe_vmm(gpu);
	if (err)
		goto fail;
	err = probe_managed(gpu);
	if (err)
		goto fail;
	find_numa_node(gpu, cfg);
	gp_log_info("CUDA device %d: %s, %llu MiB, PCI %s, NUMA node %d%s%s", ordinal, gpu->name,
		    (unsigned long long)(gpu->total_mem >> 20), gpu->pci_bus_id, gpu->numa_node,
		    gpu->vmm_supported ? ", VMM" : "", gpu->managed_supported ? ", managed" : "");
	*out = gpu;
	return 0;
fail:
	gp_gpu_close(gpu);
	return err;
}

void gp_gpu_close(struct gp_gpu *gpu)
{
	CUcontext current;

	if (!gpu)
		return;
	if (gpu->ctx) {
		/* Leave no thread pointing at a context that the release may destroy. */
		if (!gpu->drv->cuCtxGetCurrent(&current) && current == gpu->ctx)
			gpu->drv->cuCtxSetCurrent(NULL);
		gpu->drv->cuDevicePrimaryCtxRelease(gpu->device);
	}
	gp_driver_close(gpu->drv);
	free(gpu);
}

int gp_gpu_bind(struct gp_gpu *gpu)
{
	CUcontext current;
	CUresult res;

	res = gpu->drv->cuCtxGetCurrent(&current);
	if (res)
		return gp_cu_fail(gpu->drv, res, "cuCtxGetCurrent", NULL);
	if (current == gpu->ctx)
		return 0;
	res = gpu->drv->cuCtxSetCurrent(gpu->ctx);
	if (res)
		return gp_cu_fail(gpu->drv, res, "cuCtxSetCurrent", "primary context of device %d",
				  gpu->ordinal);
	return 0;
}

int gp_gpu_mem_info(struct gp_gpu *gpu, uint64_t *free_bytes, uint64_t *total_bytes)
{
	size_t free_mem, total_mem;
	CUresult res;
	int err;

	err = gp_gpu_bind(gpu);
	if (err)
		return err;
	res = gpu->drv->cuMemGetInfo(&free_mem, &total_mem);
	if (res)
		return gp_cu_fail(gpu->drv, res, "cuMemGetInfo", "device %d", gpu->ordinal);
	*free_bytes = free_mem;
	*total_bytes = total_mem;
	return 0;
}

int gp_gpu_host_register(struct gp_gpu *gpu, void *ptr, size_t len)
{
	CUresult res;
	int err;

	err = gp_gpu_bind(gpu);
	if (err)
		return err;
	res = gpu->drv->cuMemHostRegister(ptr, len, CU_MEMHOSTREGISTER_PORTABLE);
	if (res)
		return gp_cu_fail(gpu->drv, res, "cuMemHostRegister", "pinning %zu bytes at %p",
				  len, ptr);
	return 0;
}

int gp_gpu_host_unregister(struct gp_gpu *gpu, void *ptr)
{
	CUresult res;
	int err;

	err = gp_gpu_bind(gpu);
	if (err)
		return err;
	res = gpu->drv->cuMemHostUnregister(ptr);
	if (res)
		return gp_cu_fail(gpu->drv, res, "cuMemHostUnregister", "unpinning %p", ptr);
	return 0;
}

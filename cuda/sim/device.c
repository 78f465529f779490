/*
 * device.c - the devices (GPUPAGER_SIM_DEVICES) and their attributes.  The
 * simulator never passes for a GPU: its name says it is simulated, and
 * device d's PCI address is 0000:00:<d>.0 (device 0 at 0000:00:00.0, on
 * most hosts the host bridge, never a GPU).  Each device has its own
 * capacity and host NUMA node (none unless given); any two can be peers.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpupager.h"
#include "log.h"
#include "sim.h"

struct sim_device {
	uint64_t capacity;
	int numa_node;          /* CU_DEVICE_ATTRIBUTE_HOST_NUMA_ID; -1: none closer */
};

static struct sim_device devices[SIM_MAX_DEVICES];
static int n_devices = 1;

struct attribute {
	CUdevice_attribute attribute;
	int value;
};

/* Limits of a current data-centre GPU, and the features the pager uses. */
static const struct attribute attributes[] = {
	{ CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, 1024 },
	{ CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X, 1024 },
	{ CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y, 1024 },
	{ CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z, 64 },
	{ CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X, 0x7fffffff },
	{ CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y, 65535 },
	{ CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z, 65535 },
	{ CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK, 48 << 10 },
	{ CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY, 64 << 10 },
	{ CU_DEVICE_ATTRIBUTE_MAX_PITCH, SIM_MAX_PITCH },
	{ CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT, SIM_PITCH_ALIGNMENT },
	{ CU_DEVICE_ATTRIBUTE_TEXTURE_PITCH_ALIGNMENT, SIM_TEXTURE_PITCH_ALIGNMENT },
	{ CU_DEVICE_ATTRIBUTE_WARP_SIZE, 32 },
	{ CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK, 65536 },
	{ CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, 1 },
	{ CU_DEVICE_ATTRIBUTE_KERNEL_EXEC_TIMEOUT, 0 },
	{ CU_DEVICE_ATTRIBUTE_INTEGRATED, 0 },
	{ CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY, 1 },
	{ CU_DEVICE_ATTRIBUTE_COMPUTE_MODE, CU_COMPUTEMODE_DEFAULT },
	{ CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS, 1 },
	{ CU_DEVICE_ATTRIBUTE_ECC_ENABLED, 0 },
	{ CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, 0 },
	{ CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID, 0 },
	{ CU_DEVICE_ATTRIBUTE_TCC_DRIVER, 0 },
	{ CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR, 2048 },
	/* Separate host-to-device and device-to-host copy engines. */
	{ CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT, 2 },
	{ CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING, 1 },
	{ CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, 9 },
	{ CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, 0 },
	{ CU_DEVICE_ATTRIBUTE_STREAM_PRIORITIES_SUPPORTED, 0 },
	{ CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY, 1 },
	{ CU_DEVICE_ATTRIBUTE_MULTI_GPU_BOARD, 0 },
	{ CU_DEVICE_ATTRIBUTE_HOST_NATIVE_ATOMIC_SUPPORTED, 0 },
	{ CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS, 0 },
	{ CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS, 1 },
	{ CU_DEVICE_ATTRIBUTE_CAN_USE_HOST_POINTER_FOR_REGISTERED_MEM, 1 },
	{ CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH, 1 },
	{ CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, 48 << 10 },
	{ CU_DEVICE_ATTRIBUTE_HOST_REGISTER_SUPPORTED, 1 },
	{ CU_DEVICE_ATTRIBUTE_DIRECT_MANAGED_MEM_ACCESS_FROM_HOST, 1 },
	{ CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED, 1 },
	{ CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR_SUPPORTED, 0 },
	{ CU_DEVICE_ATTRIBUTE_GENERIC_COMPRESSION_SUPPORTED, 0 },
	{ CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_WITH_CUDA_VMM_SUPPORTED, 0 },
	{ CU_DEVICE_ATTRIBUTE_READ_ONLY_HOST_REGISTER_SUPPORTED, 1 },
	/* The default pool only (pool.c), exportable to no handle type. */
	{ CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED, 1 },
	{ CU_DEVICE_ATTRIBUTE_MEMPOOL_SUPPORTED_HANDLE_TYPES, 0 },
	{ CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_SUPPORTED, 0 },
	{ CU_DEVICE_ATTRIBUTE_NUMA_CONFIG, CU_DEVICE_NUMA_CONFIG_NONE },
	{ CU_DEVICE_ATTRIBUTE_MPS_ENABLED, 0 },
	/* FP32 to FP64 throughput of a data-centre GPU (67 and 34 TFLOP/s on an H100). */
	{ CU_DEVICE_ATTRIBUTE_SINGLE_TO_DOUBLE_PRECISION_PERF_RATIO, 2 },
};

/* One entry of GPUPAGER_SIM_DEVICES's list form: SIZE or SIZE@NODE. */
static int parse_entry(char *text, uint64_t default_vram, struct sim_device *d)
{
	char *at = strchr(text, '@'), *end;
	long node;

	d->capacity = default_vram;
	d->numa_node = -1;
	if (at) {
		*at = '\0';
		errno = 0;
		node = strtol(at + 1, &end, 10);
		if (errno || *end || end == at + 1 || node < 0 || node > 4095)
			return -1;
		d->numa_node = (int)node;
	}
	return gp_parse_size(text, &d->capacity) || !d->capacity ? -1 : 0;
}

/* N (N devices of GPUPAGER_SIM_VRAM) or SIZE[@NODE],SIZE[@NODE]...: one entry a device. */
CUresult sim_devices_setup(const struct gp_config *cfg)
{
	const char *spec = cfg->sim_devices ? cfg->sim_devices : "1";
	char copy[512], *entry, *next;
	size_t digits = strspn(spec, "0123456789");

	if (spec[0] && !spec[digits]) {
		long n = strtol(spec, NULL, 10);

		if (n < 1 || n > SIM_MAX_DEVICES)
			goto bad;
		n_devices = (int)n;
		for (int i = 0; i < n_devices; i++)
			devices[i] = (struct sim_device){ cfg->sim_vram, -1 };
		return CUDA_SUCCESS;
	}
	if (strlen(spec) >= sizeof(copy))
		goto bad;
	strcpy(copy, spec);
	n_devices = 0;
	/* Every entry counts: an empty one ("4G,,2G", "4G,") is an error, not skipped. */
	for (entry = copy; entry; entry = next) {
		next = strchr(entry, ',');
		if (next)
			*next++ = '\0';
		if (n_devices == SIM_MAX_DEVICES ||
		    parse_entry(entry, cfg->sim_vram, &devices[n_devices]))
			goto bad;
		n_devices++;
	}
	return CUDA_SUCCESS;
bad:
	gp_log_error("GPUPAGER_SIM_DEVICES=%s: expected a count from 1 to %d, or one SIZE[@NODE] "
		     "a device, comma-separated (e.g. 4G,2G@1)", spec, SIM_MAX_DEVICES);
	return CUDA_ERROR_INVALID_VALUE;
}

int sim_device_count(void)
{
	return n_devices;
}

uint64_t sim_device_capacity(int dev)
{
	return devices[dev].capacity;
}

CUresult sim_check_device(CUdevice dev, const char *func)
{
	if (dev < 0 || dev >= n_devices)
		return sim_error(CUDA_ERROR_INVALID_DEVICE,
				 "%s: device %d does not exist (there are %d)", func, dev, n_devices);
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetCount(int *count)
{
	CUresult err = sim_enter("cuDeviceGetCount", SIM_NEED_INIT);

	if (err)
		return err;
	if (!count)
		return CUDA_ERROR_INVALID_VALUE;
	*count = n_devices;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice *device, int ordinal)
{
	CUresult err = sim_enter("cuDeviceGet", SIM_NEED_INIT);

	if (err)
		return err;
	if (!device)
		return CUDA_ERROR_INVALID_VALUE;
	err = sim_check_device(ordinal, "cuDeviceGet");
	if (err)
		return err;
	*device = ordinal;
	return CUDA_SUCCESS;
}

/* Copies text into a caller's buffer of len bytes; truncates like the driver. */
static CUresult copy_text(char *buf, int len, const char *text)
{
	if (!buf || len <= 0)
		return CUDA_ERROR_INVALID_VALUE;
	snprintf(buf, (size_t)len, "%s", text);
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char *name, int len, CUdevice dev)
{
	CUresult err = sim_enter("cuDeviceGetName", SIM_NEED_INIT);

	if (!err)
		err = sim_check_device(dev, "cuDeviceGetName");
	if (err)
		return err;
	return copy_text(name, len, SIM_DEVICE_NAME);
}

CUresult cuDeviceGetPCIBusId(char *bus_id, int len, CUdevice dev)
{
	CUresult err = sim_enter("cuDeviceGetPCIBusId", SIM_NEED_INIT);
	char text[16];

	if (!err)
		err = sim_check_device(dev, "cuDeviceGetPCIBusId");
	if (err)
		return err;
	/* domain:bus:device.function, the device number being the ordinal. */
	snprintf(text, sizeof(text), "0000:00:%02x.0", (unsigned)dev);
	return copy_text(bus_id, len, text);
}

/* 16 bytes naming the device: "gpupager-sim" and the ordinal, stable from run to run. */
CUresult cuDeviceGetUuid_v2(CUuuid *uuid, CUdevice dev)
{
	CUresult err = sim_enter("cuDeviceGetUuid", SIM_NEED_INIT);
	static const char tag[12] = "gpupager-sim";

	if (!err)
		err = sim_check_device(dev, "cuDeviceGetUuid");
	if (err)
		return err;
	if (!uuid)
		return CUDA_ERROR_INVALID_VALUE;
	memset(uuid->bytes, 0, sizeof(uuid->bytes));
	memcpy(uuid->bytes, tag, sizeof(tag));
	uuid->bytes[15] = (char)dev;
	return CUDA_SUCCESS;
}

/* The CUDA 9.2 form; with no MIG instances it answers as the current one. */
CUresult sim_device_get_uuid_v9020(CUuuid *uuid, CUdevice dev)
{
	return cuDeviceGetUuid_v2(uuid, dev);
}

CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev)
{
	CUresult err = sim_enter("cuDeviceTotalMem", SIM_NEED_INIT);
	size_t used, capacity;

	if (!err)
		err = sim_check_device(dev, "cuDeviceTotalMem");
	if (err)
		return err;
	if (!bytes)
		return CUDA_ERROR_INVALID_VALUE;
	sim_vm_lock();
	sim_physmem_usage(dev, &used, &capacity);
	sim_vm_unlock();
	*bytes = capacity;
	return CUDA_SUCCESS;
}

/*
 * The simulated kernels run on the host's cores, so the cache in front of
 * their memory is the host's last level; a host that does not say gets an
 * H100's 50 MiB.
 */
static int host_last_level_cache(void)
{
	static const int names[] = { _SC_LEVEL3_CACHE_SIZE, _SC_LEVEL2_CACHE_SIZE };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		long bytes = sysconf(names[i]);

		if (bytes > 0 && bytes <= INT_MAX)
			return (int)bytes;
	}
	return 50 << 20;
}

CUresult cuDeviceGetAttribute(int *value, CUdevice_attribute attribute, CUdevice dev)
{
	CUresult err = sim_enter("cuDeviceGetAttribute", SIM_NEED_INIT);

	if (!err)
		err = sim_check_device(dev, "cuDeviceGetAttribute");
	if (err)
		return err;
	if (!value)
		return CUDA_ERROR_INVALID_VALUE;
	/* The attributes that differ from device to device. */
	switch (attribute) {
	case CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID:
		*value = dev;
		return CUDA_SUCCESS;
	case CU_DEVICE_ATTRIBUTE_HOST_NUMA_ID:
		*value = devices[dev].numa_node;
		return CUDA_SUCCESS;
	case CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE:
		*value = host_last_level_cache();
		return CUDA_SUCCESS;
	default:
		break;
	}
	for (size_t i = 0; i < sizeof(attributes) / sizeof(attributes[0]); i++) {
		if (attributes[i].attribute == attribute) {
			*value = attributes[i].value;
			return CUDA_SUCCESS;
		}
	}
	return sim_error(CUDA_ERROR_INVALID_VALUE,
			 "cuDeviceGetAttribute: attribute %d is not simulated", (int)attribute);
}

/* Both devices of a pair exist. */
static CUresult check_pair(CUdevice a, CUdevice b, const char *func)
{
	CUresult err = sim_check_device(a, func);

	return err ? err : sim_check_device(b, func);
}

/*
 * Any two devices reach each other's memory: they share one host and one
 * address space.  A device is not its own peer.
 */
CUresult cuDeviceCanAccessPeer(int *can_access, CUdevice dev, CUdevice peer)
{
	CUresult err = sim_enter("cuDeviceCanAccessPeer", SIM_NEED_INIT);

	if (!err)
		err = check_pair(dev, peer, "cuDeviceCanAccessPeer");
	if (err)
		return err;
	if (!can_access)
		return CUDA_ERROR_INVALID_VALUE;
	*can_access = dev != peer;
	return CUDA_SUCCESS;
}

/*
 * The link between two devices: access supported, one rank for every
 * pair; no claim about atomics over it, and no CUDA arrays to reach.
 */
CUresult cuDeviceGetP2PAttribute(int *value, CUdevice_P2PAttribute attribute, CUdevice src,
				 CUdevice dst)
{
	CUresult err = sim_enter("cuDeviceGetP2PAttribute", SIM_NEED_INIT);

	if (!err)
		err = check_pair(src, dst, "cuDeviceGetP2PAttribute");
	if (err)
		return err;
	if (src == dst)
		return sim_error(CUDA_ERROR_INVALID_DEVICE,
				 "cuDeviceGetP2PAttribute: device %d and itself", src);
	if (!value)
		return CUDA_ERROR_INVALID_VALUE;
	switch (attribute) {
	case CU_DEVICE_P2P_ATTRIBUTE_PERFORMANCE_RANK:
		*value = 0;
		return CUDA_SUCCESS;
	case CU_DEVICE_P2P_ATTRIBUTE_ACCESS_SUPPORTED:
		*value = 1;
		return CUDA_SUCCESS;
	case CU_DEVICE_P2P_ATTRIBUTE_NATIVE_ATOMIC_SUPPORTED:
	case CU_DEVICE_P2P_ATTRIBUTE_CUDA_ARRAY_ACCESS_SUPPORTED:
	case CU_DEVICE_P2P_ATTRIBUTE_ONLY_PARTIAL_NATIVE_ATOMIC_SUPPORTED:
		*value = 0;
		return CUDA_SUCCESS;
	default:
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuDeviceGetP2PAttribute: attribute %d", (int)attribute);
	}
}

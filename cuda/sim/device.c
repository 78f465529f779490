/*
 * device.c - device 0 and its attributes.  The simulator never passes for
 * a GPU: its name says it is simulated, and its PCI address is 0000:00:00.0
 * (on most hosts the host bridge, never a GPU), with no NUMA affinity.
 */
#include <stdio.h>
#include <string.h>

#include "sim.h"

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
	{ CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID, 0 },
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
	/* No host NUMA node is closer than another. */
	{ CU_DEVICE_ATTRIBUTE_HOST_NUMA_ID, -1 },
};

CUresult sim_check_device(CUdevice dev, const char *func)
{
	if (dev != 0)
		return sim_error(CUDA_ERROR_INVALID_DEVICE, "%s: device %d does not exist (only 0)",
				 func, dev);
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetCount(int *count)
{
	CUresult err = sim_enter("cuDeviceGetCount", SIM_NEED_INIT);

	if (err)
		return err;
	if (!count)
		return CUDA_ERROR_INVALID_VALUE;
	*count = 1;
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
	*device = 0;
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

	if (!err)
		err = sim_check_device(dev, "cuDeviceGetPCIBusId");
	if (err)
		return err;
	return copy_text(bus_id, len, SIM_PCI_BUS_ID);
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
	sim_physmem_usage(&used, &capacity);
	sim_vm_unlock();
	*bytes = capacity;
	return CUDA_SUCCESS;
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
	for (size_t i = 0; i < sizeof(attributes) / sizeof(attributes[0]); i++) {
		if (attributes[i].attribute == attribute) {
			*value = attributes[i].value;
			return CUDA_SUCCESS;
		}
	}
	return sim_error(CUDA_ERROR_INVALID_VALUE,
			 "cuDeviceGetAttribute: attribute %d is not simulated", (int)attribute);
}

/*
 * vmm.c - the virtual memory management API: reserve device addresses,
 * create physical allocations, map them, grant access, unmap, release.
 *
 * Rules enforced as a driver does: sizes and addresses are multiples of
 * the granularity, cuMemMap's offset must be 0, a mapped range cannot be
 * mapped again, cuMemUnmap must cover whole mappings, and memory is
 * inaccessible (an access faults) until cuMemSetAccess.
 */
#include <sys/mman.h>

#include "sim.h"

static CUresult check_location(const CUmemLocation *loc, const char *func)
{
	if (loc->type != CU_MEM_LOCATION_TYPE_DEVICE)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: location type %d is not a device",
				 func, (int)loc->type);
	return sim_check_device(loc->id, func);
}

static CUresult check_prop(const CUmemAllocationProp *prop, const char *func)
{
	if (!prop)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: no allocation properties", func);
	if (prop->type != CU_MEM_ALLOCATION_TYPE_PINNED)
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "%s: allocation type %d is not CU_MEM_ALLOCATION_TYPE_PINNED", func,
				 (int)prop->type);
	if (prop->requestedHandleTypes != CU_MEM_HANDLE_TYPE_NONE ||
	    prop->allocFlags.compressionType)
		return sim_error(CUDA_ERROR_NOT_SUPPORTED,
				 "%s: shareable handles and compression are not simulated", func);
	return check_location(&prop->location, func);
}

static bool granular(size_t x)
{
	return x % SIM_GRANULARITY == 0;
}

CUresult cuMemGetAllocationGranularity(size_t *granularity, const CUmemAllocationProp *prop,
				       CUmemAllocationGranularity_flags option)
{
	CUresult err = sim_enter("cuMemGetAllocationGranularity", SIM_NEED_INIT);

	if (err)
		return err;
	if (!granularity || (option != CU_MEM_ALLOC_GRANULARITY_MINIMUM &&
			     option != CU_MEM_ALLOC_GRANULARITY_RECOMMENDED))
		return CUDA_ERROR_INVALID_VALUE;
	err = check_prop(prop, "cuMemGetAllocationGranularity");
	if (err)
		return err;
	*granularity = SIM_GRANULARITY;
	return CUDA_SUCCESS;
}

CUresult cuMemAddressReserve(CUdeviceptr *ptr, size_t size, size_t alignment, CUdeviceptr addr,
			     unsigned long long flags)
{
	CUresult err = sim_enter("cuMemAddressReserve", SIM_NEED_INIT);
	struct sim_resv *resv;

	if (err)
		return err;
	if (!ptr || flags || !size || !granular(size))
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuMemAddressReserve: size %zu must be a non-zero multiple of %llu "
				 "and flags 0", size, SIM_GRANULARITY);
	if (alignment & (alignment - 1))
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuMemAddressReserve: alignment %zu is not a power of two",
				 alignment);
	if (alignment < SIM_GRANULARITY)
		alignment = SIM_GRANULARITY;
	sim_vm_lock();
	err = sim_resv_create(size, alignment, (uintptr_t)addr, SIM_RESV_VMM, &resv);
	sim_vm_unlock();
	if (err)
		return err;
	*ptr = (CUdeviceptr)resv->base;
	return CUDA_SUCCESS;
}

CUresult cuMemAddressFree(CUdeviceptr ptr, size_t size)
{
	CUresult err = sim_enter("cuMemAddressFree", SIM_NEED_INIT);
	struct sim_resv *resv;

	if (err)
		return err;
	sim_vm_lock();
	resv = sim_resv_find((uintptr_t)ptr);
	if (!resv || resv->kind != SIM_RESV_VMM || resv->base != ptr || resv->size != size)
		err = sim_error(CUDA_ERROR_INVALID_VALUE,
				"cuMemAddressFree: [%#llx, +%zu) is not a range from "
				"cuMemAddressReserve", ptr, size);
	else
		err = sim_resv_destroy(resv);
	sim_vm_unlock();
	return err;
}

CUresult cuMemCreate(CUmemGenericAllocationHandle *handle, size_t size,
		     const CUmemAllocationProp *prop, unsigned long long flags)
{
	CUresult err = sim_enter("cuMemCreate", SIM_NEED_INIT);
	struct sim_phys *phys;

	if (err)
		return err;
	if (!handle || flags || !size || !granular(size))
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuMemCreate: size %zu must be a non-zero multiple of %llu and flags 0",
				 size, SIM_GRANULARITY);
	err = check_prop(prop, "cuMemCreate");
	if (err)
		return err;
	sim_vm_lock();
	err = sim_phys_create(size, prop->location.id, &phys);
	if (!err)
		*handle = sim_phys_handle(phys);
	sim_vm_unlock();
	return err;
}

/* The memory itself goes when its last mapping does. */
CUresult cuMemRelease(CUmemGenericAllocationHandle handle)
{
	CUresult err = sim_enter("cuMemRelease", SIM_NEED_INIT);
	struct sim_phys *phys;

	if (err)
		return err;
	sim_vm_lock();
	phys = sim_phys_lookup(handle);
	if (phys) {
		phys->handle_live = false;
		sim_phys_put(phys);
	} else {
		err = sim_error(CUDA_ERROR_INVALID_VALUE, "cuMemRelease: unknown handle %#llx",
				handle);
	}
	sim_vm_unlock();
	return err;
}

CUresult cuMemMap(CUdeviceptr ptr, size_t size, size_t offset, CUmemGenericAllocationHandle handle,
		  unsigned long long flags)
{
	CUresult err = sim_enter("cuMemMap", SIM_NEED_INIT);
	struct sim_phys *phys;

	if (err)
		return err;
	if (offset || flags)
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuMemMap: offset (%zu) and flags (%#llx) must be 0", offset, flags);
	sim_vm_lock();
	phys = sim_phys_lookup(handle);
	if (phys)
		err = sim_map((uintptr_t)ptr, size, phys);
	else
		err = sim_error(CUDA_ERROR_INVALID_VALUE, "cuMemMap: unknown handle %#llx", handle);
	sim_vm_unlock();
	return err;
}

CUresult cuMemUnmap(CUdeviceptr ptr, size_t size)
{
	CUresult err = sim_enter("cuMemUnmap", SIM_NEED_INIT);
	struct sim_resv *resv;

	if (err)
		return err;
	sim_vm_lock();
	resv = sim_resv_find((uintptr_t)ptr);
	if (resv && resv->kind != SIM_RESV_VMM)
		err = sim_error(CUDA_ERROR_INVALID_VALUE,
				"cuMemUnmap: %#llx belongs to cuMemAlloc/cuMemAllocManaged", ptr);
	else
		err = sim_unmap((uintptr_t)ptr, size);
	sim_vm_unlock();
	return err;
}

static CUresult access_prot(CUmemAccess_flags flags, int *prot)
{
	switch (flags) {
	case CU_MEM_ACCESS_FLAGS_PROT_NONE:
		*prot = PROT_NONE;
		return CUDA_SUCCESS;
	case CU_MEM_ACCESS_FLAGS_PROT_READ:
		*prot = PROT_READ;
		return CUDA_SUCCESS;
	case CU_MEM_ACCESS_FLAGS_PROT_READWRITE:
		*prot = PROT_READ | PROT_WRITE;
		return CUDA_SUCCESS;
	default:
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuMemSetAccess: bad flags %#x",
				 (unsigned)flags);
	}
}

/* Each descriptor sets its device's access; a device named twice takes the last. */
CUresult cuMemSetAccess(CUdeviceptr ptr, size_t size, const CUmemAccessDesc *desc, size_t count)
{
	CUresult err = sim_enter("cuMemSetAccess", SIM_NEED_INIT);
	struct sim_resv *resv;
	int prot = PROT_NONE;

	if (err)
		return err;
	if (!desc || count == 0)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuMemSetAccess: no access descriptor");
	for (size_t i = 0; i < count; i++) {
		err = check_location(&desc[i].location, "cuMemSetAccess");
		if (!err)
			err = access_prot(desc[i].flags, &prot);
		if (err)
			return err;
	}
	sim_vm_lock();
	resv = sim_resv_find((uintptr_t)ptr);
	if (resv && resv->kind != SIM_RESV_VMM)
		err = sim_error(CUDA_ERROR_INVALID_VALUE,
				"cuMemSetAccess: %#llx belongs to cuMemAlloc/cuMemAllocManaged",
				ptr);
	for (size_t i = 0; i < count && !err; i++) {
		access_prot(desc[i].flags, &prot);
		err = sim_set_access((uintptr_t)ptr, size, desc[i].location.id, prot);
	}
	sim_vm_unlock();
	return err;
}

/*
 * peer.c - kernels and other devices' memory.  On a GPU a kernel that
 * dereferences memory cuMemAlloc'd on another device faults unless its
 * context enabled peer access to that device (cuCtxEnablePeerAccess).  A
 * simulated kernel is a host function that could read anything, so before
 * one runs its pointer-sized parameters are looked up: one pointing into
 * another device's cuMemAlloc memory without peer access is an illegal
 * address, as the GPU's fault would be.  Only parameters are seen
 * (pointers stored in device memory are not), and VMM ranges are left
 * alone: cuMemSetAccess governs them, and the simulator does not record
 * which devices a descriptor names.
 */
#include <string.h>

#include "log.h"
#include "sim.h"

/* The device whose cuMemAlloc memory holds word; -1 if it is none's. */
static int alloc_device(uint64_t word)
{
	struct sim_resv *resv;
	int dev = -1;

	if (!sim_vspace_contains((uintptr_t)word))
		return -1;
	sim_vm_lock();
	resv = sim_resv_find((uintptr_t)word);
	if (resv && resv->kind == SIM_RESV_ALLOC && word - resv->base < resv->bytes)
		dev = resv->device;
	sim_vm_unlock();
	return dev;
}

bool sim_launch_peer_fault(int dev, const struct gp_sim_kernel_desc *desc, void *const *params)
{
	if (sim_device_count() == 1)
		return false;
	for (unsigned i = 0; i < desc->n_params; i++) {
		uint64_t word;
		int owner;

		if (desc->param_sizes[i] != sizeof(word))
			continue;
		memcpy(&word, params[i], sizeof(word));
		owner = alloc_device(word);
		if (owner >= 0 && !sim_peer_enabled(dev, owner)) {
			gp_log_error("simulated device: kernel '%s' on device %d: illegal address: "
				     "parameter %u points into device %d's memory (%#llx) and peer "
				     "access to it is not enabled (cuCtxEnablePeerAccess)",
				     desc->name, dev, i, owner, (unsigned long long)word);
			return true;
		}
	}
	return false;
}

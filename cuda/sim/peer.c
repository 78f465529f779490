/*
 * peer.c - kernels and other devices' memory.  On a GPU a kernel that
 * dereferences memory cuMemAlloc'd on another device faults unless its
 * context enabled peer access to that device (cuCtxEnablePeerAccess).  A
 * simulated kernel is a host function that could read anything, so before
 * one runs its pointer-sized parameters are looked up: one pointing into
 * another device's cuMemAlloc memory without peer access is an illegal
 * address, as the GPU's fault would be; so is one pointing into VMM
 * memory that cuMemSetAccess gave the kernel's device no access to (peer
 * access does not apply to it).  Only parameters are seen (pointers stored
 * in device memory are not).
 */
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "sim.h"

/*
 * What dev may not reach through word: *owner, the device whose cuMemAlloc
 * memory it points into (-1: none), and whether it is VMM memory mapped
 * without access for dev.
 */
static bool vmm_denied(uint64_t word, int dev, int *owner)
{
	struct sim_resv *resv;
	bool denied = false;

	*owner = -1;
	if (!sim_vspace_contains((uintptr_t)word))
		return false;
	sim_vm_lock();
	resv = sim_resv_find((uintptr_t)word);
	if (resv && resv->kind == SIM_RESV_ALLOC && word - resv->base < resv->bytes)
		*owner = resv->device;
	else if (resv && resv->kind == SIM_RESV_VMM)
		denied = sim_vmm_access((uintptr_t)word, dev) == PROT_NONE;
	sim_vm_unlock();
	return denied;
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
		if (vmm_denied(word, dev, &owner)) {
			gp_log_error("simulated device: kernel '%s' on device %d: illegal address: "
				     "parameter %u points into mapped memory (%#llx) that "
				     "cuMemSetAccess gave device %d no access to", desc->name, dev,
				     i, (unsigned long long)word, dev);
			return true;
		}
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

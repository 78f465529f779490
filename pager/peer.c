/*
 * peer.c - another device's kernels reaching this pager's memory.  With
 * the vmm backend a mapping is accessible only to the devices
 * cuMemSetAccess names, so peer access a program enabled
 * (cuCtxEnablePeerAccess) does not reach it: the shim grants the peer
 * here, and every model's mapped chunks, and those mapped later, take it.
 */
#include "error.h"
#include "log.h"
#include "pager.h"

int gp_pager_grant_peer(struct gp_pager *p, int device)
{
	struct gp_model *m;
	int added, err = 0;

	pthread_mutex_lock(&p->lock);
	added = gp_devmem_add_peer(p->dm, (CUdevice)device);
	if (added > 0)
		err = gp_gpu_bind(p->gpu);
	for (m = added > 0 ? p->models : NULL; m && !err; m = m->next)
		err = gp_devmem_refresh_access(p->dm, m->range);
	pthread_mutex_unlock(&p->lock);
	if (added > 0 && !err)
		gp_log_info("device %d's kernels may use this pager's memory now (peer access)",
			    device);
	return added < 0 ? added : err;
}

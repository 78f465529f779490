/*
 * hostpool_mem.c - the pool's one allocation: mapped, placed on a NUMA
 * node, kept from fork()ed children, first-touched, then pinned with the
 * driver and registered with the reader, all once at open.
 */
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"
#include "gpu.h"
#include "hostpool_priv.h"
#include "io.h"
#include "log.h"

/*
 * Prefer the node rather than bind to it: a node short of memory then
 * spills to another instead of failing the first touch (the budget was
 * checked against the whole machine's MemAvailable).
 */
static int place(struct gp_host_mem *mem, int node)
{
	struct bitmask *mask;
	int rc;

	if (node < 0)
		return 0;
	if (numa_available() < 0) {
		gp_log_info("host pool: NUMA not available; node %d ignored", node);
		return 0;
	}
	if (node > numa_max_node())
		return gp_fail(GP_EINVAL, "host pool: NUMA node %d does not exist (highest is %d)",
			       node, numa_max_node());
	mask = numa_allocate_nodemask();
	if (!mask)
		return gp_fail(GP_ENOMEM, "host pool: no memory for a NUMA node mask");
	numa_bitmask_setbit(mask, (unsigned)node);
	rc = mbind(mem->base, mem->len, MPOL_PREFERRED, mask->maskp, mask->size + 1, 0);
	numa_free_nodemask(mask);
	if (rc)
		return gp_fail(GP_EIO, "host pool: mbind to NUMA node %d: %s", node, strerror(errno));
	mem->numa_node = node;
	return 0;
}

/* Populate every page now (writable), so nothing faults on a hot path. */
static int first_touch(struct gp_host_mem *mem)
{
	long page = sysconf(_SC_PAGESIZE);

	if (madvise(mem->base, mem->len, MADV_POPULATE_WRITE) == 0)
		return 0;
	if (errno != EINVAL)
		return gp_fail(GP_EHOSTMEM, "host pool: populating %zu bytes: %s", mem->len,
			       strerror(errno));
	/* Kernels before 5.14: touch one byte per page. */
	for (size_t off = 0; off < mem->len; off += (size_t)page)
		((volatile char *)mem->base)[off] = 0;
	return 0;
}

int gp_host_mem_alloc(struct gp_host_mem *mem, size_t len, int numa_node, struct gp_gpu *gpu,
		      struct gp_io *io)
{
	int err;

	memset(mem, 0, sizeof(*mem));
	mem->numa_node = -1;
	mem->len = len;
	mem->base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem->base == MAP_FAILED) {
		mem->base = NULL;
		return gp_fail(GP_EHOSTMEM, "host pool: mapping %zu bytes: %s", len, strerror(errno));
	}
	err = place(mem, numa_node);
	if (err)
		goto fail;
	/* A fork()ed child must not share (or copy) pinned, registered memory. */
	if (madvise(mem->base, len, MADV_DONTFORK)) {
		err = gp_fail(GP_EIO, "host pool: MADV_DONTFORK: %s", strerror(errno));
		goto fail;
	}
	/* Fewer page-table entries to pin and walk; a hint only. */
	madvise(mem->base, len, MADV_HUGEPAGE);
	err = first_touch(mem);
	if (err)
		goto fail;
	if (gpu) {
		err = gp_gpu_host_register(gpu, mem->base, len);
		if (err)
			goto fail;
		mem->gpu = gpu;
	}
	if (io) {
		err = gp_io_register_memory(io, mem->base, len);
		if (err)
			goto fail;
		mem->io = io;
	}
	return 0;
fail:
	gp_host_mem_free(mem);
	return err;
}

void gp_host_mem_free(struct gp_host_mem *mem)
{
	if (!mem->base)
		return;
	if (mem->io)
		gp_io_unregister_memory(mem->io);
	if (mem->gpu && gp_gpu_host_unregister(mem->gpu, mem->base))
		gp_log_warn("host pool: %s", gp_last_error());
	munmap(mem->base, mem->len);
	memset(mem, 0, sizeof(*mem));
	mem->numa_node = -1;
}

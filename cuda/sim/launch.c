/*
 * launch.c - kernel launches and host functions on streams.  Argument
 * values are copied at launch time (kernelParams, or the packed `extra`
 * buffer) so the caller may reuse its variables at once, as with CUDA.
 */
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "launch_extra.h"
#include "sim.h"

/* Launch limits of current GPUs. */
#define SIM_MAX_BLOCK_THREADS 1024u
#define SIM_MAX_BLOCK_Z 64u
#define SIM_MAX_GRID_YZ 65535u
#define SIM_MAX_SHARED_BYTES (48u << 10)

struct launch_op {
	struct sim_op op;
	CUfunction f;
	gp_sim_kernel_fn fn;
	struct gp_sim_launch launch;
	int device;           /* of the context it was launched from */
	void *params[GP_SIM_MAX_PARAMS];
	unsigned char args[]; /* the parameter block */
};

struct host_fn_op {
	struct sim_op op;
	CUhostFn fn;
	void *data;
};

static uint64_t run_launch(struct sim_op *op, uint64_t start_ns)
{
	struct launch_op *l = (struct launch_op *)op;

	(void)start_ns;
	/* Checked as it runs: peer access may change between the launch and then. */
	if (sim_launch_peer_fault(l->device, l->f->desc, l->params))
		sim_set_sticky_error(CUDA_ERROR_ILLEGAL_ADDRESS);
	else
		l->fn(l->params, &l->launch);
	free(l);
	return sim_now_ns();
}

static CUresult check_dims(const struct gp_sim_launch *launch)
{
	const struct gp_sim_dim3 *g = &launch->grid, *b = &launch->block;

	if (!g->x || !g->y || !g->z || !b->x || !b->y || !b->z || g->x > 0x7fffffffu ||
	    g->y > SIM_MAX_GRID_YZ || g->z > SIM_MAX_GRID_YZ || b->z > SIM_MAX_BLOCK_Z ||
	    (uint64_t)b->x * b->y * b->z > SIM_MAX_BLOCK_THREADS)
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "launch: grid (%u,%u,%u) or block (%u,%u,%u) out of range", g->x,
				 g->y, g->z, b->x, b->y, b->z);
	if (launch->shared_bytes > SIM_MAX_SHARED_BYTES)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "launch: %u bytes of shared memory",
				 launch->shared_bytes);
	return CUDA_SUCCESS;
}

/* The packed form (launch_extra.h): at least the kernel's parameter bytes. */
static CUresult copy_extra(void **extra, struct launch_op *l, size_t param_bytes)
{
	const void *buffer, *unknown = NULL;
	const size_t *size;

	if (!gp_launch_extra_parse(extra, &buffer, &size, &unknown))
		return sim_error(CUDA_ERROR_INVALID_VALUE, "launch: unknown key %p in extra",
				 unknown);
	if (!buffer || !size || *size < param_bytes)
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "launch: extra needs a buffer of at least %zu bytes", param_bytes);
	memcpy(l->args, buffer, param_bytes);
	return CUDA_SUCCESS;
}

/* A graph node's copy: the same parameter block, its pointers moved along. */
static struct sim_op *clone_launch(const struct sim_op *op)
{
	const struct launch_op *l = (const struct launch_op *)op;
	size_t size = sizeof(*l) + l->f->param_bytes;
	struct launch_op *c = malloc(size);

	if (!c)
		return NULL;
	memcpy(c, l, size);
	for (unsigned i = 0; i < l->f->desc->n_params; i++)
		c->params[i] = c->args + ((unsigned char *)l->params[i] - l->args);
	return &c->op;
}

void sim_launch_op_params(const struct sim_op *op, CUDA_KERNEL_NODE_PARAMS *out)
{
	struct launch_op *l = (struct launch_op *)op;

	*out = (CUDA_KERNEL_NODE_PARAMS){
		.func = l->f,
		.gridDimX = l->launch.grid.x,
		.gridDimY = l->launch.grid.y,
		.gridDimZ = l->launch.grid.z,
		.blockDimX = l->launch.block.x,
		.blockDimY = l->launch.block.y,
		.blockDimZ = l->launch.block.z,
		.sharedMemBytes = l->launch.shared_bytes,
		.kernelParams = l->params,
	};
}

/* Check a launch and copy its arguments into a new operation. */
CUresult sim_launch_op_new(const char *func_name, CUfunction f, const struct gp_sim_launch *dims,
			   void **kernel_params, void **extra, struct sim_op **out)
{
	const struct gp_sim_kernel_desc *desc;
	struct launch_op *l;
	CUresult err;

	if (!f)
		return CUDA_ERROR_INVALID_HANDLE;
	desc = f->desc;
	err = check_dims(dims);
	if (err)
		return err;
	if ((kernel_params && extra) || (desc->n_params && !kernel_params && !extra))
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "%s: kernel '%s' needs its arguments in exactly one of "
				 "kernelParams and extra", func_name, desc->name);
	l = calloc(1, sizeof(*l) + f->param_bytes);
	if (!l)
		return CUDA_ERROR_OUT_OF_MEMORY;
	l->op.run = run_launch;
	l->op.clone = clone_launch;
	l->op.node_type = CU_GRAPH_NODE_TYPE_KERNEL;
	l->f = f;
	l->fn = desc->fn;
	l->launch = *dims;
	l->device = sim_current_device();
	for (unsigned i = 0; i < desc->n_params; i++) {
		l->params[i] = l->args + f->offsets[i];
		if (kernel_params)
			memcpy(l->params[i], kernel_params[i], desc->param_sizes[i]);
	}
	if (extra)
		err = copy_extra(extra, l, f->param_bytes);
	if (err) {
		free(l);
		return err;
	}
	*out = &l->op;
	return CUDA_SUCCESS;
}

static CUresult launch(const char *func_name, CUfunction f, const struct gp_sim_launch *dims,
		       CUstream hstream, void **kernel_params, void **extra)
{
	CUresult err = sim_enter(func_name, SIM_NEED_CTX);
	struct sim_op *op;
	CUstream s;

	if (!err)
		err = sim_stream_get(hstream, &s);
	if (!err)
		err = sim_launch_op_new(func_name, f, dims, kernel_params, extra, &op);
	if (err)
		return err;
	err = sim_stream_submit(s, op, NULL);
	if (err)
		free(op);
	return err;
}

CUresult cuLaunchKernel(CUfunction f, unsigned int grid_x, unsigned int grid_y,
			unsigned int grid_z, unsigned int block_x, unsigned int block_y,
			unsigned int block_z, unsigned int shared_bytes, CUstream hstream,
			void **kernel_params, void **extra)
{
	struct gp_sim_launch dims = {
		.grid = { grid_x, grid_y, grid_z },
		.block = { block_x, block_y, block_z },
		.shared_bytes = shared_bytes,
	};

	return launch("cuLaunchKernel", f, &dims, hstream, kernel_params, extra);
}

/*
 * A cooperative launch is an ordinary one here: every block of a host
 * "kernel" runs in one call, so grid-wide synchronisation holds trivially
 * and no grid is too large to be co-resident.
 */
CUresult cuLaunchCooperativeKernel(CUfunction f, unsigned int grid_x, unsigned int grid_y,
				   unsigned int grid_z, unsigned int block_x, unsigned int block_y,
				   unsigned int block_z, unsigned int shared_bytes,
				   CUstream hstream, void **kernel_params)
{
	struct gp_sim_launch dims = {
		.grid = { grid_x, grid_y, grid_z },
		.block = { block_x, block_y, block_z },
		.shared_bytes = shared_bytes,
	};

	return launch("cuLaunchCooperativeKernel", f, &dims, hstream, kernel_params, NULL);
}

/* Launch attributes (clusters, priorities...) have no effect on the simulator. */
CUresult cuLaunchKernelEx(const CUlaunchConfig *config, CUfunction f, void **kernel_params,
			  void **extra)
{
	struct gp_sim_launch dims;

	if (!config) {
		CUresult err = sim_enter("cuLaunchKernelEx", SIM_NEED_CTX);

		if (!err)
			err = sim_error(CUDA_ERROR_INVALID_VALUE, "cuLaunchKernelEx: no config");
		return err;
	}
	dims = (struct gp_sim_launch){
		.grid = { config->gridDimX, config->gridDimY, config->gridDimZ },
		.block = { config->blockDimX, config->blockDimY, config->blockDimZ },
		.shared_bytes = config->sharedMemBytes,
	};
	return launch("cuLaunchKernelEx", f, &dims, config->hStream, kernel_params, extra);
}

static uint64_t run_host_fn(struct sim_op *op, uint64_t start_ns)
{
	struct host_fn_op *h = (struct host_fn_op *)op;

	(void)start_ns;
	h->fn(h->data);
	free(h);
	return sim_now_ns();
}

static struct sim_op *clone_host_fn(const struct sim_op *op)
{
	struct host_fn_op *c = malloc(sizeof(*c));

	if (c)
		memcpy(c, op, sizeof(*c));
	return c ? &c->op : NULL;
}

CUresult sim_host_fn_op_new(CUhostFn fn, void *data, struct sim_op **out)
{
	struct host_fn_op *h;

	if (!fn)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "host function: NULL function");
	h = calloc(1, sizeof(*h));
	if (!h)
		return CUDA_ERROR_OUT_OF_MEMORY;
	h->op.run = run_host_fn;
	h->op.clone = clone_host_fn;
	h->op.node_type = CU_GRAPH_NODE_TYPE_HOST;
	h->fn = fn;
	h->data = data;
	*out = &h->op;
	return CUDA_SUCCESS;
}

CUresult cuLaunchHostFunc(CUstream hstream, CUhostFn fn, void *user_data)
{
	CUresult err = sim_enter("cuLaunchHostFunc", SIM_NEED_CTX);
	struct sim_op *op;
	CUstream s;

	if (!err)
		err = sim_stream_get(hstream, &s);
	if (!err)
		err = sim_host_fn_op_new(fn, user_data, &op);
	if (err)
		return err;
	err = sim_stream_submit(s, op, NULL);
	if (err)
		free(op);
	return err;
}

/* The per-thread-default-stream forms (sim.h). */

CUresult cuLaunchKernel_ptsz(CUfunction f, unsigned int grid_x, unsigned int grid_y,
			     unsigned int grid_z, unsigned int block_x, unsigned int block_y,
			     unsigned int block_z, unsigned int shared_bytes, CUstream hstream,
			     void **kernel_params, void **extra)
{
	return cuLaunchKernel(f, grid_x, grid_y, grid_z, block_x, block_y, block_z, shared_bytes,
			      sim_per_thread(hstream), kernel_params, extra);
}

CUresult cuLaunchCooperativeKernel_ptsz(CUfunction f, unsigned int grid_x, unsigned int grid_y,
					unsigned int grid_z, unsigned int block_x,
					unsigned int block_y, unsigned int block_z,
					unsigned int shared_bytes, CUstream hstream,
					void **kernel_params)
{
	return cuLaunchCooperativeKernel(f, grid_x, grid_y, grid_z, block_x, block_y, block_z,
					 shared_bytes, sim_per_thread(hstream), kernel_params);
}

CUresult cuLaunchKernelEx_ptsz(const CUlaunchConfig *config, CUfunction f, void **kernel_params,
			       void **extra)
{
	CUlaunchConfig pt;

	if (!config)
		return cuLaunchKernelEx(NULL, f, kernel_params, extra);
	pt = *config;
	pt.hStream = sim_per_thread(config->hStream);
	return cuLaunchKernelEx(&pt, f, kernel_params, extra);
}

CUresult cuLaunchHostFunc_ptsz(CUstream hstream, CUhostFn fn, void *user_data)
{
	return cuLaunchHostFunc(sim_per_thread(hstream), fn, user_data);
}

/* stream.c - streams, events and async copies on a gp_gpu. */
#include "error.h"
#include "gpu.h"
#include "log.h"

int gp_stream_create(struct gp_gpu *gpu, CUstream *out)
{
	CUresult res;
	int err;

	err = gp_gpu_bind(gpu);
	if (err)
		return err;
	res = gpu->drv->cuStreamCreate(out, CU_STREAM_NON_BLOCKING);
	if (res)
		return gp_cu_fail(gpu->drv, res, "cuStreamCreate", NULL);
	return 0;
}

int gp_stream_sync(struct gp_gpu *gpu, CUstream stream)
{
	CUresult res;
	int err;

	err = gp_gpu_bind(gpu);
	if (err)
		return err;
	res = gpu->drv->cuStreamSynchronize(stream);
	if (res)
		return gp_cu_fail(gpu->drv, res, "cuStreamSynchronize", NULL);
	return 0;
}

/*
 * Destroying cannot be undone or retried: a failure is only worth a log
 * line.  The driver destroys streams and events whatever context is
 * current, so a failed bind (logged) does not leak the object.
 */
void gp_stream_destroy(struct gp_gpu *gpu, CUstream stream)
{
	CUresult res;

	if (!stream)
		return;
	if (gp_gpu_bind(gpu))
		gp_log_warn("%s", gp_last_error());
	res = gpu->drv->cuStreamDestroy(stream);
	if (res) {
		gp_cu_fail(gpu->drv, res, "cuStreamDestroy", NULL);
		gp_log_warn("%s", gp_last_error());
	}
}

int gp_copy_h2d(struct gp_gpu *gpu, CUdeviceptr dst, const void *src, size_t len,
		CUstream stream)
{
	CUresult res;
	int err;

	err = gp_gpu_bind(gpu);
	if (err)
		return err;
	res = gpu->drv->cuMemcpyHtoDAsync(dst, src, len, stream);
	if (res)
		return gp_cu_fail(gpu->drv, res, "cuMemcpyHtoDAsync",
				  "%zu bytes from %p to device 0x%llx", len, src,
				  (unsigned long long)dst);
	return 0;
}

int gp_copy_d2h(struct gp_gpu *gpu, void *dst, CUdeviceptr src, size_t len, CUstream stream)
{
	CUresult res;
	int err;

	err = gp_gpu_bind(gpu);
	if (err)
		return err;
	res = gpu->drv->cuMemcpyDtoHAsync(dst, src, len, stream);
	if (res)
		return gp_cu_fail(gpu->drv, res, "cuMemcpyDtoHAsync",
				  "%zu bytes from device 0x%llx to %p", len,
				  (unsigned long long)src, dst);
	return 0;
}

int gp_event_create(struct gp_gpu *gpu, CUevent *out)
{
	CUresult res;
	int err;

	err = gp_gpu_bind(gpu);
	if (err)
		return err;
	res = gpu->drv->cuEventCreate(out, CU_EVENT_DISABLE_TIMING);
	if (res)
		return gp_cu_fail(gpu->drv, res, "cuEventCreate", NULL);
	return 0;
}

int gp_event_record(struct gp_gpu *gpu, CUevent event, CUstream stream)
{
	CUresult res;
	int err;

	err = gp_gpu_bind(gpu);
	if (err)
		return err;
	res = gpu->drv->cuEventRecord(event, stream);
	if (res)
		return gp_cu_fail(gpu->drv, res, "cuEventRecord", NULL);
	return 0;
}

int gp_event_query(struct gp_gpu *gpu, CUevent event)
{
	CUresult res;
	int err;

	err = gp_gpu_bind(gpu);
	if (err)
		return err;
	res = gpu->drv->cuEventQuery(event);
	if (res == CUDA_SUCCESS)
		return 1;
	if (res == CUDA_ERROR_NOT_READY)
		return 0;
	return gp_cu_fail(gpu->drv, res, "cuEventQuery", NULL);
}

int gp_event_sync(struct gp_gpu *gpu, CUevent event)
{
	CUresult res;
	int err;

	err = gp_gpu_bind(gpu);
	if (err)
		return err;
	res = gpu->drv->cuEventSynchronize(event);
	if (res)
		return gp_cu_fail(gpu->drv, res, "cuEventSynchronize", NULL);
	return 0;
}

void gp_event_destroy(struct gp_gpu *gpu, CUevent event)
{
	CUresult res;

	if (!event)
		return;
	if (gp_gpu_bind(gpu))
		gp_log_warn("%s", gp_last_error());
	res = gpu->drv->cuEventDestroy(event);
	if (res) {
		gp_cu_fail(gpu->drv, res, "cuEventDestroy", NULL);
		gp_log_warn("%s", gp_last_error());
	}
}

int gp_stream_wait_event(struct gp_gpu *gpu, CUstream stream, CUevent event)
{
	CUresult res;
	int err;

	err = gp_gpu_bind(gpu);
	if (err)
		return err;
	res = gpu->drv->cuStreamWaitEvent(stream, event, 0);
	if (res)
		return gp_cu_fail(gpu->drv, res, "cuStreamWaitEvent", NULL);
	return 0;
}

int gp_stream_host_func(struct gp_gpu *gpu, CUstream stream, void (*fn)(void *), void *arg)
{
	CUresult res;
	int err;

	err = gp_gpu_bind(gpu);
	if (err)
		return err;
	res = gpu->drv->cuLaunchHostFunc(stream, fn, arg);
	if (res)
		return gp_cu_fail(gpu->drv, res, "cuLaunchHostFunc", NULL);
	return 0;
}

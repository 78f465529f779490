/*
 * test_sim_ptds.c - simulated device: the per-thread-default-stream forms
 * (_ptds, _ptsz).  Each is an exported function of its own; cuGetProcAddress
 * returns it with CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM when the
 * caller's version has it, the plain form otherwise; in it the null stream
 * is the calling thread's default stream.
 */
#include <criterion/criterion.h>
#include <cudaTypedefs.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "common/sim_test.h"

#define G SIM_TEST_GRANULE
#define PTDS CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM

TestSuite(sim_ptds, .init = sim_test_init);

/* A form with a per-thread twin: symbol at version is plain; the twin from pt_version on. */
struct form {
	const char *symbol;
	int version;
	const char *plain;
	const char *per_thread;
	int pt_version;
	bool newest; /* no later form of symbol */
};

static const struct form forms[] = {
	{ "cuMemcpyHtoD", 3020, "cuMemcpyHtoD_v2", "cuMemcpyHtoD_v2_ptds", 7000, true },
	{ "cuMemcpyDtoH", 3020, "cuMemcpyDtoH_v2", "cuMemcpyDtoH_v2_ptds", 7000, true },
	{ "cuMemcpyDtoD", 3020, "cuMemcpyDtoD_v2", "cuMemcpyDtoD_v2_ptds", 7000, true },
	{ "cuMemcpy", 4000, "cuMemcpy", "cuMemcpy_ptds", 7000, true },
	{ "cuMemcpy2D", 3020, "cuMemcpy2D_v2", "cuMemcpy2D_v2_ptds", 7000, true },
	{ "cuMemcpyHtoDAsync", 3020, "cuMemcpyHtoDAsync_v2", "cuMemcpyHtoDAsync_v2_ptsz", 7000,
	  true },
	{ "cuMemcpyDtoHAsync", 3020, "cuMemcpyDtoHAsync_v2", "cuMemcpyDtoHAsync_v2_ptsz", 7000,
	  true },
	{ "cuMemcpyDtoDAsync", 3020, "cuMemcpyDtoDAsync_v2", "cuMemcpyDtoDAsync_v2_ptsz", 7000,
	  true },
	{ "cuMemcpyAsync", 4000, "cuMemcpyAsync", "cuMemcpyAsync_ptsz", 7000, true },
	{ "cuMemcpy2DAsync", 3020, "cuMemcpy2DAsync_v2", "cuMemcpy2DAsync_v2_ptsz", 7000, true },
	{ "cuMemsetD8", 3020, "cuMemsetD8_v2", "cuMemsetD8_v2_ptds", 7000, true },
	{ "cuMemsetD16", 3020, "cuMemsetD16_v2", "cuMemsetD16_v2_ptds", 7000, true },
	{ "cuMemsetD32", 3020, "cuMemsetD32_v2", "cuMemsetD32_v2_ptds", 7000, true },
	{ "cuMemsetD2D8", 3020, "cuMemsetD2D8_v2", "cuMemsetD2D8_v2_ptds", 7000, true },
	{ "cuMemsetD8Async", 3020, "cuMemsetD8Async", "cuMemsetD8Async_ptsz", 7000, true },
	{ "cuMemsetD16Async", 3020, "cuMemsetD16Async", "cuMemsetD16Async_ptsz", 7000, true },
	{ "cuMemsetD32Async", 3020, "cuMemsetD32Async", "cuMemsetD32Async_ptsz", 7000, true },
	{ "cuMemsetD2D8Async", 3020, "cuMemsetD2D8Async", "cuMemsetD2D8Async_ptsz", 7000, true },
	{ "cuLaunchKernel", 4000, "cuLaunchKernel", "cuLaunchKernel_ptsz", 7000, true },
	{ "cuLaunchKernelEx", 11060, "cuLaunchKernelEx", "cuLaunchKernelEx_ptsz", 11060, true },
	{ "cuLaunchCooperativeKernel", 9000, "cuLaunchCooperativeKernel",
	  "cuLaunchCooperativeKernel_ptsz", 9000, true },
	{ "cuLaunchHostFunc", 10000, "cuLaunchHostFunc", "cuLaunchHostFunc_ptsz", 10000, true },
	{ "cuMemAllocAsync", 11020, "cuMemAllocAsync", "cuMemAllocAsync_ptsz", 11020, true },
	{ "cuMemFreeAsync", 11020, "cuMemFreeAsync", "cuMemFreeAsync_ptsz", 11020, true },
	{ "cuMemAllocFromPoolAsync", 11020, "cuMemAllocFromPoolAsync",
	  "cuMemAllocFromPoolAsync_ptsz", 11020, true },
	{ "cuMemPrefetchAsync", 8000, "cuMemPrefetchAsync", "cuMemPrefetchAsync_ptsz", 8000,
	  false },
	{ "cuMemPrefetchAsync", 12020, "cuMemPrefetchAsync_v2", "cuMemPrefetchAsync_v2_ptsz",
	  12020, true },
	{ "cuStreamSynchronize", 2000, "cuStreamSynchronize", "cuStreamSynchronize_ptsz", 7000,
	  true },
	{ "cuStreamQuery", 2000, "cuStreamQuery", "cuStreamQuery_ptsz", 7000, true },
	{ "cuEventRecord", 2000, "cuEventRecord", "cuEventRecord_ptsz", 7000, true },
	{ "cuStreamWaitEvent", 3020, "cuStreamWaitEvent", "cuStreamWaitEvent_ptsz", 7000, true },
};

static void *proc(const char *symbol, int version, cuuint64_t flags)
{
	CUdriverProcAddressQueryResult status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
	void *fn = NULL;

	sim_assert_ok(cuGetProcAddress(symbol, &fn, version, flags, &status));
	cr_assert_eq(status, CU_GET_PROC_ADDRESS_SUCCESS);
	return fn;
}

static void *exported(const char *name)
{
	void *fn = dlsym(RTLD_DEFAULT, name);

	cr_assert_not_null(fn, "%s is not exported", name);
	return fn;
}

Test(sim_ptds, proc_address_returns_the_twin_with_the_flag)
{
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		const struct form *f = &forms[i];
		void *plain = exported(f->plain), *twin = exported(f->per_thread);

		cr_assert_neq(plain, twin, "%s and %s are one function", f->plain, f->per_thread);
		cr_assert_eq(proc(f->symbol, f->pt_version, 0), plain, "%s", f->symbol);
		cr_assert_eq(proc(f->symbol, f->pt_version, CU_GET_PROC_ADDRESS_LEGACY_STREAM),
			     plain, "%s", f->symbol);
		cr_assert_eq(proc(f->symbol, f->pt_version, PTDS), twin, "%s at %d", f->symbol,
			     f->pt_version);
		/* Older than the twin: the plain form, even with the flag. */
		if (f->version < f->pt_version)
			cr_assert_eq(proc(f->symbol, f->pt_version - 10, PTDS), plain, "%s at %d",
				     f->symbol, f->pt_version - 10);
		if (f->newest) {
			cr_assert_eq(proc(f->symbol, 13000, PTDS), twin, "%s", f->symbol);
			cr_assert_eq(proc(f->symbol, 13000, 0), plain, "%s", f->symbol);
		}
	}
}

/* Without a twin, the flag changes nothing. */
Test(sim_ptds, forms_without_a_twin)
{
	static const char *const pairs[][2] = {
		{ "cuMemAlloc", "cuMemAlloc_v2" },
		{ "cuMemAllocPitch", "cuMemAllocPitch_v2" },
		{ "cuMemFree", "cuMemFree_v2" },
		{ "cuPointerGetAttributes", "cuPointerGetAttributes" },
		{ "cuCtxSynchronize", "cuCtxSynchronize_v2" },
		{ "cuStreamCreate", "cuStreamCreate" },
		{ "cuEventSynchronize", "cuEventSynchronize" },
	};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		cr_assert_eq(proc(pairs[i][0], 13000, PTDS), exported(pairs[i][1]), "%s",
			     pairs[i][0]);
}

/* The per-thread forms this file calls, resolved as a client built for them does. */
struct pt {
	PFN_cuMemcpyHtoD_v7000_ptds htod;
	PFN_cuMemcpyDtoH_v7000_ptds dtoh;
	PFN_cuMemcpyDtoD_v7000_ptds dtod;
	PFN_cuMemcpy_v7000_ptds copy;
	PFN_cuMemcpy2D_v7000_ptds copy_2d;
	PFN_cuMemcpyHtoDAsync_v7000_ptsz htod_async;
	PFN_cuMemcpyDtoHAsync_v7000_ptsz dtoh_async;
	PFN_cuMemcpyDtoDAsync_v7000_ptsz dtod_async;
	PFN_cuMemcpyAsync_v7000_ptsz copy_async;
	PFN_cuMemcpy2DAsync_v7000_ptsz copy_2d_async;
	PFN_cuMemsetD8_v7000_ptds set8;
	PFN_cuMemsetD16_v7000_ptds set16;
	PFN_cuMemsetD32_v7000_ptds set32;
	PFN_cuMemsetD2D8_v7000_ptds set_2d8;
	PFN_cuMemsetD8Async_v7000_ptsz set8_async;
	PFN_cuMemsetD16Async_v7000_ptsz set16_async;
	PFN_cuMemsetD32Async_v7000_ptsz set32_async;
	PFN_cuMemsetD2D8Async_v7000_ptsz set_2d8_async;
	PFN_cuMemPrefetchAsync_v12020_ptsz prefetch;
	PFN_cuStreamSynchronize_v7000_ptsz sync;
	PFN_cuStreamQuery_v7000_ptsz query;
	PFN_cuEventRecord_v7000_ptsz record;
	PFN_cuStreamWaitEvent_v7000_ptsz wait_event;
	PFN_cuLaunchHostFunc_v10000_ptsz host_fn;
};

static struct pt resolve(void)
{
	struct pt pt;

#define GET(field, symbol) (*(void **)&pt.field = proc(symbol, 13000, PTDS))
	GET(htod, "cuMemcpyHtoD");
	GET(dtoh, "cuMemcpyDtoH");
	GET(dtod, "cuMemcpyDtoD");
	GET(copy, "cuMemcpy");
	GET(copy_2d, "cuMemcpy2D");
	GET(htod_async, "cuMemcpyHtoDAsync");
	GET(dtoh_async, "cuMemcpyDtoHAsync");
	GET(dtod_async, "cuMemcpyDtoDAsync");
	GET(copy_async, "cuMemcpyAsync");
	GET(copy_2d_async, "cuMemcpy2DAsync");
	GET(set8, "cuMemsetD8");
	GET(set16, "cuMemsetD16");
	GET(set32, "cuMemsetD32");
	GET(set_2d8, "cuMemsetD2D8");
	GET(set8_async, "cuMemsetD8Async");
	GET(set16_async, "cuMemsetD16Async");
	GET(set32_async, "cuMemsetD32Async");
	GET(set_2d8_async, "cuMemsetD2D8Async");
	GET(prefetch, "cuMemPrefetchAsync");
	GET(sync, "cuStreamSynchronize");
	GET(query, "cuStreamQuery");
	GET(record, "cuEventRecord");
	GET(wait_event, "cuStreamWaitEvent");
	GET(host_fn, "cuLaunchHostFunc");
#undef GET
	return pt;
}

#define DEVP(p) ((void *)(uintptr_t)(p))
#define PTR(p) ((CUdeviceptr)(uintptr_t)(p))

Test(sim_ptds, synchronous_forms_byte_for_byte)
{
	struct pt pt = resolve();
	size_t n = 3 * G + 123;
	unsigned char *src = malloc(n), *back = calloc(1, n), *want = malloc(n);
	CUdeviceptr a, b;

	cr_assert(src && back && want);
	for (size_t i = 0; i < n; i++)
		src[i] = (unsigned char)(i * 31 + (i >> 11));
	sim_assert_ok(cuMemAlloc(&a, n));
	sim_assert_ok(cuMemAlloc(&b, n));
	sim_assert_ok(pt.htod(a, src, n));
	sim_assert_ok(pt.dtod(b, a, n));
	sim_assert_ok(pt.dtoh(back, b, n));
	cr_assert_eq(memcmp(back, src, n), 0);
	/* Memsets, each checked against the same writes on the host. */
	memcpy(want, src, n);
	sim_assert_ok(pt.set8(b + 1, 0xab, 5));
	memset(want + 1, 0xab, 5);
	sim_assert_ok(pt.set16(b + G + 2, 0xbeef, 3));
	for (int i = 0; i < 3; i++)
		memcpy(want + G + 2 + 2 * i, &(uint16_t){ 0xbeef }, 2);
	sim_assert_ok(pt.set32(b + 2 * G, 0xdeadbeef, 4));
	for (int i = 0; i < 4; i++)
		memcpy(want + 2 * G + 4 * i, &(uint32_t){ 0xdeadbeef }, 4);
	/* 3 rows of 10 bytes, 1000 apart, near the end. */
	sim_assert_ok(pt.set_2d8(b + n - 2010, 1000, 0x5c, 10, 3));
	for (int r = 0; r < 3; r++)
		memset(want + n - 2010 + 1000 * r, 0x5c, 10);
	sim_assert_ok(pt.copy(PTR(back), b, n));
	cr_assert_eq(memcmp(back, want, n), 0);
	sim_assert_ok(cuMemFree(a));
	sim_assert_ok(cuMemFree(b));
	free(src);
	free(back);
	free(want);
}

Test(sim_ptds, asynchronous_forms_on_the_null_stream)
{
	struct pt pt = resolve();
	size_t n = G + 77;
	unsigned char *src, *back, *want = malloc(n);
	CUDA_MEMCPY2D d = {
		.srcMemoryType = CU_MEMORYTYPE_HOST,
		.srcPitch = 64,
		.dstMemoryType = CU_MEMORYTYPE_DEVICE,
		.dstPitch = 128,
		.WidthInBytes = 64,
		.Height = 4,
	};
	CUdeviceptr a, b;

	cr_assert_not_null(want);
	sim_assert_ok(cuMemAllocHost((void **)&src, n));
	sim_assert_ok(cuMemAllocHost((void **)&back, n));
	for (size_t i = 0; i < n; i++)
		src[i] = (unsigned char)(i ^ (i >> 7));
	sim_assert_ok(cuMemAlloc(&a, n));
	sim_assert_ok(cuMemAlloc(&b, n));
	sim_assert_ok(pt.htod_async(a, src, n, NULL));
	sim_assert_ok(pt.dtod_async(b, a, n, NULL));
	memcpy(want, src, n);
	sim_assert_ok(pt.set8_async(b + 3, 0x11, 7, NULL));
	memset(want + 3, 0x11, 7);
	sim_assert_ok(pt.set16_async(b + 100, 0x2233, 5, NULL));
	for (int i = 0; i < 5; i++)
		memcpy(want + 100 + 2 * i, &(uint16_t){ 0x2233 }, 2);
	sim_assert_ok(pt.set32_async(b + 200, 0x44556677, 6, NULL));
	for (int i = 0; i < 6; i++)
		memcpy(want + 200 + 4 * i, &(uint32_t){ 0x44556677 }, 4);
	sim_assert_ok(pt.set_2d8_async(b + 1000, 50, 0x99, 20, 4, NULL));
	for (int r = 0; r < 4; r++)
		memset(want + 1000 + 50 * r, 0x99, 20);
	/* 4 rows of 64 bytes from the source's start into b at 5000, 128 apart. */
	d.srcHost = src;
	d.dstDevice = b + 5000;
	sim_assert_ok(pt.copy_2d_async(&d, NULL));
	for (int r = 0; r < 4; r++)
		memcpy(want + 5000 + 128 * r, src + 64 * r, 64);
	sim_assert_ok(pt.copy_async(PTR(back), b, n, NULL));
	sim_assert_ok(pt.sync(NULL));
	cr_assert_eq(memcmp(back, want, n), 0);
	sim_assert_ok(pt.dtoh_async(back, a, n, NULL));
	sim_assert_ok(pt.sync(NULL));
	cr_assert_eq(memcmp(back, src, n), 0);
	/* And the synchronous 2D form, back out of b. */
	d = (CUDA_MEMCPY2D){
		.srcMemoryType = CU_MEMORYTYPE_DEVICE,
		.srcDevice = b + 5000,
		.srcPitch = 128,
		.dstMemoryType = CU_MEMORYTYPE_HOST,
		.dstHost = back,
		.dstPitch = 64,
		.WidthInBytes = 64,
		.Height = 4,
	};
	sim_assert_ok(pt.copy_2d(&d));
	cr_assert_eq(memcmp(back, src, 256), 0);
	sim_assert_ok(cuMemFree(a));
	sim_assert_ok(cuMemFree(b));
	sim_assert_ok(cuMemFreeHost(src));
	sim_assert_ok(cuMemFreeHost(back));
	free(want);
}

static void set_flag(void *arg)
{
	__atomic_store_n((int *)arg, 1, __ATOMIC_RELEASE);
}

/* The null stream of the _ptsz forms is the thread's default stream, in order. */
Test(sim_ptds, null_stream_is_the_thread_default_stream)
{
	struct pt pt = resolve();
	struct sim_test_latch latch = { .open = false };
	unsigned char *pinned;
	int other_ran = 0;
	CUdeviceptr dev;
	CUevent ev;
	CUstream s;

	pthread_mutex_init(&latch.lock, NULL);
	pthread_cond_init(&latch.cond, NULL);
	sim_assert_ok(cuMemAllocHost((void **)&pinned, 4096));
	memset(pinned, 0x6b, 4096);
	sim_assert_ok(cuMemAlloc(&dev, 4096));
	sim_assert_ok(cuEventCreate(&ev, CU_EVENT_DISABLE_TIMING));
	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_assert_ok(pt.host_fn(NULL, sim_test_latch_wait, &latch));
	sim_assert_ok(pt.htod_async(dev, pinned, 4096, NULL));
	sim_assert_ok(pt.record(ev, NULL));
	sim_assert_ok(pt.wait_event(s, ev, 0));
	sim_assert_ok(cuLaunchHostFunc(s, set_flag, &other_ran));
	/* All of it waits for the latch, seen through the per-thread handle too. */
	sim_assert_result(pt.query(NULL), CUDA_ERROR_NOT_READY);
	sim_assert_result(cuStreamQuery(CU_STREAM_PER_THREAD), CUDA_ERROR_NOT_READY);
	sim_assert_result(cuEventQuery(ev), CUDA_ERROR_NOT_READY);
	sim_assert_result(cuStreamQuery(s), CUDA_ERROR_NOT_READY);
	cr_assert_eq(__atomic_load_n(&other_ran, __ATOMIC_ACQUIRE), 0);
	sim_test_release(&latch);
	sim_assert_ok(pt.sync(NULL));
	sim_assert_ok(cuStreamSynchronize(s));
	cr_assert_eq(__atomic_load_n(&other_ran, __ATOMIC_ACQUIRE), 1);
	memset(pinned, 0, 4096);
	sim_assert_ok(pt.dtoh(pinned, dev, 4096));
	for (int i = 0; i < 4096; i++)
		cr_assert_eq(pinned[i], 0x6b);
	sim_assert_ok(cuStreamDestroy(s));
	sim_assert_ok(cuEventDestroy(ev));
	sim_assert_ok(cuMemFree(dev));
	sim_assert_ok(cuMemFreeHost(pinned));
}

static const CUmemLocation on_device = { .type = CU_MEM_LOCATION_TYPE_DEVICE, .id = 0 };
static const CUmemLocation on_host = { .type = CU_MEM_LOCATION_TYPE_HOST };

/* A stream given to a _ptsz form is that stream, not the default one. */
Test(sim_ptds, explicit_streams_are_kept)
{
	struct pt pt = resolve();
	struct sim_test_latch latch;
	unsigned char *pinned;
	CUdeviceptr dev, managed;
	CUstream s;

	sim_assert_ok(cuMemAllocHost((void **)&pinned, 4096));
	memset(pinned, 0x2e, 4096);
	sim_assert_ok(cuMemAlloc(&dev, 4096));
	sim_assert_ok(cuMemAllocManaged(&managed, G, CU_MEM_ATTACH_GLOBAL));
	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_test_hold(s, &latch);
	sim_assert_ok(pt.htod_async(dev, pinned, 4096, s));
	sim_assert_ok(pt.prefetch(managed, G, on_device, 0, s));
	sim_assert_result(pt.query(s), CUDA_ERROR_NOT_READY);
	sim_assert_ok(pt.query(NULL));
	sim_test_release(&latch);
	sim_assert_ok(pt.sync(s));
	memset(pinned, 0, 4096);
	sim_assert_ok(cuMemcpyDtoH(pinned, dev, 4096));
	for (int i = 0; i < 4096; i++)
		cr_assert_eq(pinned[i], 0x2e);
	sim_assert_ok(pt.prefetch(managed, G, on_host, 0, NULL));
	sim_assert_ok(pt.sync(NULL));
	sim_assert_ok(cuStreamDestroy(s));
	sim_assert_ok(cuMemFree(managed));
	sim_assert_ok(cuMemFree(dev));
	sim_assert_ok(cuMemFreeHost(pinned));
}

/* The forms check their arguments as the plain ones do. */
Test(sim_ptds, errors_as_the_plain_forms)
{
	struct pt pt = resolve();
	char host[16];
	CUdeviceptr dev;

	sim_assert_ok(cuMemAlloc(&dev, 16));
	sim_assert_result(pt.htod(PTR(host), host, 1), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(pt.dtoh(host, PTR(host), 1), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(pt.set32(dev + 2, 0, 1), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(pt.set16_async(dev + 1, 0, 1, NULL), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(pt.copy_2d(NULL), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(pt.wait_event(NULL, NULL, 0), CUDA_ERROR_INVALID_HANDLE);
	sim_assert_result(pt.record(NULL, NULL), CUDA_ERROR_INVALID_HANDLE);
	sim_assert_result(pt.host_fn(NULL, NULL, NULL), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemFree(dev));
	sim_assert_ok(cuCtxSetCurrent(NULL));
	sim_assert_result(pt.sync(NULL), CUDA_ERROR_INVALID_CONTEXT);
	sim_assert_result(pt.set8(dev, 0, 1), CUDA_ERROR_INVALID_CONTEXT);
}

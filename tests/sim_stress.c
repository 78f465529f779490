/*
 * sim_stress.c - drives the simulated device from several threads at once,
 * for ThreadSanitizer (Criterion cannot run under TSan: its arena setup
 * finds TSan's shadow where it probes for free address space).  Each
 * worker streams data through its own chunks with copies, kernels, events
 * and cross-stream waits while another thread maps and unmaps chunks and
 * registers host memory.  Exits 0 when every checksum matched.
 *
 *   make O=/tmp/b-sim-tsan TSAN=1 sim-stress
 */
#include <cuda.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpupager.h"

#define WORKERS 3
#define ROUNDS 40
#define CHUNK (2u << 20)
#define KERNELS GP_BUILD_DIR "/tests/sim_test_kernels.so"

static CUcontext ctx;
static CUfunction fill_u32;
static int failures;

#define CHECK(call)                                                                        \
	do {                                                                               \
		CUresult err_ = (call);                                                     \
		if (err_) {                                                                 \
			const char *name_ = "?";                                            \
			cuGetErrorName(err_, &name_);                                       \
			fprintf(stderr, "sim_stress: %s:%d: %s: %s\n", __FILE__, __LINE__,    \
				#call, name_);                                              \
			__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);                 \
			return NULL;                                                        \
		}                                                                           \
	} while (0)

/* H2D on one stream, fill a word with a kernel on a second stream after an event, D2H back. */
static void *worker(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	CUstream copy, compute;
	CUevent copied, computed;
	unsigned char *host, *back;
	CUdeviceptr dev;

	CHECK(cuCtxSetCurrent(ctx));
	CHECK(cuStreamCreate(&copy, CU_STREAM_NON_BLOCKING));
	CHECK(cuStreamCreate(&compute, CU_STREAM_DEFAULT));
	CHECK(cuEventCreate(&copied, CU_EVENT_DISABLE_TIMING));
	CHECK(cuEventCreate(&computed, 0));
	CHECK(cuMemAllocHost((void **)&host, CHUNK));
	CHECK(cuMemAllocHost((void **)&back, CHUNK));
	CHECK(cuMemAlloc(&dev, CHUNK));
	for (int round = 0; round < ROUNDS; round++) {
		uint32_t value = seed * 1000u + (unsigned)round;
		uint64_t count = 16;
		void *params[] = { &dev, &value, &count };

		for (size_t i = 0; i < CHUNK; i++)
			host[i] = (unsigned char)(i * seed + (size_t)round);
		CHECK(cuMemcpyHtoDAsync(dev, host, CHUNK, copy));
		CHECK(cuEventRecord(copied, copy));
		CHECK(cuStreamWaitEvent(compute, copied, 0));
		CHECK(cuLaunchKernel(fill_u32, 1, 1, 1, 1, 1, 1, 0, compute, params, NULL));
		CHECK(cuEventRecord(computed, compute));
		CHECK(cuStreamWaitEvent(copy, computed, 0));
		CHECK(cuMemcpyDtoHAsync(back, dev, CHUNK, copy));
		CHECK(cuStreamSynchronize(copy));
		for (uint64_t i = 0; i < count; i++)
			memcpy(host + i * 4, &value, 4);
		if (gp_checksum(back, CHUNK) != gp_checksum(host, CHUNK)) {
			fprintf(stderr, "sim_stress: worker %u round %d: checksum mismatch\n", seed,
				round);
			__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
		}
	}
	CHECK(cuMemFree(dev));
	CHECK(cuMemFreeHost(back));
	CHECK(cuMemFreeHost(host));
	CHECK(cuEventDestroy(copied));
	CHECK(cuEventDestroy(computed));
	CHECK(cuStreamDestroy(copy));
	CHECK(cuStreamDestroy(compute));
	return NULL;
}

/* Meanwhile: VMM map/unmap churn, host registration, memory queries. */
static void *churn(void *arg)
{
	CUmemAllocationProp prop = {
		.type = CU_MEM_ALLOCATION_TYPE_PINNED,
		.location = { .type = CU_MEM_LOCATION_TYPE_DEVICE, .id = 0 },
	};
	CUmemAccessDesc rw = { .location = prop.location,
			       .flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE };
	CUmemGenericAllocationHandle handle;
	size_t free_mem, total;
	char *buf = aligned_alloc(4096, 1 << 16);
	CUdeviceptr va;

	(void)arg;
	if (!buf)
		return NULL;
	CHECK(cuCtxSetCurrent(ctx));
	CHECK(cuMemAddressReserve(&va, 8 * CHUNK, 0, 0, 0));
	CHECK(cuMemCreate(&handle, CHUNK, &prop, 0));
	for (int round = 0; round < ROUNDS * 4; round++) {
		CUdeviceptr at = va + (size_t)(round % 8) * CHUNK;

		CHECK(cuMemMap(at, CHUNK, 0, handle, 0));
		CHECK(cuMemSetAccess(at, CHUNK, &rw, 1));
		CHECK(cuMemsetD32(at, (unsigned)round, 1));
		CHECK(cuMemUnmap(at, CHUNK));
		CHECK(cuMemHostRegister(buf, 1 << 16, 0));
		CHECK(cuMemGetInfo(&free_mem, &total));
		CHECK(cuMemHostUnregister(buf));
	}
	CHECK(cuMemRelease(handle));
	CHECK(cuMemAddressFree(va, 8 * CHUNK));
	free(buf);
	return NULL;
}

int main(void)
{
	pthread_t threads[WORKERS + 1];
	CUmodule module;

	if (cuInit(0) || cuDevicePrimaryCtxRetain(&ctx, 0) || cuCtxSetCurrent(ctx) ||
	    cuModuleLoad(&module, KERNELS) ||
	    cuModuleGetFunction(&fill_u32, module, "fill_u32")) {
		fprintf(stderr, "sim_stress: cannot set up the simulated device\n");
		return 1;
	}
	for (uintptr_t i = 0; i < WORKERS; i++)
		pthread_create(&threads[i], NULL, worker, (void *)(i + 1));
	pthread_create(&threads[WORKERS], NULL, churn, NULL);
	for (int i = 0; i <= WORKERS; i++)
		pthread_join(threads[i], NULL);
	if (cuCtxSynchronize() || cuModuleUnload(module) || cuDevicePrimaryCtxRelease(0))
		failures++;
	printf("sim_stress: %d workers x %d rounds, %d failures\n", WORKERS, ROUNDS, failures);
	return failures ? 1 : 0;
}

/*
 * shim_threads.c - threads on their own streams at once, allocating,
 * copying, launching and checking, more than a small budget holds: the
 * shim's check under ThreadSanitizer (`make shim-stress TSAN=1`), where
 * Criterion programs cannot start.  Each round a thread uploads a pattern
 * into each of its buffers from pinned memory (cuMemAllocHost), allocates
 * and uploads a temporary one, checksums all of them on the device,
 * rewrites one with the fill kernel and checks it with the check kernel,
 * reads the results back asynchronously, waits, compares, and frees the
 * temporary buffer.  Prints
 *
 *   shim_threads: T threads, R rounds, N failures
 *
 * and exits 0 when there were none, 1 otherwise.
 */
#include <pthread.h>
#include <stdio.h>

#include "shim_app_sum.h"
#include "shim_cuda.h"

#define THREADS 4
#define ROUNDS 12
#define BUFS 3
#define BUF_SIZE ((2u << 20) + 4096)
#define TEMP_SIZE (1u << 20)
/* One result pair per buffer, one for the temporary buffer, one for check. */
#define N_RESULTS (BUFS + 2)

static CUcontext ctx;
static CUfunction checksum, fill, check;
static int failures;

static void fail(unsigned t, const char *what, const char *why)
{
	fprintf(stderr, "shim_threads: thread %u: %s: %s\n", t, what, why);
	__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
}

#define CHECK(call)                                                                        \
	do {                                                                               \
		CUresult err_ = (call);                                                     \
		if (err_) {                                                                 \
			fail(t, #call, shim_cuda_error_name(err_));                         \
			return NULL;                                                        \
		}                                                                           \
	} while (0)

static uint64_t seed_of(unsigned t, unsigned round, unsigned b)
{
	return (uint64_t)t << 40 | (uint64_t)round << 20 | b;
}

static void *worker(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;
	uint64_t *staging[BUFS + 1], *results_host, sums[BUFS + 1];
	CUdeviceptr bufs[BUFS + 1], results;
	CUstream stream;

	CHECK(cu.cuCtxSetCurrent(ctx));
	CHECK(cu.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));
	for (unsigned b = 0; b <= BUFS; b++)
		CHECK(cu.cuMemAllocHost_v2((void **)&staging[b], BUF_SIZE));
	CHECK(cu.cuMemAllocHost_v2((void **)&results_host, 16 * N_RESULTS));
	CHECK(cu.cuMemAlloc_v2(&results, 16 * N_RESULTS));
	for (unsigned b = 0; b < BUFS; b++)
		CHECK(cu.cuMemAlloc_v2(&bufs[b], BUF_SIZE));
	for (unsigned round = 1; round <= ROUNDS; round++) {
		uint64_t words = BUF_SIZE / 8, seed = seed_of(t, round, BUFS + 1);

		CHECK(cu.cuMemAlloc_v2(&bufs[BUFS], TEMP_SIZE));
		for (unsigned b = 0; b <= BUFS; b++) {
			uint64_t len = b < BUFS ? BUF_SIZE : TEMP_SIZE;

			for (uint64_t i = 0; i < len / 8; i++)
				staging[b][i] = shim_pattern(seed_of(t, round, b), i);
			sums[b] = shim_sum(staging[b], len);
			CHECK(cu.cuMemcpyHtoDAsync_v2(bufs[b], staging[b], len, stream));
			CHECK(shim_cuda_launch(checksum, stream,
					       (uint64_t[]){ bufs[b], len, round, results + 16 * b },
					       4, 0));
		}
		CHECK(shim_cuda_launch(fill, stream, (uint64_t[]){ bufs[0], words, seed }, 3, 0));
		CHECK(shim_cuda_launch(check, stream,
				       (uint64_t[]){ bufs[0], words, seed, round,
						     results + 16 * (BUFS + 1) }, 5, 0));
		CHECK(cu.cuMemcpyDtoHAsync_v2(results_host, results, 16 * N_RESULTS, stream));
		CHECK(cu.cuStreamSynchronize(stream));
		for (unsigned b = 0; b <= BUFS; b++)
			if (results_host[2 * b] != round || results_host[2 * b + 1] != sums[b])
				fail(t, "checksum", b < BUFS ? "a buffer differs" : "the temporary differs");
		if (results_host[2 * (BUFS + 1)] != round || results_host[2 * (BUFS + 1) + 1])
			fail(t, "check", "the filled buffer differs");
		CHECK(cu.cuMemFree_v2(bufs[BUFS]));
	}
	for (unsigned b = 0; b < BUFS; b++)
		CHECK(cu.cuMemFree_v2(bufs[b]));
	CHECK(cu.cuMemFree_v2(results));
	for (unsigned b = 0; b <= BUFS; b++)
		CHECK(cu.cuMemFreeHost(staging[b]));
	CHECK(cu.cuMemFreeHost(results_host));
	CHECK(cu.cuStreamDestroy_v2(stream));
	return NULL;
}

int main(void)
{
	pthread_t threads[THREADS];
	CUmodule module;

	if (shim_cuda_resolve("link"))
		return 2;
	ctx = shim_cuda_start();
	module = shim_cuda_load_kernels("shim_app_kernels.so");
	CU(cuModuleGetFunction, &checksum, module, "checksum");
	CU(cuModuleGetFunction, &fill, module, "fill");
	CU(cuModuleGetFunction, &check, module, "check");
	for (unsigned t = 0; t < THREADS; t++)
		if (pthread_create(&threads[t], NULL, worker, (void *)(uintptr_t)t)) {
			fprintf(stderr, "shim_threads: pthread_create failed\n");
			return 1;
		}
	for (unsigned t = 0; t < THREADS; t++)
		pthread_join(threads[t], NULL);
	CU(cuModuleUnload, module);
	printf("shim_threads: %d threads, %d rounds, %d failures\n", THREADS, ROUNDS, failures);
	return failures ? 1 : 0;
}

/*
 * shim_devices.c - two devices at once, one thread each, every thread
 * holding more than its device's budget: the shim's one pager per device.
 * Thread d makes device d's primary context current, loads the kernels
 * there (a module belongs to its context), allocates BUFS buffers,
 * uploads a pattern into each and checksums each on the device, round
 * after round (each round touches every buffer, so each round evicts and
 * reloads), and compares the sums with the host's.  Then the main thread,
 * with device 0's context current, copies between the devices with
 * cuMemcpyPeer (even buffers, device 1 to device 0) and cuMemcpyPeerAsync
 * (odd ones, device 0 to device 1), buffers that were evicted on both
 * sides, and compares both sides byte for byte with the pattern copied.
 * Then it enables peer access to device 1 and checksums each of device
 * 1's buffers with a kernel on device 0.
 * Last it writes and reads back each of device 1's buffers (unified
 * addressing: the pointer names its device, and the shim must make it
 * resident through device 1's pager), asks which device and context each
 * is on and frees them there, whatever context is current.  Prints
 *
 *   shim_devices: D devices, R rounds, N failures
 *
 * and exits 0 when there were none, 1 otherwise, 2 with fewer than two
 * devices.  Usage: shim_devices [--resolve MODE] (shim_cuda.h; link by
 * default).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "shim_app_sum.h"
#include "shim_cuda.h"

#define DEVICES 2
#define ROUNDS 6
#define BUFS 6
#define BUF_SIZE ((4u << 20) + 4096)

static CUdeviceptr bufs[DEVICES][BUFS];
static CUcontext ctxs[DEVICES];
static int failures;

static void fail(unsigned d, const char *what, const char *why)
{
	fprintf(stderr, "shim_devices: device %u: %s: %s\n", d, what, why);
	__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
}

#define CHECK(call)                                                                        \
	do {                                                                               \
		CUresult err_ = (call);                                                     \
		if (err_) {                                                                 \
			fail(d, #call, shim_cuda_error_name(err_));                         \
			return NULL;                                                        \
		}                                                                           \
	} while (0)

static uint64_t seed_of(unsigned d, unsigned round, unsigned b)
{
	return (uint64_t)(d + 1) << 40 | (uint64_t)round << 20 | b;
}

static void *worker(void *arg)
{
	unsigned d = (unsigned)(uintptr_t)arg;
	uint64_t *staging, *results_host, sums[BUFS];
	CUdeviceptr results;
	CUfunction checksum;
	CUmodule module;
	CUcontext ctx;
	CUstream stream;
	CUdevice dev;

	CHECK(cu.cuDeviceGet(&dev, (int)d));
	CHECK(cu.cuDevicePrimaryCtxRetain(&ctx, dev));
	CHECK(cu.cuCtxSetCurrent(ctx));
	ctxs[d] = ctx;
	module = shim_cuda_load_kernels("shim_app_kernels.so");
	CHECK(cu.cuModuleGetFunction(&checksum, module, "checksum"));
	CHECK(cu.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));
	CHECK(cu.cuMemAllocHost_v2((void **)&staging, BUF_SIZE));
	CHECK(cu.cuMemAllocHost_v2((void **)&results_host, 16 * BUFS));
	CHECK(cu.cuMemAlloc_v2(&results, 16 * BUFS));
	for (unsigned b = 0; b < BUFS; b++)
		CHECK(cu.cuMemAlloc_v2(&bufs[d][b], BUF_SIZE));
	for (unsigned round = 1; round <= ROUNDS; round++) {
		for (unsigned b = 0; b < BUFS; b++) {
			for (uint64_t i = 0; i < BUF_SIZE / 8; i++)
				staging[i] = shim_pattern(seed_of(d, round, b), i);
			sums[b] = shim_sum(staging, BUF_SIZE);
			/* Synchronous: staging is refilled for the next buffer. */
			CHECK(cu.cuMemcpyHtoD_v2(bufs[d][b], staging, BUF_SIZE));
			CHECK(shim_cuda_launch(checksum, stream,
					       (uint64_t[]){ bufs[d][b], BUF_SIZE, round,
							     results + 16 * b }, 4, 0));
		}
		CHECK(cu.cuMemcpyDtoHAsync_v2(results_host, results, 16 * BUFS, stream));
		CHECK(cu.cuStreamSynchronize(stream));
		for (unsigned b = 0; b < BUFS; b++)
			if (results_host[2 * b] != round || results_host[2 * b + 1] != sums[b])
				fail(d, "checksum", "a buffer differs from what was uploaded");
	}
	/* The buffers are left for the main thread. */
	CHECK(cu.cuMemFree_v2(results));
	CHECK(cu.cuMemFreeHost(staging));
	CHECK(cu.cuMemFreeHost(results_host));
	CHECK(cu.cuStreamDestroy_v2(stream));
	CHECK(cu.cuModuleUnload(module));
	return NULL;
}

/* Even buffers go from device 1 to device 0, odd ones the other way. */
static unsigned peer_source(unsigned b)
{
	return b % 2 ? 0 : 1;
}

/* Both copies of buffer b hold the source's last round, byte for byte. */
static void *check_peer_copy(unsigned b, uint64_t *words, uint64_t *want)
{
	unsigned d = peer_source(b);

	for (uint64_t i = 0; i < BUF_SIZE / 8; i++)
		want[i] = shim_pattern(seed_of(d, ROUNDS, b), i);
	for (unsigned side = 0; side < DEVICES; side++) {
		CHECK(cu.cuMemcpyDtoH_v2(words, bufs[side][b], BUF_SIZE));
		if (memcmp(words, want, BUF_SIZE))
			fail(side, side == d ? "peer copy source" : "peer copy destination",
			     "differs from the pattern copied");
	}
	return NULL;
}

/* The shim made memory resident through other devices' pagers: the app's context stays. */
static void *expect_context(unsigned d, const char *after)
{
	CUcontext now = NULL;

	CHECK(cu.cuCtxGetCurrent(&now));
	if (now != ctxs[d])
		fail(d, after, "the current context is not the one the app set");
	return NULL;
}

/*
 * From device 0's context, buffers evicted on both devices (the last round
 * went through them all in order) copied between the devices: each side
 * must be made resident by its own device's pager.
 */
static void *copy_between(void)
{
	static uint64_t words[BUF_SIZE / 8], want[BUF_SIZE / 8];
	CUstream stream;
	unsigned d = 0;

	CHECK(cu.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));
	for (unsigned b = 0; b < BUFS; b++) {
		unsigned src = peer_source(b), dst = 1 - src;

		if (src == 1)
			CHECK(cu.cuMemcpyPeer(bufs[dst][b], ctxs[dst], bufs[src][b], ctxs[src],
					      BUF_SIZE));
		else
			CHECK(cu.cuMemcpyPeerAsync(bufs[dst][b], ctxs[dst], bufs[src][b],
						   ctxs[src], BUF_SIZE, stream));
	}
	CHECK(cu.cuStreamSynchronize(stream));
	for (unsigned b = 0; b < BUFS; b++)
		check_peer_copy(b, words, want);
	CHECK(cu.cuStreamDestroy_v2(stream));
	expect_context(0, "cuMemcpyPeer");
	return NULL;
}

/*
 * With peer access to device 1 enabled from device 0's context, device 0's
 * checksum kernel reads each of device 1's buffers (evicted by the rounds
 * and the copies): device 1's pager must grant device 0 its chunks.
 */
static void *read_through_peer_access(void)
{
	static uint64_t words[BUF_SIZE / 8];
	uint64_t results_host[2 * BUFS];
	CUdeviceptr results;
	CUfunction checksum;
	CUmodule module;
	CUstream stream;
	unsigned d = 0;

	CHECK(cu.cuCtxEnablePeerAccess(ctxs[1], 0));
	module = shim_cuda_load_kernels("shim_app_kernels.so");
	CHECK(cu.cuModuleGetFunction(&checksum, module, "checksum"));
	CHECK(cu.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));
	CHECK(cu.cuMemAlloc_v2(&results, 16 * BUFS));
	for (unsigned b = 0; b < BUFS; b++)
		CHECK(shim_cuda_launch(checksum, stream,
				       (uint64_t[]){ bufs[1][b], BUF_SIZE, 7, results + 16 * b }, 4,
				       0));
	CHECK(cu.cuMemcpyDtoHAsync_v2(results_host, results, 16 * BUFS, stream));
	CHECK(cu.cuStreamSynchronize(stream));
	for (unsigned b = 0; b < BUFS; b++) {
		for (uint64_t i = 0; i < BUF_SIZE / 8; i++)
			words[i] = shim_pattern(seed_of(peer_source(b), ROUNDS, b), i);
		if (results_host[2 * b] != 7 || results_host[2 * b + 1] != shim_sum(words, BUF_SIZE))
			fail(d, "a kernel through peer access", "device 1's buffer differs");
	}
	CHECK(cu.cuMemFree_v2(results));
	CHECK(cu.cuStreamDestroy_v2(stream));
	CHECK(cu.cuModuleUnload(module));
	expect_context(0, "cuCtxEnablePeerAccess");
	return NULL;
}

/* A buffer of device 1's asked from device 0's context: its device and context are 1's. */
static void *check_owner(CUdeviceptr p)
{
	CUpointer_attribute attrs[] = { CU_POINTER_ATTRIBUTE_CONTEXT,
					CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL };
	CUcontext ctx = NULL;
	int ordinal = -1;
	void *data[] = { &ctx, &ordinal };
	unsigned d = 1;

	CHECK(cu.cuPointerGetAttribute(&ordinal, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, p));
	if (ordinal != 1)
		fail(d, "cuPointerGetAttribute", "the buffer is not on device 1");
	CHECK(cu.cuPointerGetAttribute(&ctx, CU_POINTER_ATTRIBUTE_CONTEXT, p));
	if (ctx != ctxs[1])
		fail(d, "cuPointerGetAttribute", "the buffer is not in device 1's context");
	ctx = NULL;
	ordinal = -1;
	CHECK(cu.cuPointerGetAttributes(2, attrs, data, p));
	if (ctx != ctxs[1] || ordinal != 1)
		fail(d, "cuPointerGetAttributes", "the buffer is not device 1's");
	return NULL;
}

/* Device 1's buffers from device 0's context: copied to and from, still device 1's, freed. */
static void *use_elsewhere(void)
{
	static uint64_t words[BUF_SIZE / 8];
	uint64_t sums[BUFS];
	unsigned d = 1;

	for (unsigned b = 0; b < BUFS; b++) {
		for (uint64_t i = 0; i < BUF_SIZE / 8; i++)
			words[i] = shim_pattern(seed_of(d, ROUNDS + 1, b), i);
		sums[b] = shim_sum(words, BUF_SIZE);
		CHECK(cu.cuMemcpyHtoD_v2(bufs[1][b], words, BUF_SIZE));
	}
	for (unsigned b = 0; b < BUFS; b++) {
		CHECK(cu.cuMemcpyDtoH_v2(words, bufs[1][b], BUF_SIZE));
		if (shim_sum(words, BUF_SIZE) != sums[b])
			fail(d, "cuMemcpyDtoH from device 0's context", "a buffer differs");
	}
	expect_context(0, "copies of device 1's memory");
	for (unsigned b = 0; b < BUFS; b++) {
		CUdeviceptr base = 0;
		size_t size = 0;

		check_owner(bufs[1][b]);
		CHECK(cu.cuMemGetAddressRange_v2(&base, &size, bufs[1][b] + 100));
		if (base != bufs[1][b] || size != BUF_SIZE)
			fail(d, "cuMemGetAddressRange", "not the allocation's range");
		CHECK(cu.cuMemFree_v2(bufs[1][b]));
	}
	expect_context(0, "cuMemFree of device 1's memory");
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t threads[DEVICES];
	int n = 0;

	if (argc != 1 && (argc != 3 || strcmp(argv[1], "--resolve"))) {
		fprintf(stderr, "usage: shim_devices [--resolve MODE]\n");
		return 2;
	}
	if (shim_cuda_resolve(argc == 3 ? argv[2] : "link"))
		return 2;
	shim_cuda_start();
	CU(cuDeviceGetCount, &n);
	if (n < DEVICES) {
		fprintf(stderr, "shim_devices: %d device(s), %d needed\n", n, DEVICES);
		return 2;
	}
	for (unsigned d = 0; d < DEVICES; d++)
		if (pthread_create(&threads[d], NULL, worker, (void *)(uintptr_t)d)) {
			fprintf(stderr, "shim_devices: pthread_create failed\n");
			return 1;
		}
	for (unsigned d = 0; d < DEVICES; d++)
		pthread_join(threads[d], NULL);
	copy_between();
	read_through_peer_access();
	use_elsewhere();
	for (unsigned b = 0; b < BUFS; b++)
		CU(cuMemFree_v2, bufs[0][b]);
	printf("shim_devices: %d devices, %d rounds, %d failures\n", DEVICES, ROUNDS, failures);
	return failures ? 1 : 0;
}

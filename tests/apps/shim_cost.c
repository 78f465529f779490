/*
 * shim_cost.c - what a wrapped call costs: a CUDA driver-API program that
 * times cuLaunchKernel with 8 pointer parameters (an empty kernel) and
 * cuMemcpyHtoDAsync of 256 bytes from pinned memory, each N times on one
 * stream, everything fitting in device memory.  `gpupager bench shim` runs
 * it with and without the shim and reports the difference.
 *
 *   shim_cost [--launches N] [--copies N]
 *
 * stdout: "launch_ns PER_CALL" and "h2d_async_ns PER_CALL", each the time
 * from the first call to the stream having run them all, over N.
 * Exit status: 0, 1 a CUDA error (named on stderr), 2 bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shim_cuda.h"

#define N_BUFFERS 8
#define BUFFER_BYTES (64u << 10)
#define COPY_BYTES 256
#define WARMUP 1000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static unsigned long parse_count(const char *text)
{
	char *end;
	unsigned long v = text ? strtoul(text, &end, 10) : 0;

	if (!text || *end || v < 1 || v > 100000000) {
		fprintf(stderr, "shim_cost: a count from 1 to 100000000 expected\n"
				"usage: shim_cost [--launches N] [--copies N]\n");
		exit(2);
	}
	return v;
}

/* Seconds per launch of nop8 over n launches, the stream drained at the end. */
static double time_launches(CUfunction nop8, CUstream stream, const uint64_t *args,
			    unsigned long n)
{
	double start = now();

	for (unsigned long i = 0; i < n; i++)
		shim_cuda_check("cuLaunchKernel", shim_cuda_launch(nop8, stream, args, N_BUFFERS, 0));
	CU(cuStreamSynchronize, stream);
	return (now() - start) / (double)n;
}

static double time_copies(CUdeviceptr dst, const void *src, CUstream stream, unsigned long n)
{
	double start = now();

	for (unsigned long i = 0; i < n; i++)
		CU(cuMemcpyHtoDAsync_v2, dst + (i % 64) * COPY_BYTES, src, COPY_BYTES, stream);
	CU(cuStreamSynchronize, stream);
	return (now() - start) / (double)n;
}

int main(int argc, char **argv)
{
	unsigned long launches = 100000, copies = 100000;
	uint64_t args[N_BUFFERS];
	CUdeviceptr buf[N_BUFFERS];
	CUfunction nop8;
	CUmodule module;
	CUstream stream;
	void *host;

	for (int i = 1; i < argc; i += 2) {
		if (!strcmp(argv[i], "--launches"))
			launches = parse_count(argv[i + 1 < argc ? i + 1 : i]);
		else if (!strcmp(argv[i], "--copies"))
			copies = parse_count(argv[i + 1 < argc ? i + 1 : i]);
		else
			parse_count(NULL);
	}
	if (shim_cuda_resolve("link"))
		return 2;
	shim_cuda_start();
	module = shim_cuda_load_kernels("shim_app_kernels.so");
	CU(cuModuleGetFunction, &nop8, module, "nop8");
	CU(cuStreamCreate, &stream, CU_STREAM_NON_BLOCKING);
	for (int b = 0; b < N_BUFFERS; b++) {
		CU(cuMemAlloc_v2, &buf[b], BUFFER_BYTES);
		args[b] = buf[b];
	}
	CU(cuMemAllocHost_v2, &host, COPY_BYTES);
	memset(host, 0x5a, COPY_BYTES);

	time_launches(nop8, stream, args, WARMUP);
	time_copies(buf[0], host, stream, WARMUP);
	printf("launch_ns %.1f\n", time_launches(nop8, stream, args, launches) * 1e9);
	printf("h2d_async_ns %.1f\n", time_copies(buf[0], host, stream, copies) * 1e9);

	CU(cuMemFreeHost, host);
	for (int b = 0; b < N_BUFFERS; b++)
		CU(cuMemFree_v2, buf[b]);
	CU(cuStreamDestroy_v2, stream);
	CU(cuModuleUnload, module);
	CU(cuDevicePrimaryCtxRelease_v2, 0);
	return 0;
}

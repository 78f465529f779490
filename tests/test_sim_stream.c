/*
 * test_sim_stream.c - simulated device: stream order, events, waits, the
 * legacy stream's implicit synchronisation, the copy-time model, and
 * illegal addresses found while work runs.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/sim_test.h"
#include "gpupager.h"

#define G SIM_TEST_GRANULE
#define LOG_MAX 256

/* Host functions append their tag here, in the order streams run them. */
struct order_log {
	pthread_mutex_t lock;
	int tags[LOG_MAX];
	int n;
};

struct log_entry {
	struct order_log *log;
	int tag;
};

static void append(void *arg)
{
	struct log_entry *e = arg;

	pthread_mutex_lock(&e->log->lock);
	e->log->tags[e->log->n++] = e->tag;
	pthread_mutex_unlock(&e->log->lock);
}

static struct order_log *log_new(void)
{
	struct order_log *log = calloc(1, sizeof(*log));

	cr_assert_not_null(log);
	pthread_mutex_init(&log->lock, NULL);
	return log;
}

static void slow_link(void)
{
	/*
	 * 2 MiB then takes about 40 ms pinned, 80 ms pageable: the modelled
	 * differences these tests compare stay far above scheduling noise on a
	 * loaded 2-core machine (at 8 ms an ASan run once inverted them).
	 */
	setenv("GPUPAGER_SIM_H2D_GBPS", "0.05", 1);
	sim_test_init();
}

TestSuite(sim_stream, .init = slow_link);

Test(sim_stream, one_stream_runs_in_order)
{
	struct order_log *log = log_new();
	struct log_entry entries[100];
	unsigned char *host = malloc(G);
	CUdeviceptr dev;
	CUstream s;

	cr_assert_not_null(host);
	memset(host, 3, G);
	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_assert_ok(cuMemAlloc(&dev, G));
	for (int i = 0; i < 100; i++) {
		entries[i] = (struct log_entry){ log, i };
		sim_assert_ok(cuLaunchHostFunc(s, append, &entries[i]));
		/* Copies in between take modelled time, so a reordering would show. */
		if (i % 25 == 0)
			sim_assert_ok(cuMemcpyHtoDAsync(dev, host, 64 << 10, s));
	}
	sim_assert_ok(cuStreamSynchronize(s));
	cr_assert_eq(log->n, 100);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(log->tags[i], i, "position %d ran tag %d", i, log->tags[i]);
	sim_assert_ok(cuMemFree(dev));
	sim_assert_ok(cuStreamDestroy(s));
	free(host);
	free(log);
}

Test(sim_stream, queries_see_queued_work)
{
	struct sim_test_latch latch;
	CUevent ev;
	CUstream s;

	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_assert_ok(cuEventCreate(&ev, CU_EVENT_DEFAULT));
	/* An event never recorded counts as complete. */
	sim_assert_ok(cuEventQuery(ev));
	sim_assert_ok(cuStreamQuery(s));
	sim_test_hold(s, &latch);
	sim_assert_ok(cuEventRecord(ev, s));
	sim_assert_result(cuStreamQuery(s), CUDA_ERROR_NOT_READY);
	sim_assert_result(cuEventQuery(ev), CUDA_ERROR_NOT_READY);
	sim_test_release(&latch);
	sim_assert_ok(cuEventSynchronize(ev));
	sim_assert_ok(cuEventQuery(ev));
	sim_assert_ok(cuStreamSynchronize(s));
	sim_assert_ok(cuStreamQuery(s));
	sim_assert_ok(cuEventDestroy(ev));
	sim_assert_ok(cuStreamDestroy(s));
}

Test(sim_stream, wait_event_orders_two_streams)
{
	struct order_log *log = log_new();
	struct log_entry first = { log, 1 }, second = { log, 2 };
	struct sim_test_latch latch;
	CUstream a, b;
	CUevent ev;

	sim_assert_ok(cuStreamCreate(&a, CU_STREAM_NON_BLOCKING));
	sim_assert_ok(cuStreamCreate(&b, CU_STREAM_NON_BLOCKING));
	sim_assert_ok(cuEventCreate(&ev, CU_EVENT_DISABLE_TIMING));
	sim_test_hold(a, &latch);
	sim_assert_ok(cuLaunchHostFunc(a, append, &first));
	sim_assert_ok(cuEventRecord(ev, a));
	sim_assert_ok(cuStreamWaitEvent(b, ev, 0));
	sim_assert_ok(cuLaunchHostFunc(b, append, &second));
	/* b is held by a's latch through the event. */
	sim_assert_result(cuStreamQuery(b), CUDA_ERROR_NOT_READY);
	sim_test_release(&latch);
	sim_assert_ok(cuStreamSynchronize(b));
	cr_assert_eq(log->n, 2);
	cr_assert_eq(log->tags[0], 1);
	cr_assert_eq(log->tags[1], 2);
	sim_assert_result(cuStreamWaitEvent(b, ev, 0x10), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuEventDestroy(ev));
	sim_assert_ok(cuStreamDestroy(a));
	sim_assert_ok(cuStreamDestroy(b));
	free(log);
}

Test(sim_stream, legacy_stream_syncs_with_blocking_streams_only)
{
	struct sim_test_latch blocking_latch, free_latch;
	CUstream blocking, nonblocking;

	sim_assert_ok(cuStreamCreate(&blocking, CU_STREAM_DEFAULT));
	sim_assert_ok(cuStreamCreate(&nonblocking, CU_STREAM_NON_BLOCKING));
	sim_test_hold(nonblocking, &free_latch);
	/* The default stream ignores a held non-blocking stream... */
	sim_assert_ok(cuStreamSynchronize(NULL));
	sim_test_hold(blocking, &blocking_latch);
	sim_assert_ok(cuLaunchHostFunc(NULL, sim_test_latch_wait, &free_latch));
	/* ...but its work waits for a blocking stream's earlier work. */
	sim_test_release(&free_latch);
	sim_assert_result(cuStreamQuery(CU_STREAM_LEGACY), CUDA_ERROR_NOT_READY);
	sim_test_release(&blocking_latch);
	sim_assert_ok(cuStreamSynchronize(CU_STREAM_LEGACY));
	sim_assert_ok(cuCtxSynchronize());
	sim_assert_ok(cuStreamDestroy(blocking));
	sim_assert_ok(cuStreamDestroy(nonblocking));
	sim_assert_result(cuStreamDestroy(NULL), CUDA_ERROR_INVALID_HANDLE);
}

static void set_flag(void *arg)
{
	__atomic_store_n((int *)arg, 1, __ATOMIC_RELEASE);
}

Test(sim_stream, destroyed_stream_finishes_its_work)
{
	struct sim_test_latch latch;
	int done = 0;
	CUstream s;

	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_test_hold(s, &latch);
	sim_assert_ok(cuLaunchHostFunc(s, set_flag, &done));
	sim_assert_ok(cuStreamDestroy(s));
	cr_assert_eq(__atomic_load_n(&done, __ATOMIC_ACQUIRE), 0);
	sim_test_release(&latch);
	sim_assert_ok(cuCtxSynchronize());
	cr_assert_eq(__atomic_load_n(&done, __ATOMIC_ACQUIRE), 1);
}

Test(sim_stream, event_errors)
{
	CUevent untimed, timed, never;
	float ms = -1;

	sim_assert_ok(cuEventCreate(&untimed, CU_EVENT_DISABLE_TIMING));
	sim_assert_ok(cuEventCreate(&timed, CU_EVENT_BLOCKING_SYNC));
	sim_assert_ok(cuEventCreate(&never, 0));
	sim_assert_result(cuEventCreate(&never, 0x40), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuEventRecord(untimed, NULL));
	sim_assert_ok(cuEventRecord(timed, NULL));
	sim_assert_ok(cuCtxSynchronize());
	sim_assert_result(cuEventElapsedTime(&ms, untimed, timed), CUDA_ERROR_INVALID_HANDLE);
	sim_assert_result(cuEventElapsedTime(&ms, timed, never), CUDA_ERROR_INVALID_HANDLE);
	sim_assert_ok(cuEventElapsedTime(&ms, timed, timed));
	cr_assert_float_eq(ms, 0.0f, 1e-9);
	sim_assert_ok(cuEventDestroy(untimed));
	sim_assert_ok(cuEventDestroy(timed));
	sim_assert_ok(cuEventDestroy(never));
}

/* Milliseconds a copy of bytes from host to dev takes on a fresh stream, by events. */
static float timed_copy(CUdeviceptr dev, const void *host, size_t bytes)
{
	CUevent start, end;
	CUstream s;
	float ms;

	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_assert_ok(cuEventCreate(&start, 0));
	sim_assert_ok(cuEventCreate(&end, 0));
	sim_assert_ok(cuEventRecord(start, s));
	sim_assert_ok(cuMemcpyHtoDAsync(dev, host, bytes, s));
	sim_assert_ok(cuEventRecord(end, s));
	sim_assert_ok(cuEventSynchronize(end));
	sim_assert_ok(cuEventElapsedTime(&ms, start, end));
	sim_assert_ok(cuEventDestroy(start));
	sim_assert_ok(cuEventDestroy(end));
	sim_assert_ok(cuStreamDestroy(s));
	return ms;
}

Test(sim_stream, copies_take_modelled_time)
{
	void *pinned;
	unsigned char *pageable = malloc(G);
	float pinned_ms, pageable_ms;
	CUdeviceptr dev;

	cr_assert_not_null(pageable);
	memset(pageable, 9, G);
	sim_assert_ok(cuMemAllocHost(&pinned, G));
	memset(pinned, 9, G);
	sim_assert_ok(cuMemAlloc(&dev, G));
	pinned_ms = timed_copy(dev, pinned, G);
	pageable_ms = timed_copy(dev, pageable, G);
	cr_assert_gt(pinned_ms, 0.0f);
	cr_assert_gt(pageable_ms, pinned_ms, "pageable %.3f ms, pinned %.3f ms", pageable_ms,
		     pinned_ms);
	cr_assert_eq(gp_checksum((void *)(uintptr_t)dev, G), gp_checksum(pageable, G));
	sim_assert_ok(cuMemFree(dev));
	sim_assert_ok(cuMemFreeHost(pinned));
	free(pageable);
}

/* Pinned copies return at once; pageable ones only when done, as in CUDA. */
Test(sim_stream, pinned_copies_are_asynchronous, .timeout = 30)
{
	struct sim_test_latch latch;
	unsigned char *pageable = malloc(4096);
	void *pinned;
	CUdeviceptr dev;
	CUstream s;

	cr_assert_not_null(pageable);
	memset(pageable, 1, 4096);
	sim_assert_ok(cuMemAllocHost(&pinned, 4096));
	memset(pinned, 2, 4096);
	sim_assert_ok(cuMemAlloc(&dev, 4096));
	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_test_hold(s, &latch);
	/* Would never return if classified pageable: the stream is held. */
	sim_assert_ok(cuMemcpyHtoDAsync(dev, pinned, 4096, s));
	sim_assert_result(cuStreamQuery(s), CUDA_ERROR_NOT_READY);
	sim_test_release(&latch);
	sim_assert_ok(cuMemcpyHtoDAsync(dev + 4096, pageable, 4096, s));
	/* The pageable copy returned only once done, so the stream is idle. */
	sim_assert_ok(cuStreamQuery(s));
	cr_assert_eq(((unsigned char *)(uintptr_t)dev)[4095], 2);
	cr_assert_eq(((unsigned char *)(uintptr_t)dev)[4096], 1);
	sim_assert_ok(cuStreamDestroy(s));
	sim_assert_ok(cuMemFree(dev));
	sim_assert_ok(cuMemFreeHost(pinned));
	free(pageable);
}

Test(sim_stream, registered_memory_is_pinned, .timeout = 30)
{
	struct sim_test_latch latch;
	unsigned char *buf = aligned_alloc(4096, 8192);
	CUdeviceptr dev;
	CUstream s;

	cr_assert_not_null(buf);
	sim_assert_ok(cuMemHostRegister(buf, 8192, 0));
	sim_assert_ok(cuMemAlloc(&dev, 8192));
	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_test_hold(s, &latch);
	sim_assert_ok(cuMemcpyDtoHAsync(buf, dev, 8192, s));
	sim_assert_result(cuStreamQuery(s), CUDA_ERROR_NOT_READY);
	sim_test_release(&latch);
	sim_assert_ok(cuStreamSynchronize(s));
	sim_assert_ok(cuStreamDestroy(s));
	sim_assert_ok(cuMemFree(dev));
	sim_assert_ok(cuMemHostUnregister(buf));
	free(buf);
}

/*
 * Milliseconds from a common start until two 1-granule copies on two
 * streams are both done: host-to-device on one, and on the other the same
 * direction or the opposite one.
 */
static float two_copy_span(bool same_direction)
{
	CUevent start, a_end, b_end;
	unsigned char *pinned;
	float a_ms, b_ms;
	CUdeviceptr dev;
	CUstream a, b;

	sim_assert_ok(cuMemAllocHost((void **)&pinned, 2 * G));
	memset(pinned, 4, 2 * G);
	sim_assert_ok(cuMemAlloc(&dev, 2 * G));
	sim_assert_ok(cuStreamCreate(&a, CU_STREAM_NON_BLOCKING));
	sim_assert_ok(cuStreamCreate(&b, CU_STREAM_NON_BLOCKING));
	sim_assert_ok(cuEventCreate(&start, 0));
	sim_assert_ok(cuEventCreate(&a_end, 0));
	sim_assert_ok(cuEventCreate(&b_end, 0));
	sim_assert_ok(cuEventRecord(start, a));
	sim_assert_ok(cuStreamWaitEvent(b, start, 0));
	sim_assert_ok(cuMemcpyHtoDAsync(dev, pinned, G, a));
	if (same_direction)
		sim_assert_ok(cuMemcpyHtoDAsync(dev + G, pinned + G, G, b));
	else
		sim_assert_ok(cuMemcpyDtoHAsync(pinned + G, dev + G, G, b));
	sim_assert_ok(cuEventRecord(a_end, a));
	sim_assert_ok(cuEventRecord(b_end, b));
	sim_assert_ok(cuCtxSynchronize());
	sim_assert_ok(cuEventElapsedTime(&a_ms, start, a_end));
	sim_assert_ok(cuEventElapsedTime(&b_ms, start, b_end));
	cr_assert_gt(a_ms, 0.0f);
	cr_assert_gt(b_ms, 0.0f);
	sim_assert_ok(cuEventDestroy(start));
	sim_assert_ok(cuEventDestroy(a_end));
	sim_assert_ok(cuEventDestroy(b_end));
	sim_assert_ok(cuStreamDestroy(a));
	sim_assert_ok(cuStreamDestroy(b));
	sim_assert_ok(cuMemFree(dev));
	sim_assert_ok(cuMemFreeHost(pinned));
	return a_ms > b_ms ? a_ms : b_ms;
}

/* Copies in one direction share that link; the two directions do not (full duplex). */
Test(sim_stream, streams_share_a_link_per_direction)
{
	float same = two_copy_span(true), opposite = two_copy_span(false);

	cr_assert_gt(same, opposite, "same direction %.3f ms, opposite %.3f ms", same, opposite);
}

/* Unmapping a chunk while a copy into it is still queued: an illegal address, like a GPU. */
Test(sim_stream, unmap_under_queued_copy_is_an_illegal_address)
{
	struct sim_test_latch latch;
	unsigned char *pinned;
	CUmemGenericAllocationHandle handle;
	CUdeviceptr va, other;
	CUstream s;

	sim_assert_ok(cuMemAllocHost((void **)&pinned, 4096));
	sim_assert_ok(cuMemAddressReserve(&va, G, 0, 0, 0));
	handle = sim_test_map_rw(va, G);
	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_test_hold(s, &latch);
	sim_assert_ok(cuMemcpyHtoDAsync(va, pinned, 4096, s));
	sim_assert_ok(cuMemUnmap(va, G));
	sim_assert_ok(cuMemRelease(handle));
	sim_test_release(&latch);
	sim_assert_result(cuStreamSynchronize(s), CUDA_ERROR_ILLEGAL_ADDRESS);
	/* The error sticks to the context. */
	sim_assert_result(cuMemAlloc(&other, 1), CUDA_ERROR_ILLEGAL_ADDRESS);
	sim_assert_result(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
}

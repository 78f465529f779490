/*
 * sim_test.h - helpers for the simulated device's tests (header-only: the
 * objects in tests/common/ join every test program, and only the
 * simulator's tests link libcuda).
 */
#ifndef GP_TESTS_SIM_TEST_H
#define GP_TESTS_SIM_TEST_H

#include <criterion/criterion.h>
#include <cuda.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIM_TEST_GRANULE (2u << 20)
#define SIM_TEST_KERNELS GP_BUILD_DIR "/tests/sim_test_kernels.so"

/* Assert a driver call's result by name, so failures read "CUDA_ERROR_X". */
#define sim_assert_result(call, expected)                                                  \
	do {                                                                               \
		CUresult got_ = (call);                                                     \
		const char *got_name_ = "?", *want_name_ = "?";                             \
		cuGetErrorName(got_, &got_name_);                                           \
		cuGetErrorName((expected), &want_name_);                                    \
		cr_assert_eq(got_, (expected), "%s returned %s, expected %s", #call,        \
			     got_name_, want_name_);                                        \
	} while (0)

#define sim_assert_ok(call) sim_assert_result(call, CUDA_SUCCESS)

/* cuInit, and the primary context made current on this thread. */
static inline void sim_test_init(void)
{
	CUcontext ctx;

	sim_assert_ok(cuInit(0));
	sim_assert_ok(cuDevicePrimaryCtxRetain(&ctx, 0));
	sim_assert_ok(cuCtxSetCurrent(ctx));
}

static inline CUmemAllocationProp sim_test_prop(void)
{
	CUmemAllocationProp prop = {
		.type = CU_MEM_ALLOCATION_TYPE_PINNED,
		.location = { .type = CU_MEM_LOCATION_TYPE_DEVICE, .id = 0 },
	};

	return prop;
}

static inline CUmemAccessDesc sim_test_access(CUmemAccess_flags flags)
{
	CUmemAccessDesc desc = {
		.location = { .type = CU_MEM_LOCATION_TYPE_DEVICE, .id = 0 },
		.flags = flags,
	};

	return desc;
}

/* Map a new physical chunk of size bytes at va with read-write access. */
static inline CUmemGenericAllocationHandle sim_test_map_rw(CUdeviceptr va, size_t size)
{
	CUmemAllocationProp prop = sim_test_prop();
	CUmemAccessDesc rw = sim_test_access(CU_MEM_ACCESS_FLAGS_PROT_READWRITE);
	CUmemGenericAllocationHandle handle;

	sim_assert_ok(cuMemCreate(&handle, size, &prop, 0));
	sim_assert_ok(cuMemMap(va, size, 0, handle, 0));
	sim_assert_ok(cuMemSetAccess(va, size, &rw, 1));
	return handle;
}

/*
 * Run fn(arg) in a child process and assert that it dies of signal sig:
 * how the simulator's "illegal address" shows.  The child restores the
 * default handler first, since sanitizers catch SIGSEGV themselves.
 */
static inline void sim_test_expect_signal(void (*fn)(void *), void *arg, int sig)
{
	int status;
	pid_t pid = fork();

	cr_assert_neq(pid, -1, "fork failed");
	if (pid == 0) {
		signal(sig, SIG_DFL);
		fn(arg);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status), "child did not crash (exit status %d)",
		  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	cr_assert_eq(WTERMSIG(status), sig, "child died of signal %d, expected %d",
		     WTERMSIG(status), sig);
}

/*
 * A latch a stream can be held on: sim_test_hold queues a host function
 * that blocks the stream until sim_test_release, so tests can observe
 * queued work deterministically, without timing.
 */
struct sim_test_latch {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool open;
};

static inline void sim_test_latch_wait(void *arg)
{
	struct sim_test_latch *latch = arg;

	pthread_mutex_lock(&latch->lock);
	while (!latch->open)
		pthread_cond_wait(&latch->cond, &latch->lock);
	pthread_mutex_unlock(&latch->lock);
}

static inline void sim_test_hold(CUstream stream, struct sim_test_latch *latch)
{
	pthread_mutex_init(&latch->lock, NULL);
	pthread_cond_init(&latch->cond, NULL);
	latch->open = false;
	sim_assert_ok(cuLaunchHostFunc(stream, sim_test_latch_wait, latch));
}

static inline void sim_test_release(struct sim_test_latch *latch)
{
	pthread_mutex_lock(&latch->lock);
	latch->open = true;
	pthread_cond_broadcast(&latch->cond);
	pthread_mutex_unlock(&latch->lock);
}

#endif

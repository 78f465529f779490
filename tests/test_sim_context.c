/* test_sim_context.c - simulated device: the context stack and the context's device. */
#include <criterion/criterion.h>

#include "common/sim_test.h"

TestSuite(sim_context, .init = sim_test_init);

static CUcontext current(void)
{
	CUcontext ctx = (CUcontext)1;

	sim_assert_ok(cuCtxGetCurrent(&ctx));
	return ctx;
}

Test(sim_context, get_device)
{
	CUcontext primary = current();
	CUdevice dev = -1;

	sim_assert_ok(cuCtxGetDevice(&dev));
	cr_assert_eq(dev, 0);
	sim_assert_result(cuCtxGetDevice(NULL), CUDA_ERROR_INVALID_VALUE);
	dev = -1;
	sim_assert_ok(cuCtxGetDevice_v2(&dev, NULL));
	cr_assert_eq(dev, 0);
	sim_assert_ok(cuCtxSetCurrent(NULL));
	sim_assert_result(cuCtxGetDevice(&dev), CUDA_ERROR_INVALID_CONTEXT);
	sim_assert_result(cuCtxGetDevice_v2(&dev, NULL), CUDA_ERROR_INVALID_CONTEXT);
	/* The CUDA 13 form answers for a context that is not current. */
	dev = -1;
	sim_assert_ok(cuCtxGetDevice_v2(&dev, primary));
	cr_assert_eq(dev, 0);
	sim_assert_result(cuCtxGetDevice_v2(&dev, (CUcontext)&dev), CUDA_ERROR_INVALID_CONTEXT);
	sim_assert_result(cuCtxGetDevice_v2(NULL, primary), CUDA_ERROR_INVALID_VALUE);
}

Test(sim_context, push_and_pop)
{
	CUcontext primary = current(), popped = NULL;
	CUdeviceptr p;

	/* sim_test_init made it current: the stack holds it once. */
	sim_assert_ok(cuCtxPushCurrent(primary));
	sim_assert_ok(cuCtxPopCurrent(&popped));
	cr_assert_eq(popped, primary);
	cr_assert_eq(current(), primary);
	popped = NULL;
	sim_assert_ok(cuCtxPopCurrent(&popped));
	cr_assert_eq(popped, primary);
	cr_assert_null(current());
	sim_assert_result(cuMemAlloc(&p, 1), CUDA_ERROR_INVALID_CONTEXT);
	sim_assert_result(cuCtxPopCurrent(&popped), CUDA_ERROR_INVALID_CONTEXT);
	sim_assert_result(cuCtxPushCurrent(NULL), CUDA_ERROR_INVALID_CONTEXT);
	sim_assert_result(cuCtxPushCurrent((CUcontext)&p), CUDA_ERROR_INVALID_CONTEXT);
	cr_assert_null(current());
	sim_assert_ok(cuCtxPushCurrent(primary));
	sim_assert_ok(cuMemAlloc(&p, 1));
	sim_assert_ok(cuMemFree(p));
	/* The popped context need not be returned. */
	sim_assert_ok(cuCtxPopCurrent(NULL));
	cr_assert_null(current());
}

/* cuCtxSetCurrent replaces the top of the stack, or pops it when given NULL. */
Test(sim_context, set_current_works_on_the_top)
{
	CUcontext primary = current();

	sim_assert_ok(cuCtxPushCurrent(primary));
	sim_assert_ok(cuCtxPushCurrent(primary));
	sim_assert_ok(cuCtxSetCurrent(primary));
	sim_assert_ok(cuCtxSetCurrent(NULL));
	cr_assert_eq(current(), primary, "NULL popped more than the top");
	sim_assert_ok(cuCtxPopCurrent(NULL));
	cr_assert_eq(current(), primary);
	sim_assert_ok(cuCtxSetCurrent(NULL));
	cr_assert_null(current());
	/* On an empty stack NULL is a no-op, and a context is pushed. */
	sim_assert_ok(cuCtxSetCurrent(NULL));
	sim_assert_ok(cuCtxSetCurrent(primary));
	sim_assert_ok(cuCtxPopCurrent(NULL));
	cr_assert_null(current());
}

static void *other_thread(void *arg)
{
	CUcontext primary = arg, ctx = (CUcontext)1;

	if (cuCtxGetCurrent(&ctx) || ctx)
		return "a new thread has a current context";
	if (cuCtxPopCurrent(NULL) != CUDA_ERROR_INVALID_CONTEXT)
		return "a new thread's stack is not empty";
	if (cuCtxPushCurrent(primary) || cuCtxPushCurrent(primary))
		return "push failed";
	return NULL;
}

Test(sim_context, each_thread_has_its_own_stack)
{
	CUcontext primary = current();
	const char *failure;
	pthread_t thread;

	cr_assert_eq(pthread_create(&thread, NULL, other_thread, primary), 0);
	cr_assert_eq(pthread_join(thread, (void **)&failure), 0);
	cr_assert_null(failure, "%s", failure);
	sim_assert_ok(cuCtxPopCurrent(NULL));
	cr_assert_null(current(), "the other thread's pushes reached this thread");
}

Test(sim_context, proc_address_forms)
{
	CUdriverProcAddressQueryResult status;
	void *fn;

	sim_assert_ok(cuGetProcAddress("cuCtxGetDevice", &fn, 12000, 0, &status));
	cr_assert_eq(fn, (void *)cuCtxGetDevice);
	sim_assert_ok(cuGetProcAddress("cuCtxGetDevice", &fn, 13000, 0, &status));
	cr_assert_eq(fn, (void *)cuCtxGetDevice_v2);
	sim_assert_ok(cuGetProcAddress("cuCtxPushCurrent", &fn, 4000, 0, &status));
	cr_assert_eq(fn, (void *)cuCtxPushCurrent_v2);
	sim_assert_ok(cuGetProcAddress("cuCtxPopCurrent", &fn, 13000, 0, &status));
	cr_assert_eq(fn, (void *)cuCtxPopCurrent_v2);
	/* Only the 4.0 forms (with _v2 names) are simulated. */
	sim_assert_result(cuGetProcAddress("cuCtxPopCurrent", &fn, 3020, 0, &status),
			  CUDA_ERROR_NOT_FOUND);
	cr_assert_eq(status, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
}

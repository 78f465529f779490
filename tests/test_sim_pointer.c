/* test_sim_pointer.c - simulated device: cuPointerGetAttributes. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/sim_test.h"

TestSuite(sim_pointer, .init = sim_test_init);

/* Every attribute the simulator answers, and where each one lands. */
struct answers {
	CUcontext ctx;
	unsigned int type;
	CUdeviceptr dev;
	void *host;
	bool managed;
	int ordinal;
	CUdeviceptr start;
	size_t size;
};

static CUpointer_attribute all[] = {
	CU_POINTER_ATTRIBUTE_CONTEXT,          CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
	CU_POINTER_ATTRIBUTE_DEVICE_POINTER,   CU_POINTER_ATTRIBUTE_HOST_POINTER,
	CU_POINTER_ATTRIBUTE_IS_MANAGED,       CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
	CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, CU_POINTER_ATTRIBUTE_RANGE_SIZE,
};

#define N_ALL (sizeof(all) / sizeof(all[0]))

static CUresult query(CUdeviceptr ptr, struct answers *a)
{
	void *data[N_ALL] = { &a->ctx,     &a->type,    &a->dev,   &a->host,
			      &a->managed, &a->ordinal, &a->start, &a->size };

	memset(a, 0xa5, sizeof(*a));
	return cuPointerGetAttributes(N_ALL, all, data, ptr);
}

/* The same values one at a time; HOST_POINTER fails for device memory there. */
static void expect_single_answers(CUdeviceptr ptr, const struct answers *a)
{
	struct answers one;

	sim_assert_ok(cuPointerGetAttribute(&one.ctx, CU_POINTER_ATTRIBUTE_CONTEXT, ptr));
	cr_assert_eq(one.ctx, a->ctx);
	sim_assert_ok(cuPointerGetAttribute(&one.type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, ptr));
	cr_assert_eq(one.type, a->type);
	sim_assert_ok(cuPointerGetAttribute(&one.dev, CU_POINTER_ATTRIBUTE_DEVICE_POINTER, ptr));
	cr_assert_eq(one.dev, a->dev);
	sim_assert_ok(cuPointerGetAttribute(&one.managed, CU_POINTER_ATTRIBUTE_IS_MANAGED, ptr));
	cr_assert_eq(one.managed, a->managed);
	sim_assert_ok(cuPointerGetAttribute(&one.ordinal, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
					    ptr));
	cr_assert_eq(one.ordinal, a->ordinal);
	sim_assert_ok(cuPointerGetAttribute(&one.start, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR,
					    ptr));
	cr_assert_eq(one.start, a->start);
	sim_assert_ok(cuPointerGetAttribute(&one.size, CU_POINTER_ATTRIBUTE_RANGE_SIZE, ptr));
	cr_assert_eq(one.size, a->size);
}

Test(sim_pointer, device_memory)
{
	struct answers a;
	CUcontext current;
	CUdeviceptr p;

	sim_assert_ok(cuCtxGetCurrent(&current));
	sim_assert_ok(cuMemAlloc(&p, 1000));
	sim_assert_ok(query(p + 10, &a));
	cr_assert_eq(a.ctx, current);
	cr_assert_eq(a.type, CU_MEMORYTYPE_DEVICE);
	cr_assert_eq(a.dev, p + 10);
	cr_assert_null(a.host, "device memory has no host pointer");
	cr_assert_not(a.managed);
	cr_assert_eq(a.ordinal, 0);
	cr_assert_eq(a.start, p);
	cr_assert_eq(a.size, 1000);
	expect_single_answers(p + 10, &a);
	sim_assert_ok(cuMemFree(p));
}

Test(sim_pointer, managed_and_pinned_host_memory)
{
	struct answers a;
	CUdeviceptr m;
	void *host;

	sim_assert_ok(cuMemAllocManaged(&m, 64, CU_MEM_ATTACH_GLOBAL));
	sim_assert_ok(query(m + 1, &a));
	cr_assert_eq(a.type, CU_MEMORYTYPE_DEVICE);
	cr_assert(a.managed);
	cr_assert_eq(a.host, (void *)(uintptr_t)(m + 1));
	cr_assert_eq(a.size, 64);
	expect_single_answers(m + 1, &a);
	sim_assert_ok(cuMemAllocHost(&host, 4096));
	sim_assert_ok(query((CUdeviceptr)(uintptr_t)host + 4, &a));
	cr_assert_eq(a.type, CU_MEMORYTYPE_HOST);
	cr_assert_eq(a.host, (char *)host + 4);
	cr_assert_eq(a.start, (CUdeviceptr)(uintptr_t)host);
	cr_assert_eq(a.size, 4096);
	expect_single_answers((CUdeviceptr)(uintptr_t)host + 4, &a);
	sim_assert_ok(cuMemFreeHost(host));
	sim_assert_ok(cuMemFree(m));
}

/* Documented: not an error, every value NULL. */
Test(sim_pointer, unknown_pointers_read_as_null)
{
	char pageable[16];
	CUdeviceptr p, unknown[3];
	struct answers a;

	/* Pageable host memory, freed device memory, NULL. */
	sim_assert_ok(cuMemAlloc(&p, 100));
	sim_assert_ok(cuMemFree(p));
	unknown[0] = (CUdeviceptr)(uintptr_t)pageable;
	unknown[1] = p;
	unknown[2] = 0;
	for (size_t i = 0; i < 3; i++) {
		sim_assert_ok(query(unknown[i], &a));
		cr_assert_null(a.ctx);
		cr_assert_eq(a.type, 0);
		cr_assert_eq(a.dev, 0);
		cr_assert_null(a.host);
		cr_assert_not(a.managed);
		cr_assert_eq(a.ordinal, 0);
		cr_assert_eq(a.start, 0);
		cr_assert_eq(a.size, 0);
		/* cuPointerGetAttribute refuses the same pointer. */
		sim_assert_result(cuPointerGetAttribute(&a.type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
							unknown[i]),
				  CUDA_ERROR_INVALID_VALUE);
	}
}

Test(sim_pointer, errors_write_nothing)
{
	CUpointer_attribute some[] = { CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
				       CU_POINTER_ATTRIBUTE_BUFFER_ID };
	unsigned int type = 77;
	unsigned long long id = 77;
	void *data[] = { &type, &id }, *holes[] = { &type, NULL };
	CUdeviceptr p;

	sim_assert_ok(cuMemAlloc(&p, 100));
	/* An attribute the simulator does not answer fails the whole call. */
	sim_assert_result(cuPointerGetAttributes(2, some, data, p), CUDA_ERROR_NOT_SUPPORTED);
	cr_assert_eq(type, 77, "written before the call failed");
	some[1] = (CUpointer_attribute)1000;
	sim_assert_result(cuPointerGetAttributes(2, some, data, p), CUDA_ERROR_NOT_SUPPORTED);
	sim_assert_result(cuPointerGetAttributes(2, some, holes, p), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuPointerGetAttributes(0, some, data, p), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuPointerGetAttributes(1, NULL, data, p), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuPointerGetAttributes(1, some, NULL, p), CUDA_ERROR_INVALID_VALUE);
	cr_assert_eq(type, 77);
	sim_assert_ok(cuPointerGetAttributes(1, some, data, p));
	cr_assert_eq(type, CU_MEMORYTYPE_DEVICE);
	sim_assert_ok(cuMemFree(p));
}

/* Like cuPointerGetAttribute, it needs cuInit but no current context. */
Test(sim_pointer, works_without_a_context)
{
	struct answers a;
	CUdeviceptr p;

	sim_assert_ok(cuMemAlloc(&p, 100));
	sim_assert_ok(cuCtxSetCurrent(NULL));
	sim_assert_ok(query(p, &a));
	cr_assert_eq(a.type, CU_MEMORYTYPE_DEVICE);
	cr_assert_not_null(a.ctx);
}

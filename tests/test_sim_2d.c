/*
 * test_sim_2d.c - simulated device: pitched allocations, 2D copies and
 * memsets, and 16-bit memsets, checked byte for byte.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/sim_test.h"

#define PITCH_ALIGN 512

static void small_device(void)
{
	setenv("GPUPAGER_SIM_VRAM", "16M", 1);
	sim_test_init();
}

TestSuite(sim_2d, .init = small_device);

static int attribute(CUdevice_attribute a)
{
	int value = -1;

	sim_assert_ok(cuDeviceGetAttribute(&value, a, 0));
	return value;
}

Test(sim_2d, alloc_pitch_rounds_each_row)
{
	static const size_t widths[] = { 1, 100, 512, 513, 4000 };
	CUdeviceptr p, base;
	size_t pitch, size;

	cr_assert_eq(attribute(CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT), PITCH_ALIGN);
	cr_assert_eq(PITCH_ALIGN % attribute(CU_DEVICE_ATTRIBUTE_TEXTURE_PITCH_ALIGNMENT), 0);
	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		sim_assert_ok(cuMemAllocPitch(&p, &pitch, widths[i], 10, 4));
		cr_assert_eq(pitch, (widths[i] + PITCH_ALIGN - 1) / PITCH_ALIGN * PITCH_ALIGN,
			     "width %zu: pitch %zu", widths[i], pitch);
		cr_assert_eq(p % PITCH_ALIGN, 0);
		sim_assert_ok(cuMemGetAddressRange(&base, &size, p + 9 * pitch + widths[i] - 1));
		cr_assert_eq(base, p);
		cr_assert_eq(size, 10 * pitch);
		sim_assert_ok(cuMemFree(p));
	}
	for (unsigned int element = 4; element <= 16; element *= 2)
		sim_assert_ok(cuMemAllocPitch(&p, &pitch, 64, 2, element));
}

Test(sim_2d, alloc_pitch_errors)
{
	static const unsigned int bad_elements[] = { 0, 1, 2, 3, 5, 12, 32 };
	size_t pitch = 77, max_pitch = (size_t)attribute(CU_DEVICE_ATTRIBUTE_MAX_PITCH);
	CUdeviceptr p = 0;

	for (size_t i = 0; i < sizeof(bad_elements) / sizeof(bad_elements[0]); i++)
		sim_assert_result(cuMemAllocPitch(&p, &pitch, 64, 2, bad_elements[i]),
				  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemAllocPitch(&p, &pitch, 0, 2, 4), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemAllocPitch(&p, &pitch, 64, 0, 4), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemAllocPitch(NULL, &pitch, 64, 2, 4), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemAllocPitch(&p, NULL, 64, 2, 4), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemAllocPitch(&p, &pitch, max_pitch + 1, 1, 4),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemAllocPitch(&p, &pitch, 64, SIZE_MAX / 256, 4),
			  CUDA_ERROR_INVALID_VALUE);
	/* 17 MiB on a 16 MiB device. */
	sim_assert_result(cuMemAllocPitch(&p, &pitch, 4096, 17 * 256, 4),
			  CUDA_ERROR_OUT_OF_MEMORY);
	cr_assert_eq(pitch, 77, "a failed call wrote the pitch");
	cr_assert_eq(p, 0, "a failed call wrote the pointer");
}

Test(sim_2d, memset_d16)
{
	uint16_t back[8];
	CUdeviceptr p;
	CUstream s;

	sim_assert_ok(cuMemAlloc(&p, sizeof(back)));
	sim_assert_ok(cuMemsetD8(p, 0, sizeof(back)));
	sim_assert_ok(cuMemsetD16(p + 2, 0xabcd, 5));
	sim_assert_ok(cuMemcpyDtoH(back, p, sizeof(back)));
	cr_assert_eq(back[0], 0);
	for (int i = 1; i <= 5; i++)
		cr_assert_eq(back[i], 0xabcd, "element %d is %#x", i, back[i]);
	cr_assert_eq(back[6], 0, "the memset wrote past its count");
	cr_assert_eq(((unsigned char *)back)[2], 0xcd, "not stored little-endian");
	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_assert_ok(cuMemsetD16Async(p, 0x1234, 8, s));
	sim_assert_ok(cuStreamSynchronize(s));
	sim_assert_ok(cuMemcpyDtoH(back, p, sizeof(back)));
	for (int i = 0; i < 8; i++)
		cr_assert_eq(back[i], 0x1234);
	sim_assert_result(cuMemsetD16(p + 1, 0, 1), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemsetD16Async(p + 3, 0, 1, s), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemsetD16((CUdeviceptr)(uintptr_t)back, 0, 1),
			  CUDA_ERROR_INVALID_VALUE);
	/* Zero elements is a no-op. */
	sim_assert_ok(cuMemsetD16(p + 1, 0, 0));
	sim_assert_ok(cuStreamDestroy(s));
	sim_assert_ok(cuMemFree(p));
}

Test(sim_2d, memset_d2d8_leaves_the_padding)
{
	size_t pitch, width = 100, height = 10;
	unsigned char *back;
	CUdeviceptr p;
	CUstream s;

	sim_assert_ok(cuMemAllocPitch(&p, &pitch, width, height, 4));
	back = malloc(pitch * height);
	cr_assert_not_null(back);
	sim_assert_ok(cuMemsetD8(p, 0x11, pitch * height));
	/* Rows 1..8, bytes 3..99. */
	sim_assert_ok(cuMemsetD2D8(p + pitch + 3, pitch, 0x5a, width - 3, height - 2));
	sim_assert_ok(cuMemcpyDtoH(back, p, pitch * height));
	for (size_t r = 0; r < height; r++)
		for (size_t x = 0; x < pitch; x++) {
			unsigned char want = r >= 1 && r <= 8 && x >= 3 && x < width ? 0x5a : 0x11;

			cr_assert_eq(back[r * pitch + x], want, "row %zu byte %zu is %#x", r, x,
				     back[r * pitch + x]);
		}
	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_assert_ok(cuMemsetD2D8Async(p, pitch, 0x77, width, height, s));
	sim_assert_ok(cuStreamSynchronize(s));
	sim_assert_ok(cuMemcpyDtoH(back, p, pitch * height));
	cr_assert_eq(back[(height - 1) * pitch + width - 1], 0x77);
	cr_assert_eq(back[(height - 1) * pitch + width], 0x11);
	/* Rows must not overlap; one row needs no pitch. */
	sim_assert_result(cuMemsetD2D8(p, width - 1, 0, width, 2), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemsetD2D8(p, 0, 0x22, width, 1));
	/* Past the allocation's end: not mapped. */
	sim_assert_result(cuMemsetD2D8(p, 4 << 20, 0, 1, 2), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemsetD2D8(p, SIZE_MAX / 2, 0, 1, 3), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuStreamDestroy(s));
	sim_assert_ok(cuMemFree(p));
	free(back);
}

/* A 2D copy descriptor between two pitched regions of the given types. */
static CUDA_MEMCPY2D desc(CUmemorytype dst_type, void *dst, size_t dst_pitch,
			  CUmemorytype src_type, const void *src, size_t src_pitch, size_t width,
			  size_t height)
{
	CUDA_MEMCPY2D d = {
		.srcMemoryType = src_type,
		.srcPitch = src_pitch,
		.dstMemoryType = dst_type,
		.dstPitch = dst_pitch,
		.WidthInBytes = width,
		.Height = height,
	};

	if (src_type == CU_MEMORYTYPE_HOST)
		d.srcHost = src;
	else
		d.srcDevice = (CUdeviceptr)(uintptr_t)src;
	if (dst_type == CU_MEMORYTYPE_HOST)
		d.dstHost = dst;
	else
		d.dstDevice = (CUdeviceptr)(uintptr_t)dst;
	return d;
}

#define DEVP(p) ((void *)(uintptr_t)(p))

Test(sim_2d, memcpy2d_round_trip)
{
	size_t width = 300, height = 7, host_pitch = 333, dev_pitch, back_pitch = 301;
	unsigned char *host = malloc(host_pitch * height), *back = malloc(back_pitch * height);
	CUdeviceptr a, b;
	CUDA_MEMCPY2D d;

	cr_assert(host && back);
	for (size_t i = 0; i < host_pitch * height; i++)
		host[i] = (unsigned char)(i * 7 + 1);
	memset(back, 0xee, back_pitch * height);
	sim_assert_ok(cuMemAllocPitch(&a, &dev_pitch, width + 16, height + 2, 4));
	sim_assert_ok(cuMemAllocPitch(&b, &dev_pitch, width + 16, height + 2, 4));
	sim_assert_ok(cuMemsetD8(a, 0, dev_pitch * (height + 2)));
	/* Host (from column 33, the last that fits) to device (row 2, column 16). */
	d = desc(CU_MEMORYTYPE_DEVICE, DEVP(a), dev_pitch, CU_MEMORYTYPE_HOST, host, host_pitch,
		 width, height);
	d.srcXInBytes = host_pitch - width;
	d.dstXInBytes = 16;
	d.dstY = 2;
	sim_assert_ok(cuMemcpy2D(&d));
	/* Device to device (unified addressing), then device to host. */
	d = desc(CU_MEMORYTYPE_UNIFIED, DEVP(b), dev_pitch, CU_MEMORYTYPE_UNIFIED,
		 DEVP(a + 2 * dev_pitch + 16), dev_pitch, width, height);
	sim_assert_ok(cuMemcpy2D(&d));
	d = desc(CU_MEMORYTYPE_HOST, back, back_pitch, CU_MEMORYTYPE_DEVICE, DEVP(b), dev_pitch,
		 width, height);
	sim_assert_ok(cuMemcpy2D(&d));
	for (size_t r = 0; r < height; r++) {
		const unsigned char *row = host + r * host_pitch + host_pitch - width;

		cr_assert_eq(memcmp(back + r * back_pitch, row, width), 0, "row %zu differs", r);
		cr_assert_eq(back[r * back_pitch + width], 0xee, "row %zu: padding written", r);
	}
	/* The device rows around the copy are untouched. */
	sim_assert_ok(cuMemcpyDtoH(back, a + dev_pitch, 16));
	for (int i = 0; i < 16; i++)
		cr_assert_eq(back[i], 0);
	sim_assert_ok(cuMemFree(a));
	sim_assert_ok(cuMemFree(b));
	free(host);
	free(back);
}

Test(sim_2d, memcpy2d_async_is_stream_ordered)
{
	size_t width = 64, height = 4, pitch;
	unsigned char host[64 * 4], back[64 * 4];
	struct sim_test_latch latch;
	CUDA_MEMCPY2D d;
	CUdeviceptr p;
	CUstream s;
	void *pinned;

	for (size_t i = 0; i < sizeof(host); i++)
		host[i] = (unsigned char)(255 - i);
	sim_assert_ok(cuMemAllocHost(&pinned, sizeof(host)));
	memcpy(pinned, host, sizeof(host));
	sim_assert_ok(cuMemAllocPitch(&p, &pitch, width, height, 16));
	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_test_hold(s, &latch);
	d = desc(CU_MEMORYTYPE_DEVICE, DEVP(p), pitch, CU_MEMORYTYPE_HOST, pinned, width, width,
		 height);
	sim_assert_ok(cuMemcpy2DAsync(&d, s));
	/* From pinned memory it is queued behind the latch, not done. */
	sim_assert_result(cuStreamQuery(s), CUDA_ERROR_NOT_READY);
	sim_test_release(&latch);
	sim_assert_ok(cuStreamSynchronize(s));
	d = desc(CU_MEMORYTYPE_HOST, back, width, CU_MEMORYTYPE_DEVICE, DEVP(p), pitch, width,
		 height);
	sim_assert_ok(cuMemcpy2DAsync(&d, s));
	sim_assert_ok(cuStreamSynchronize(s));
	cr_assert_eq(memcmp(back, host, sizeof(host)), 0);
	sim_assert_ok(cuStreamDestroy(s));
	sim_assert_ok(cuMemFree(p));
	sim_assert_ok(cuMemFreeHost(pinned));
}

Test(sim_2d, memcpy2d_errors)
{
	size_t pitch, max_pitch = (size_t)attribute(CU_DEVICE_ATTRIBUTE_MAX_PITCH);
	unsigned char host[1024];
	CUDA_MEMCPY2D d;
	CUdeviceptr p;

	sim_assert_ok(cuMemAllocPitch(&p, &pitch, 100, 4, 4));
	sim_assert_result(cuMemcpy2D(NULL), CUDA_ERROR_INVALID_VALUE);
	d = desc(CU_MEMORYTYPE_DEVICE, DEVP(p), pitch, CU_MEMORYTYPE_HOST, host, 100, 100, 4);
	sim_assert_ok(cuMemcpy2D(&d));
	/* A source row overruns its pitch. */
	d.srcXInBytes = 1;
	sim_assert_result(cuMemcpy2D(&d), CUDA_ERROR_INVALID_VALUE);
	d.srcXInBytes = 0;
	d.srcPitch = 99;
	sim_assert_result(cuMemcpy2D(&d), CUDA_ERROR_INVALID_VALUE);
	d.srcPitch = max_pitch + 1;
	sim_assert_result(cuMemcpy2D(&d), CUDA_ERROR_INVALID_VALUE);
	/* With one row the pitch is not used. */
	d.Height = 1;
	d.srcPitch = 0;
	sim_assert_ok(cuMemcpy2D(&d));
	/* Device memory that is host memory; arrays; a bad type; NULL. */
	d = desc(CU_MEMORYTYPE_DEVICE, host, 100, CU_MEMORYTYPE_HOST, host, 100, 100, 4);
	sim_assert_result(cuMemcpy2D(&d), CUDA_ERROR_INVALID_VALUE);
	d = desc(CU_MEMORYTYPE_ARRAY, DEVP(p), pitch, CU_MEMORYTYPE_HOST, host, 100, 100, 4);
	sim_assert_result(cuMemcpy2D(&d), CUDA_ERROR_NOT_SUPPORTED);
	d = desc((CUmemorytype)9, DEVP(p), pitch, CU_MEMORYTYPE_HOST, host, 100, 100, 4);
	sim_assert_result(cuMemcpy2D(&d), CUDA_ERROR_INVALID_VALUE);
	d = desc(CU_MEMORYTYPE_DEVICE, DEVP(p), pitch, CU_MEMORYTYPE_HOST, NULL, 100, 100, 4);
	sim_assert_result(cuMemcpy2D(&d), CUDA_ERROR_INVALID_VALUE);
	/* Rows past the allocation's end (2 MiB): not mapped. */
	d = desc(CU_MEMORYTYPE_DEVICE, DEVP(p), 1 << 20, CU_MEMORYTYPE_HOST, host, 100, 100, 3);
	sim_assert_result(cuMemcpy2D(&d), CUDA_ERROR_INVALID_VALUE);
	d = desc(CU_MEMORYTYPE_DEVICE, DEVP(p), pitch, CU_MEMORYTYPE_HOST, host, 100, 100, 1);
	d.dstY = SIZE_MAX / 1024;
	sim_assert_result(cuMemcpy2D(&d), CUDA_ERROR_INVALID_VALUE);
	/* Nothing to copy is a no-op, whatever the pointers. */
	d = desc(CU_MEMORYTYPE_DEVICE, NULL, 0, CU_MEMORYTYPE_HOST, NULL, 0, 0, 4);
	sim_assert_ok(cuMemcpy2D(&d));
	sim_assert_ok(cuMemcpy2DAsync(&d, NULL));
	sim_assert_ok(cuMemFree(p));
	/* Refused at enqueue time, so nothing stuck to the context. */
	sim_assert_ok(cuCtxSynchronize());
}

/*
 * gpu_measure.c - the numbers the simulator's model claims to model, read
 * off whatever driver GPUPAGER_CUDA_LIB names (gpu-check.sh's step 3).
 *
 *   gpu_measure [--info] [--quick] [--size-mib N] [--kv FILE]
 *
 * Prints one JSON object on stdout:
 *
 *   device   name, PCI bus id, NUMA node, memory, VMM granularity, compute
 *            capability, SM count, driver version;
 *   host     whether io_uring and userfaultfd are usable here (gVisor may
 *            refuse both: the library then falls back to pread and mmap);
 *   copy     pinned and pageable H2D and D2H bandwidth (GB/s = 1e9 B/s);
 *   vmm      microseconds per chunk for cuMemCreate, cuMemMap,
 *            cuMemSetAccess, cuMemUnmap and cuMemRelease at 2 MiB and 32 MiB;
 *   kernels  the checksum and fill-pattern kernels' rate over device memory;
 *   checks   every byte moved is checked (checksums, pattern), ok is their AND.
 *
 * --info stops after device and host.  --kv FILE also writes the
 * device's sizes as shell assignments for the script.  Built like the
 * tests, on the library's internals (gpu.h, devmem.h, kernels.h), and run
 * by test_gpu_check on the simulator.  Exit 0 when every check passed, 1
 * on a driver error or a failed check, 2 on bad arguments.
 */
#include <errno.h>
#include <jansson.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "devmem.h"
#include "gpu.h"
#include "gpupager.h"
#include "kernels.h"

#define MIB (1ull << 20)

struct opts {
	bool info_only;
	bool quick;
	uint64_t size;          /* device buffer for copies and kernels */
	const char *kv_path;
};

struct ctx {
	struct gp_gpu *gpu;
	struct gp_devmem *dm;
	struct gp_kernels *kernels;
	CUstream stream;
	json_t *checks;
	bool ok;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int fail(const char *what)
{
	fprintf(stderr, "gpu_measure: %s: %s\n", what, gp_last_error());
	return 1;
}

static int cu_fail(struct ctx *c, CUresult res, const char *call)
{
	const char *name = NULL;

	c->gpu->drv->cuGetErrorName(res, &name);
	fprintf(stderr, "gpu_measure: %s: %s (CUresult %d)\n", call, name ? name : "?", (int)res);
	return 1;
}

static void check(struct ctx *c, const char *name, bool ok)
{
	json_object_set_new(c->checks, name, json_boolean(ok));
	if (!ok) {
		fprintf(stderr, "gpu_measure: check failed: %s\n", name);
		c->ok = false;
	}
}

/* Whether io_uring and userfaultfd work in this kernel (or sandbox). */
static json_t *host_probe(void)
{
	struct io_uring ring;
	char uffd[128] = "available";
	char ring_s[128] = "available";
	int ret, fd;

	ret = io_uring_queue_init(4, &ring, 0);
	if (ret < 0)
		snprintf(ring_s, sizeof(ring_s), "refused: %s", strerror(-ret));
	else
		io_uring_queue_exit(&ring);
	fd = (int)syscall(SYS_userfaultfd, 0);
	if (fd < 0)
		snprintf(uffd, sizeof(uffd), "refused: %s", strerror(errno));
	else
		close(fd);
	return json_pack("{s:s, s:s, s:I}", "io_uring", ring_s, "userfaultfd", uffd, "cpus",
			 (json_int_t)sysconf(_SC_NPROCESSORS_ONLN));
}

static int attribute(struct ctx *c, CUdevice_attribute attr)
{
	int v = -1;

	if (c->gpu->drv->cuDeviceGetAttribute(&v, attr, c->gpu->device))
		return -1;
	return v;
}

static json_t *device_info(struct ctx *c)
{
	struct gp_gpu *g = c->gpu;
	uint64_t free_b = 0, total_b = 0;
	char cc[32];

	gp_gpu_mem_info(g, &free_b, &total_b);
	snprintf(cc, sizeof(cc), "%d.%d",
		 attribute(c, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
		 attribute(c, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR));
	return json_pack("{s:s, s:s, s:b, s:s, s:i, s:I, s:I, s:I, s:s, s:i, s:i, s:b, s:b}",
			 "name", g->name, "driver", g->drv->path ? g->drv->path : "",
			 "simulated", g->is_simulator, "pci_bus_id", g->pci_bus_id,
			 "numa_node", g->numa_node, "total_bytes", (json_int_t)total_b,
			 "free_bytes", (json_int_t)free_b, "granularity",
			 (json_int_t)g->granularity, "compute_capability", cc,
			 "sm_count", attribute(c, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT),
			 "driver_version", g->drv->version, "vmm", g->vmm_supported,
			 "managed", g->managed_supported);
}

/* GB/s of reps copies of len bytes in one direction, queued together: the median of rounds. */
static int time_copies(struct ctx *c, bool h2d, void *host, CUdeviceptr dev, uint64_t len,
		       unsigned reps, double *gbps)
{
	double r[5];
	const unsigned rounds = 5;
	int err;

	for (unsigned k = 0; k <= rounds; k++) {
		double t0 = now_s();

		for (unsigned i = 0; i < reps; i++) {
			err = h2d ? gp_copy_h2d(c->gpu, dev, host, len, c->stream) :
				    gp_copy_d2h(c->gpu, host, dev, len, c->stream);
			if (err)
				return fail(h2d ? "H2D copy" : "D2H copy");
		}
		if (gp_stream_sync(c->gpu, c->stream))
			return fail("cuStreamSynchronize");
		/* Round 0 is the warm-up. */
		if (k)
			r[k - 1] = (double)len * reps / (now_s() - t0) / 1e9;
	}
	*gbps = median(r, rounds);
	return 0;
}

static int measure_copies(struct ctx *c, CUdeviceptr dev, uint64_t size, json_t *out)
{
	uint64_t len = size < 32 * MIB ? size : 32 * MIB;
	unsigned reps = (unsigned)(size / len);
	void *pinned = NULL, *pageable = NULL, *back = NULL;
	double ph2d = 0, pd2h = 0, gh2d = 0, gd2h = 0, reg_s;
	uint64_t want;
	int err = 1;

	if (posix_memalign(&pinned, 4096, len) || posix_memalign(&pageable, 4096, len) ||
	    posix_memalign(&back, 4096, len)) {
		fprintf(stderr, "gpu_measure: out of host memory\n");
		goto out;
	}
	gp_pattern_fill(pinned, len, 42);
	memcpy(pageable, pinned, len);
	want = gp_checksum(pinned, len);
	reg_s = now_s();
	if (gp_gpu_host_register(c->gpu, pinned, len)) {
		err = fail("cuMemHostRegister");
		goto out;
	}
	reg_s = now_s() - reg_s;
	if (time_copies(c, true, pinned, dev, len, reps, &ph2d) ||
	    time_copies(c, false, pinned, dev, len, reps, &pd2h))
		goto unreg;
	check(c, "pinned_round_trip", gp_checksum(pinned, len) == want);
	if (time_copies(c, true, pageable, dev, len, reps, &gh2d) ||
	    time_copies(c, false, back, dev, len, reps, &gd2h))
		goto unreg;
	check(c, "pageable_round_trip", gp_checksum(back, len) == want);
	json_object_set_new(out, "copy", json_pack("{s:I, s:i, s:f, s:f, s:f, s:f, s:f}",
						   "copy_bytes", (json_int_t)len, "copies", reps,
						   "pinned_h2d_gbps", ph2d, "pinned_d2h_gbps", pd2h,
						   "pageable_h2d_gbps", gh2d,
						   "pageable_d2h_gbps", gd2h,
						   "host_register_gbps",
						   reg_s > 0 ? (double)len / reg_s / 1e9 : 0.0));
	fprintf(stderr, "copies     pinned H2D %.1f GB/s, D2H %.1f GB/s; pageable H2D %.1f, "
		"D2H %.1f GB/s (%u x %llu MiB)\n", ph2d, pd2h, gh2d, gd2h, reps,
		(unsigned long long)(len / MIB));
	err = 0;
unreg:
	if (gp_gpu_host_unregister(c->gpu, pinned))
		err = fail("cuMemHostUnregister");
out:
	free(pinned);
	free(pageable);
	free(back);
	return err;
}

/* Fill, verify by D2H and by the checksum kernel, then time both kernels. */
static int measure_kernels(struct ctx *c, CUdeviceptr dev, uint64_t size, CUdeviceptr result,
			   json_t *out)
{
	unsigned char *host = malloc(size);
	uint64_t want, got = 0, zero = 0;
	double t, ck_s, fill_s;
	unsigned n_ck = 0, n_fill = 0;
	int err = 1;

	if (!host) {
		fprintf(stderr, "gpu_measure: out of host memory\n");
		return 1;
	}
	gp_pattern_fill(host, size, 7);
	want = gp_checksum(host, size);
	if (gp_kernel_fill_pattern(c->kernels, c->stream, dev, size, 7) ||
	    gp_copy_h2d(c->gpu, result, &zero, 8, c->stream) ||
	    gp_kernel_checksum(c->kernels, c->stream, dev, size, 0, result) ||
	    gp_copy_d2h(c->gpu, &got, result, 8, c->stream) || gp_stream_sync(c->gpu, c->stream)) {
		err = fail("kernels");
		goto out;
	}
	check(c, "checksum_kernel", got == want);
	memset(host, 0, size);
	if (gp_copy_d2h(c->gpu, host, dev, size, c->stream) || gp_stream_sync(c->gpu, c->stream)) {
		err = fail("D2H copy");
		goto out;
	}
	check(c, "fill_kernel", gp_checksum(host, size) == want);

	/* At least 3 launches, and at least 0.2 s of them. */
	if (gp_copy_h2d(c->gpu, result, &zero, 8, c->stream) || gp_stream_sync(c->gpu, c->stream)) {
		err = fail("H2D copy");
		goto out;
	}
	t = now_s();
	do {
		if (gp_kernel_checksum(c->kernels, c->stream, dev, size, 0, result) ||
		    gp_stream_sync(c->gpu, c->stream)) {
			err = fail("checksum kernel");
			goto out;
		}
		n_ck++;
	} while (n_ck < 3 || now_s() - t < 0.2);
	ck_s = (now_s() - t) / n_ck;
	if (gp_copy_d2h(c->gpu, &got, result, 8, c->stream) || gp_stream_sync(c->gpu, c->stream)) {
		err = fail("D2H copy");
		goto out;
	}
	check(c, "checksum_kernel_repeated", got == want * n_ck);
	t = now_s();
	do {
		if (gp_kernel_fill_pattern(c->kernels, c->stream, dev, size, 7) ||
		    gp_stream_sync(c->gpu, c->stream)) {
			err = fail("fill kernel");
			goto out;
		}
		n_fill++;
	} while (n_fill < 3 || now_s() - t < 0.2);
	fill_s = (now_s() - t) / n_fill;
	json_object_set_new(out, "kernels", json_pack("{s:I, s:i, s:f, s:f, s:f}", "bytes",
						      (json_int_t)size, "launches", n_ck,
						      "checksum_gbps", (double)size / ck_s / 1e9,
						      "checksum_seconds", ck_s,
						      "fill_gbps", (double)size / fill_s / 1e9));
	fprintf(stderr, "kernels    checksum %.1f GB/s, fill %.1f GB/s over %llu MiB\n",
		(double)size / ck_s / 1e9, (double)size / fill_s / 1e9,
		(unsigned long long)(size / MIB));
	err = 0;
out:
	free(host);
	return err;
}

/* Microseconds per call of each VMM operation on n chunks of chunk bytes, over rounds. */
static int measure_vmm_size(struct ctx *c, uint64_t chunk, unsigned n, json_t *arr)
{
	struct gp_driver *drv = c->gpu->drv;
	CUmemAllocationProp prop = {
		.type = CU_MEM_ALLOCATION_TYPE_PINNED,
		.location = { .type = CU_MEM_LOCATION_TYPE_DEVICE, .id = c->gpu->device },
	};
	CUmemAccessDesc access = {
		.location = { .type = CU_MEM_LOCATION_TYPE_DEVICE, .id = c->gpu->device },
		.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE,
	};
	const unsigned rounds = 3;
	CUmemGenericAllocationHandle *h = calloc(n, sizeof(*h));
	double *create = calloc(n, sizeof(double)), *release = calloc(n, sizeof(double));
	double *map = calloc(n * rounds, sizeof(double)), *acc = calloc(n * rounds, sizeof(double));
	double *unmap = calloc(n * rounds, sizeof(double));
	double map_first;
	CUdeviceptr base = 0;
	unsigned made = 0;
	CUresult res;
	int err = 1;

	if (!h || !create || !release || !map || !acc || !unmap) {
		fprintf(stderr, "gpu_measure: out of host memory\n");
		goto out;
	}
	res = drv->cuMemAddressReserve(&base, chunk * n, chunk, 0, 0);
	if (res) {
		err = cu_fail(c, res, "cuMemAddressReserve");
		base = 0;
		goto out;
	}
	for (; made < n; made++) {
		double t = now_s();

		res = drv->cuMemCreate(&h[made], chunk, &prop, 0);
		create[made] = (now_s() - t) * 1e6;
		if (res) {
			err = cu_fail(c, res, "cuMemCreate");
			goto release;
		}
	}
	/* Each round maps every chunk into the next slot over, as eviction would. */
	for (unsigned r = 0; r < rounds; r++) {
		for (unsigned i = 0; i < n; i++) {
			CUdeviceptr p = base + chunk * ((i + r) % n);
			double t = now_s();

			res = drv->cuMemMap(p, chunk, 0, h[i], 0);
			map[r * n + i] = (now_s() - t) * 1e6;
			if (res) {
				err = cu_fail(c, res, "cuMemMap");
				goto release;
			}
			t = now_s();
			res = drv->cuMemSetAccess(p, chunk, &access, 1);
			acc[r * n + i] = (now_s() - t) * 1e6;
			if (res) {
				err = cu_fail(c, res, "cuMemSetAccess");
				drv->cuMemUnmap(p, chunk);
				goto release;
			}
		}
		for (unsigned i = 0; i < n; i++) {
			CUdeviceptr p = base + chunk * ((i + r) % n);
			double t = now_s();

			res = drv->cuMemUnmap(p, chunk);
			unmap[r * n + i] = (now_s() - t) * 1e6;
			if (res) {
				err = cu_fail(c, res, "cuMemUnmap");
				goto release;
			}
		}
	}
	err = 0;
release:
	while (made) {
		double t = now_s();

		made--;
		res = drv->cuMemRelease(h[made]);
		release[made] = (now_s() - t) * 1e6;
		if (res && !err)
			err = cu_fail(c, res, "cuMemRelease");
	}
	if (!err) {
		map_first = median(map, n);
		json_array_append_new(arr, json_pack("{s:I, s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:f}",
						     "chunk_bytes", (json_int_t)chunk, "chunks", n,
						     "rounds", rounds, "create_us", median(create, n),
						     "map_first_us", map_first,
						     "map_us", median(map, n * rounds),
						     "set_access_us", median(acc, n * rounds),
						     "unmap_us", median(unmap, n * rounds),
						     "release_us", median(release, n)));
		fprintf(stderr, "vmm %2llu MiB create %.1f us, map %.1f us, set access %.1f us, "
			"unmap %.1f us, release %.1f us per chunk (median of %u)\n",
			(unsigned long long)(chunk / MIB), median(create, n),
			median(map, n * rounds), median(acc, n * rounds),
			median(unmap, n * rounds), median(release, n), n * rounds);
	}
out:
	if (base)
		drv->cuMemAddressFree(base, chunk * n);
	free(h);
	free(create);
	free(release);
	free(map);
	free(acc);
	free(unmap);
	return err;
}

static int measure_vmm(struct ctx *c, const struct opts *o, json_t *out)
{
	json_t *arr = json_array();
	int err;

	json_object_set_new(out, "vmm", arr);
	if (!c->gpu->vmm_supported) {
		fprintf(stderr, "gpu_measure: the device has no VMM: map costs not measured\n");
		return 1;
	}
	err = measure_vmm_size(c, 2 * MIB, o->quick ? 32 : 128, arr);
	if (!err)
		err = measure_vmm_size(c, 32 * MIB, o->quick ? 8 : 32, arr);
	return err;
}

/* Copies and kernels on one mapped range of o->size bytes from the vmm backend. */
static int measure_range(struct ctx *c, const struct opts *o, json_t *out)
{
	uint64_t cs = gp_devmem_chunk_size(c->dm);
	uint64_t n = (o->size + cs - 1) / cs + 1;       /* + one chunk for the result word */
	struct gp_dev_chunk **chunks = calloc(n, sizeof(*chunks));
	struct gp_dev_range *range = NULL;
	uint64_t made = 0, mapped = 0;
	int err = 1;

	if (!chunks)
		return 1;
	if (gp_devmem_reserve(c->dm, n * cs, &range)) {
		err = fail("reserve");
		goto out;
	}
	for (; made < n; made++)
		if (gp_devmem_chunk_create(c->dm, &chunks[made])) {
			err = fail("chunk create");
			goto unmap;
		}
	for (; mapped < n; mapped++)
		if (gp_devmem_map(c->dm, range, mapped * cs, chunks[mapped], c->stream)) {
			err = fail("map");
			goto unmap;
		}
	err = measure_copies(c, range->base, (n - 1) * cs, out);
	if (!err)
		err = measure_kernels(c, range->base, (n - 1) * cs, range->base + (n - 1) * cs, out);
unmap:
	gp_stream_sync(c->gpu, c->stream);
	while (mapped)
		if (gp_devmem_unmap(c->dm, range, --mapped * cs, NULL, c->stream))
			err = fail("unmap");
	gp_devmem_free_range(c->dm, range);
out:
	while (made)
		if (gp_devmem_chunk_release(c->dm, chunks[--made]))
			err = fail("chunk release");
	free(chunks);
	return err;
}

/* A value for a shell's single quotes: anything unusual becomes '?'. */
static void kv_str(FILE *f, const char *key, const char *v)
{
	fprintf(f, "%s='", key);
	for (; *v; v++)
		fputc(strchr("'\\\n`$", *v) || (unsigned char)*v < 0x20 ? '?' : *v, f);
	fputs("'\n", f);
}

static int write_kv(const struct opts *o, struct ctx *c, json_t *root, json_t *dev)
{
	json_t *host = json_object_get(root, "host");
	FILE *f = fopen(o->kv_path, "w");

	if (!f) {
		fprintf(stderr, "gpu_measure: %s: %s\n", o->kv_path, strerror(errno));
		return 1;
	}
	fprintf(f, "dev_total_bytes=%lld\ndev_free_bytes=%lld\ndev_simulated=%d\n"
		"dev_numa_node=%d\ndev_driver_version=%d\n",
		(long long)json_integer_value(json_object_get(dev, "total_bytes")),
		(long long)json_integer_value(json_object_get(dev, "free_bytes")),
		c->gpu->is_simulator, c->gpu->numa_node, c->gpu->drv->version);
	kv_str(f, "dev_name", c->gpu->name);
	kv_str(f, "dev_pci", c->gpu->pci_bus_id);
	kv_str(f, "dev_cc", json_string_value(json_object_get(dev, "compute_capability")));
	kv_str(f, "dev_io_uring", json_string_value(json_object_get(host, "io_uring")));
	kv_str(f, "dev_userfaultfd", json_string_value(json_object_get(host, "userfaultfd")));
	return fclose(f) ? 1 : 0;
}

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: gpu_measure [--info] [--quick] [--size-mib N] [--kv FILE]\n");
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = { .size = 0 };
	struct ctx c = { .ok = true };
	json_t *root, *dev;
	double t0 = now_s();
	int err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--info")) {
			o.info_only = true;
		} else if (!strcmp(argv[i], "--quick")) {
			o.quick = true;
		} else if (!strcmp(argv[i], "--size-mib") && i + 1 < argc) {
			char *end;
			unsigned long long v = strtoull(argv[++i], &end, 10);

			if (*end || v < 2 || v > (1ull << 20))
				return usage(stderr, 2);
			o.size = v * MIB;
		} else if (!strcmp(argv[i], "--kv") && i + 1 < argc) {
			o.kv_path = argv[++i];
		} else if (!strcmp(argv[i], "--help")) {
			return usage(stdout, 0);
		} else {
			return usage(stderr, 2);
		}
	}
	if (!o.size)
		o.size = (o.quick ? 256 : 1024) * MIB;

	root = json_object();
	json_object_set_new(root, "host", host_probe());
	c.checks = json_object();
	err = gp_gpu_open(NULL, 0, &c.gpu);
	if (err) {
		fprintf(stderr, "gpu_measure: %s\n", gp_last_error());
		json_object_set_new(root, "error", json_string(gp_last_error()));
		json_dumpf(root, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(root);
		json_decref(c.checks);
		return 1;
	}
	dev = device_info(&c);
	json_object_set_new(root, "device", dev);
	fprintf(stderr, "device     %s, %llu MiB (%llu free), PCI %s, NUMA node %d, CUDA %d.%d\n",
		c.gpu->name, (unsigned long long)(json_integer_value(json_object_get(dev,
		"total_bytes")) >> 20), (unsigned long long)(json_integer_value(json_object_get(dev,
		"free_bytes")) >> 20), c.gpu->pci_bus_id, c.gpu->numa_node,
		c.gpu->drv->version / 1000, c.gpu->drv->version % 1000 / 10);
	if (o.kv_path && write_kv(&o, &c, root, dev))
		c.ok = false;
	if (o.info_only)
		goto done;

	if (gp_devmem_open(c.gpu, GP_BACKEND_VMM, 2 * MIB, &c.dm) ||
	    gp_stream_create(c.gpu, &c.stream) || gp_kernels_load(c.gpu, &c.kernels)) {
		fail("setup");
		c.ok = false;
		goto close;
	}
	if (measure_range(&c, &o, root))
		c.ok = false;
	if (measure_vmm(&c, &o, root))
		c.ok = false;
close:
	if (c.kernels)
		gp_kernels_unload(c.kernels);
	if (c.stream)
		gp_stream_destroy(c.gpu, c.stream);
	if (c.dm)
		gp_devmem_close(c.dm);
done:
	gp_gpu_close(c.gpu);
	json_object_set_new(root, "checks", c.checks);
	json_object_set_new(root, "seconds", json_real(now_s() - t0));
	json_object_set_new(root, "ok", json_boolean(c.ok));
	json_dumpf(root, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(root);
	return c.ok ? 0 : 1;
}

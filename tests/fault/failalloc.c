/*
 * failalloc.c - LD_PRELOAD library for fault sweeps: the Nth heap
 * allocation made after the library is initialised fails (NULL, ENOMEM).
 *
 *   FAILALLOC_N=N          the allocation to fail, counting from 1; unset or
 *                          0: none fails, only count
 *   GPUPAGER_FAULT_LOG=F   "alloc fired N" is appended to F when it fires,
 *                          and "alloc calls allocations COUNT" at exit
 *
 * Every allocating entry point counts: malloc, calloc, realloc (a realloc
 * to size 0 is a free), reallocarray, posix_memalign, aligned_alloc,
 * memalign, valloc, pvalloc; glibc's own strdup, asprintf, fopen... call
 * malloc, so they count too.  The real functions come from dlsym
 * (RTLD_NEXT), which also works under AddressSanitizer when ASan is told
 * not to insist on coming first (ASAN_OPTIONS=verify_asan_link_order=0):
 * its allocator and leak checker then see every block.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);

static atomic_int armed;
static _Atomic uint64_t n_allocs;
static uint64_t fail_at;
static const char *log_path;

/* dlsym may allocate while the real functions are being looked up. */
static _Alignas(16) char boot[4096];
static size_t boot_used;
static __thread int resolving __attribute__((tls_model("initial-exec")));

static int in_boot(const void *p)
{
	return (const char *)p >= boot && (const char *)p < boot + sizeof(boot);
}

static void *boot_alloc(size_t size)
{
	size_t at = (boot_used + 15) & ~(size_t)15;

	if (at + size > sizeof(boot))
		return NULL;
	boot_used = at + size;
	return boot + at;
}

static void log_line(const char *what, uint64_t n)
{
	char line[96];
	int fd, len;

	if (!log_path)
		return;
	len = snprintf(line, sizeof(line), "alloc %s %llu\n", what, (unsigned long long)n);
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)len) != len)
		len = -1;
	close(fd);
}

static void resolve(void)
{
	if (real_malloc || resolving)
		return;
	resolving = 1;
	real_calloc = dlsym(RTLD_NEXT, "calloc");
	real_realloc = dlsym(RTLD_NEXT, "realloc");
	real_free = dlsym(RTLD_NEXT, "free");
	real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
	real_memalign = dlsym(RTLD_NEXT, "memalign");
	real_malloc = dlsym(RTLD_NEXT, "malloc");
	resolving = 0;
}

__attribute__((constructor)) static void failalloc_init(void)
{
	const char *n = getenv("FAILALLOC_N");

	resolve();
	log_path = getenv("GPUPAGER_FAULT_LOG");
	if (log_path && !*log_path)
		log_path = NULL;
	fail_at = n ? strtoull(n, NULL, 10) : 0;
	atomic_store(&armed, 1);
}

__attribute__((destructor)) static void failalloc_fini(void)
{
	atomic_store(&armed, 0);
	log_line("calls allocations", atomic_load(&n_allocs));
}

/* Whether this allocation is the one to fail. */
static int fail_now(void)
{
	uint64_t n;

	if (!atomic_load_explicit(&armed, memory_order_relaxed))
		return 0;
	n = atomic_fetch_add(&n_allocs, 1) + 1;
	if (n != fail_at)
		return 0;
	log_line("fired", n);
	errno = ENOMEM;
	return 1;
}

void *malloc(size_t size)
{
	resolve();
	if (!real_malloc)
		return boot_alloc(size);
	return fail_now() ? NULL : real_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	resolve();
	if (!real_calloc) {
		void *p;

		if (size && n > SIZE_MAX / size)
			return NULL;
		p = boot_alloc(n * size);
		return p; /* boot is zeroed and never reused */
	}
	return fail_now() ? NULL : real_calloc(n, size);
}

void *realloc(void *ptr, size_t size)
{
	resolve();
	if (in_boot(ptr)) {
		void *p = malloc(size);

		if (p)
			memcpy(p, ptr, size < (size_t)(boot + sizeof(boot) - (char *)ptr) ?
					size : (size_t)(boot + sizeof(boot) - (char *)ptr));
		return p;
	}
	if (ptr && size == 0)
		return real_realloc(ptr, size);
	return fail_now() ? NULL : real_realloc(ptr, size);
}

void *reallocarray(void *ptr, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(ptr, n * size);
}

void free(void *ptr)
{
	if (!ptr || in_boot(ptr))
		return;
	resolve();
	if (real_free)
		real_free(ptr);
}

int posix_memalign(void **out, size_t align, size_t size)
{
	resolve();
	if (fail_now())
		return ENOMEM;
	return real_posix_memalign(out, align, size);
}

void *aligned_alloc(size_t align, size_t size)
{
	resolve();
	return fail_now() ? NULL : real_aligned_alloc(align, size);
}

void *memalign(size_t align, size_t size)
{
	resolve();
	return fail_now() ? NULL : real_memalign(align, size);
}

void *valloc(size_t size)
{
	return memalign((size_t)sysconf(_SC_PAGESIZE), size);
}

void *pvalloc(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return memalign(page, (size + page - 1) & ~(page - 1));
}

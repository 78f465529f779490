/*
 * shim_fork.c - fork() in a process that uses the device: the parent has
 * buffers resident (more than a small budget holds), forks a child that
 * does host work only and exits 0 through exit() (atexit handlers and
 * destructors run in it), waits for it, then goes on using the device:
 * allocates more, and checks every buffer, old and new, on the device.
 * Exit status 0 when the child exited 0 and every checksum matches, 4 when
 * a checksum differs, 5 when the child did not exit 0 (errors as in
 * shim_app).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim_app_sum.h"
#include "shim_cuda.h"

#define N_BUFS 8
#define BUF_SIZE (2u << 20)
#define CHILD_WORDS (4u << 20)

static CUfunction checksum;
static CUdeviceptr bufs[2 * N_BUFS], results;
static uint64_t sums[2 * N_BUFS];

static void allocate(int from, int to)
{
	for (int i = from; i < to; i++) {
		CU(cuMemAlloc_v2, &bufs[i], BUF_SIZE);
		sums[i] = shim_cuda_upload(bufs[i], BUF_SIZE, (uint64_t)i);
	}
}

/* Checksum buffers [0, n) on the device with tag; how many differ. */
static int bad_buffers(int n, uint64_t tag)
{
	uint64_t got[2 * 2 * N_BUFS];
	int bad = 0;

	for (int i = 0; i < n; i++)
		shim_cuda_check("cuLaunchKernel",
				shim_cuda_launch(checksum, NULL,
						 (uint64_t[]){ bufs[i], BUF_SIZE, tag,
							       results + 16 * (uint64_t)i }, 4, 0));
	CU(cuStreamSynchronize, NULL);
	CU(cuMemcpyDtoH_v2, got, results, 16 * (size_t)n);
	for (int i = 0; i < n; i++)
		bad += got[2 * i] != tag || got[2 * i + 1] != sums[i];
	return bad;
}

/*
 * Host work: the checksum of a pattern in fresh memory; sum: what the parent
 * found.  The child of a threaded process leaves with _exit(): exit() would
 * run the parent's atexit handlers, and under LeakSanitizer report what only
 * the parent's other threads (the driver's, the pager's) referenced, their
 * stacks not being in the child.
 */
static void child(uint64_t sum)
{
	uint64_t *words = malloc(CHILD_WORDS * 8);
	int ok;

	for (uint64_t i = 0; words && i < CHILD_WORDS; i++)
		words[i] = shim_pattern(7, i);
	ok = words && shim_sum(words, CHILD_WORDS * 8) == sum;
	free(words);
	_exit(ok ? 0 : 1);
}

int main(void)
{
	uint64_t *words = malloc(CHILD_WORDS * 8);
	int status, bad, after;
	pid_t pid;

	if (shim_cuda_resolve("link"))
		return 2;
	shim_cuda_start();
	CU(cuModuleGetFunction, &checksum, shim_cuda_load_kernels("shim_app_kernels.so"),
	   "checksum");
	CU(cuMemAlloc_v2, &results, 16 * 2 * N_BUFS);
	allocate(0, N_BUFS);
	for (uint64_t i = 0; words && i < CHILD_WORDS; i++)
		words[i] = shim_pattern(7, i);
	if (!words)
		return 1;
	bad = bad_buffers(N_BUFS, 1);
	printf("before fork: %d of %d buffers wrong\n", bad, N_BUFS);
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("shim_fork: fork");
		return 1;
	}
	if (pid == 0)
		child(shim_sum(words, CHILD_WORDS * 8));
	if (waitpid(pid, &status, 0) != pid) {
		perror("shim_fork: waitpid");
		return 1;
	}
	printf("child: %s %d\n", WIFEXITED(status) ? "exit" : "signal",
	       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	allocate(N_BUFS, 2 * N_BUFS);
	after = bad_buffers(2 * N_BUFS, 2);
	printf("after fork: %d of %d buffers wrong\n", after, 2 * N_BUFS);
	for (int i = 0; i < 2 * N_BUFS; i++)
		CU(cuMemFree_v2, bufs[i]);
	CU(cuMemFree_v2, results);
	free(words);
	return !WIFEXITED(status) || WEXITSTATUS(status) ? 5 : bad || after ? 4 : 0;
}

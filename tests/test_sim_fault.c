/* test_sim_fault.c - simulated device: fault injection from GPUPAGER_SIM_FAIL. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "common/sim_test.h"

#define G SIM_TEST_GRANULE

static void init_with(const char *spec)
{
	setenv("GPUPAGER_SIM_FAIL", spec, 1);
	sim_test_init();
}

static CUresult create(void)
{
	CUmemAllocationProp prop = sim_test_prop();
	CUmemGenericAllocationHandle handle;
	CUresult err = cuMemCreate(&handle, G, &prop, 0);

	if (!err)
		sim_assert_ok(cuMemRelease(handle));
	return err;
}

Test(sim_fault, nth_call_fails_with_out_of_memory)
{
	init_with("cuMemCreate:3");
	sim_assert_ok(create());
	sim_assert_ok(create());
	sim_assert_result(create(), CUDA_ERROR_OUT_OF_MEMORY);
	sim_assert_ok(create());
}

Test(sim_fault, from_nth_call_on)
{
	CUmemGenericAllocationHandle handle;
	CUmemAllocationProp prop = sim_test_prop();
	CUdeviceptr va;

	init_with("cuMemMap:2+");
	sim_assert_ok(cuMemAddressReserve(&va, 4 * G, 0, 0, 0));
	sim_assert_ok(cuMemCreate(&handle, G, &prop, 0));
	sim_assert_ok(cuMemMap(va, G, 0, handle, 0));
	/* Not an allocation function: CUDA_ERROR_UNKNOWN by default. */
	sim_assert_result(cuMemMap(va + G, G, 0, handle, 0), CUDA_ERROR_UNKNOWN);
	sim_assert_result(cuMemMap(va + 2 * G, G, 0, handle, 0), CUDA_ERROR_UNKNOWN);
	/* The failed calls did nothing: the range is still free. */
	sim_assert_result(cuMemUnmap(va + G, G), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemUnmap(va, G));
	sim_assert_ok(cuMemRelease(handle));
	sim_assert_ok(cuMemAddressFree(va, 4 * G));
}

Test(sim_fault, error_name_and_several_rules)
{
	unsigned char host[16] = { 0 };
	CUdeviceptr dev;

	init_with("cuMemAlloc:1=CUDA_ERROR_INVALID_VALUE,"
		  "cuMemcpyHtoD:2=CUDA_ERROR_ILLEGAL_ADDRESS");
	sim_assert_result(cuMemAlloc(&dev, 16), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemAlloc(&dev, 16));
	sim_assert_ok(cuMemcpyHtoD(dev, host, sizeof(host)));
	sim_assert_result(cuMemcpyHtoD(dev, host, sizeof(host)), CUDA_ERROR_ILLEGAL_ADDRESS);
	sim_assert_ok(cuMemcpyHtoD(dev, host, sizeof(host)));
	sim_assert_ok(cuMemFree(dev));
}

#define CALLS 200

/* Fill pattern with '.' for each call that worked and 'x' for each that failed. */
static void fail_pattern(char *pattern)
{
	unsigned char host[16] = { 0 };
	CUcontext ctx;
	CUdeviceptr dev;

	memset(pattern, '!', CALLS);
	setenv("GPUPAGER_SIM_FAIL", "cuMemcpyHtoDAsync:30%", 1);
	if (cuInit(0) || cuDevicePrimaryCtxRetain(&ctx, 0) || cuCtxSetCurrent(ctx) ||
	    cuMemAlloc(&dev, sizeof(host)))
		return;
	for (int i = 0; i < CALLS; i++) {
		CUresult err = cuMemcpyHtoDAsync(dev, host, sizeof(host), NULL);

		pattern[i] = err == CUDA_SUCCESS ? '.' : err == CUDA_ERROR_UNKNOWN ? 'x' : '!';
	}
	/* Other functions are untouched. */
	if (cuMemcpyHtoD(dev, host, sizeof(host)) || cuMemFree(dev))
		pattern[0] = '!';
}

Test(sim_fault, probability_is_partial_and_reproducible)
{
	char mine[CALLS], theirs[CALLS];
	int fds[2], status, failures = 0;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	/* A second process, forked before the device exists, draws the same pattern. */
	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		fail_pattern(theirs);
		_exit(write(fds[1], theirs, CALLS) == CALLS ? 0 : 1);
	}
	close(fds[1]);
	while (got < CALLS && (n = read(fds[0], theirs + got, CALLS - got)) > 0)
		got += (size_t)n;
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(got, CALLS);
	fail_pattern(mine);
	cr_assert_null(memchr(mine, '!', CALLS), "unexpected result: %.*s", CALLS, mine);
	for (int i = 0; i < CALLS; i++)
		failures += mine[i] == 'x';
	cr_assert(failures > CALLS / 10 && failures < CALLS / 2, "%d of %d calls failed",
		  failures, CALLS);
	cr_assert_eq(memcmp(mine, theirs, CALLS), 0, "patterns differ:\n%.*s\n%.*s", CALLS,
		     mine, CALLS, theirs);
}

Test(sim_fault, every_call_at_one_hundred_percent)
{
	init_with("cuMemCreate:100%");
	sim_assert_result(create(), CUDA_ERROR_OUT_OF_MEMORY);
	sim_assert_result(create(), CUDA_ERROR_OUT_OF_MEMORY);
}

/*
 * cuInit with GPUPAGER_SIM_FAIL=spec in a child: whether it returned
 * INVALID_VALUE and left calls uninitialised, and what it wrote to stderr.
 */
static bool init_refuses(const char *spec, char *err_text, size_t len)
{
	int fds[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int count;

		dup2(fds[1], STDERR_FILENO);
		setenv("GPUPAGER_SIM_FAIL", spec, 1);
		_exit(cuInit(0) == CUDA_ERROR_INVALID_VALUE &&
			      cuDeviceGetCount(&count) == CUDA_ERROR_NOT_INITIALIZED ?
			      0 :
			      1);
	}
	close(fds[1]);
	while (got < len - 1 && (n = read(fds[0], err_text + got, len - 1 - got)) > 0)
		got += (size_t)n;
	err_text[got] = '\0';
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

Test(sim_fault, bad_specs_fail_cuinit_with_one_line)
{
	static const char *const bad[] = {
		"cuMemCreate",           "cuMemCreate:",          "cuMemCreate:0",
		"cuMemCreate:-1",        "cuMemCreate:x",         "cuMemCreate:3++",
		"cuMemCreate:0%",        "cuMemCreate:101%",      "cuMemCreate:5%%",
		"cuNoSuchThing:1",       "cuMemAlloc_v2:1",       "cuMemCreate:1=CUDA_ERROR_NOPE",
		"cuMemCreate:1=",        "cuMemCreate:1=CUDA_SUCCESS",
		"cuMemCreate:1,,cuMemMap:1", ":1",               "cuMemCreate:1,",
		"cuGetProcAddress:1",
	};
	char text[1024];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert(init_refuses(bad[i], text, sizeof(text)), "'%s' accepted", bad[i]);
		cr_assert(strstr(text, "GPUPAGER_SIM_FAIL"), "'%s': message '%s' does not name "
			  "the variable", bad[i], text);
		cr_assert(strstr(text, "accepted:"), "'%s': no accepted forms in '%s'", bad[i],
			  text);
		cr_assert_eq(strchr(text, '\n'), text + strlen(text) - 1,
			     "'%s': not exactly one line: '%s'", bad[i], text);
	}
}

Test(sim_fault, good_spec_is_not_refused)
{
	char text[1024];

	cr_assert_not(init_refuses("cuMemCreate:2,cuMemMap:3+=CUDA_ERROR_UNKNOWN,"
				   "cuLaunchKernel:12.5%",
				   text, sizeof(text)),
		      "a valid spec was refused: %s", text);
	cr_assert_str_empty(text);
}

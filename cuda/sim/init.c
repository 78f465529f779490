/* init.c - cuInit, the driver version, and the checks every entry point makes first. */
#include <stdarg.h>
#include <stdio.h>

#include "error.h"
#include "log.h"
#include "sim.h"

/* Fixed so that probabilistic fault injection is reproducible. */
#define SIM_FAULT_SEED 0x5eed5eedull

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CUresult init_result = CUDA_ERROR_NOT_INITIALIZED;
/* Written once by init (release), read by every call (acquire). */
static int init_ok;
static const struct gp_config *config;
static int sticky_error;

static CUresult setup(void)
{
	CUresult err;

	if (gp_config_get(&config)) {
		gp_log_error("simulated device: %s", gp_last_error());
		return CUDA_ERROR_INVALID_VALUE;
	}
	err = sim_fault_setup(config->sim_fail, SIM_FAULT_SEED);
	if (err)
		return err;
	err = sim_devices_setup(config);
	if (err)
		return err;
	err = sim_physmem_init();
	if (err)
		return err;
	err = sim_vspace_init();
	if (err)
		return err;
	for (int d = 0; d < sim_device_count(); d++)
		gp_log_info("simulated device %d (no GPU): %llu MiB of memory, %.1f GB/s "
			    "host-to-device", d, (unsigned long long)(sim_device_capacity(d) >> 20),
			    config->sim_h2d_gbps);
	return CUDA_SUCCESS;
}

static void init_once_fn(void)
{
	init_result = setup();
	if (init_result == CUDA_SUCCESS)
		__atomic_store_n(&init_ok, 1, __ATOMIC_RELEASE);
}

CUresult cuInit(unsigned int flags)
{
	if (flags)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuInit: flags must be 0, got %#x",
				 flags);
	pthread_once(&init_once, init_once_fn);
	if (init_result)
		return init_result;
	return sim_fault_check("cuInit");
}

CUresult cuDriverGetVersion(int *version)
{
	if (!version)
		return CUDA_ERROR_INVALID_VALUE;
	*version = SIM_DRIVER_VERSION;
	return CUDA_SUCCESS;
}

const struct gp_config *sim_config(void)
{
	return config;
}

CUresult sim_enter(const char *func, enum sim_need need)
{
	CUresult err;

	if (!__atomic_load_n(&init_ok, __ATOMIC_ACQUIRE))
		return CUDA_ERROR_NOT_INITIALIZED;
	err = sim_fault_check(func);
	if (err)
		return err;
	if (need == SIM_NEED_CTX) {
		err = sim_context_check();
		if (err)
			return sim_error(err, "%s: no current context on this thread", func);
		return sim_sticky_error();
	}
	return CUDA_SUCCESS;
}

CUresult sim_error(CUresult code, const char *fmt, ...)
{
	char message[512];
	va_list ap;

	if (!gp_log_enabled(GP_LOG_DEBUG))
		return code;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	gp_log_debug("simulated device: %s", message);
	return code;
}

void sim_set_sticky_error(CUresult code)
{
	int expected = CUDA_SUCCESS;

	/* The first error is the one reported. */
	__atomic_compare_exchange_n(&sticky_error, &expected, (int)code, false, __ATOMIC_ACQ_REL,
				    __ATOMIC_ACQUIRE);
}

CUresult sim_sticky_error(void)
{
	return (CUresult)__atomic_load_n(&sticky_error, __ATOMIC_ACQUIRE);
}

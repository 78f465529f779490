/*
 * stream_priority.c - stream priorities on a device that has none
 * (CU_DEVICE_ATTRIBUTE_STREAM_PRIORITIES_SUPPORTED is 0): the range is
 * [0, 0] (cuCtxGetStreamPriorityRange, context.c) and, as the driver
 * documents, a priority outside it is clamped into it, so every stream
 * has priority 0.
 */
#include "sim.h"

CUresult cuStreamCreateWithPriority(CUstream *phstream, unsigned int flags, int priority)
{
	CUresult err = sim_enter("cuStreamCreateWithPriority", SIM_NEED_CTX);

	if (err)
		return err;
	(void)priority; /* clamped to the only one there is */
	return cuStreamCreate(phstream, flags);
}

/*
 * errors.c - cuGetErrorName / cuGetErrorString over every CUresult of
 * CUDA 13's cuda.h.  The descriptions are short and our own.
 */
#include <string.h>

#include "sim.h"

struct error_desc {
	CUresult code;
	const char *name;
	const char *text;
};

#define ERR(code, text) { code, #code, text }

static const struct error_desc errors[] = {
	ERR(CUDA_SUCCESS, "no error"),
	ERR(CUDA_ERROR_INVALID_VALUE, "invalid argument"),
	ERR(CUDA_ERROR_OUT_OF_MEMORY, "out of memory"),
	ERR(CUDA_ERROR_NOT_INITIALIZED, "cuInit has not been called or failed"),
	ERR(CUDA_ERROR_DEINITIALIZED, "deinitialized"),
	ERR(CUDA_ERROR_PROFILER_DISABLED, "profiler disabled"),
	ERR(CUDA_ERROR_PROFILER_NOT_INITIALIZED, "profiler not initialized"),
	ERR(CUDA_ERROR_PROFILER_ALREADY_STARTED, "profiler already started"),
	ERR(CUDA_ERROR_PROFILER_ALREADY_STOPPED, "profiler already stopped"),
	ERR(CUDA_ERROR_STUB_LIBRARY, "stub library"),
	ERR(CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER, "call requires newer driver"),
	ERR(CUDA_ERROR_DEVICE_UNAVAILABLE, "device unavailable"),
	ERR(CUDA_ERROR_NO_DEVICE, "no CUDA-capable device"),
	ERR(CUDA_ERROR_INVALID_DEVICE, "invalid device"),
	ERR(CUDA_ERROR_DEVICE_NOT_LICENSED, "device not licensed"),
	ERR(CUDA_ERROR_INVALID_IMAGE, "invalid kernel image"),
	ERR(CUDA_ERROR_INVALID_CONTEXT, "invalid or no current context"),
	ERR(CUDA_ERROR_CONTEXT_ALREADY_CURRENT, "context already current"),
	ERR(CUDA_ERROR_MAP_FAILED, "map failed"),
	ERR(CUDA_ERROR_UNMAP_FAILED, "unmap failed"),
	ERR(CUDA_ERROR_ARRAY_IS_MAPPED, "array is mapped"),
	ERR(CUDA_ERROR_ALREADY_MAPPED, "already mapped"),
	ERR(CUDA_ERROR_NO_BINARY_FOR_GPU, "no binary for gpu"),
	ERR(CUDA_ERROR_ALREADY_ACQUIRED, "already acquired"),
	ERR(CUDA_ERROR_NOT_MAPPED, "not mapped"),
	ERR(CUDA_ERROR_NOT_MAPPED_AS_ARRAY, "not mapped as array"),
	ERR(CUDA_ERROR_NOT_MAPPED_AS_POINTER, "not mapped as pointer"),
	ERR(CUDA_ERROR_ECC_UNCORRECTABLE, "ecc uncorrectable"),
	ERR(CUDA_ERROR_UNSUPPORTED_LIMIT, "unsupported limit"),
	ERR(CUDA_ERROR_CONTEXT_ALREADY_IN_USE, "context already in use"),
	ERR(CUDA_ERROR_PEER_ACCESS_UNSUPPORTED, "peer access unsupported"),
	ERR(CUDA_ERROR_INVALID_PTX, "invalid ptx"),
	ERR(CUDA_ERROR_INVALID_GRAPHICS_CONTEXT, "invalid graphics context"),
	ERR(CUDA_ERROR_NVLINK_UNCORRECTABLE, "nvlink uncorrectable"),
	ERR(CUDA_ERROR_JIT_COMPILER_NOT_FOUND, "jit compiler not found"),
	ERR(CUDA_ERROR_UNSUPPORTED_PTX_VERSION, "unsupported ptx version"),
	ERR(CUDA_ERROR_JIT_COMPILATION_DISABLED, "jit compilation disabled"),
	ERR(CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY, "unsupported exec affinity"),
	ERR(CUDA_ERROR_UNSUPPORTED_DEVSIDE_SYNC, "unsupported devside sync"),
	ERR(CUDA_ERROR_CONTAINED, "contained"),
	ERR(CUDA_ERROR_INVALID_SOURCE, "invalid source"),
	ERR(CUDA_ERROR_FILE_NOT_FOUND, "file not found"),
	ERR(CUDA_ERROR_SHARED_OBJECT_SYMBOL_NOT_FOUND, "shared object symbol not found"),
	ERR(CUDA_ERROR_SHARED_OBJECT_INIT_FAILED, "shared object init failed"),
	ERR(CUDA_ERROR_OPERATING_SYSTEM, "operating system"),
	ERR(CUDA_ERROR_INVALID_HANDLE, "invalid resource handle"),
	ERR(CUDA_ERROR_ILLEGAL_STATE, "illegal state"),
	ERR(CUDA_ERROR_LOSSY_QUERY, "lossy query"),
	ERR(CUDA_ERROR_NOT_FOUND, "named symbol not found"),
	ERR(CUDA_ERROR_NOT_READY, "operation not yet complete"),
	ERR(CUDA_ERROR_ILLEGAL_ADDRESS, "illegal memory access"),
	ERR(CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, "launch out of resources"),
	ERR(CUDA_ERROR_LAUNCH_TIMEOUT, "launch timeout"),
	ERR(CUDA_ERROR_LAUNCH_INCOMPATIBLE_TEXTURING, "launch incompatible texturing"),
	ERR(CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED, "peer access already enabled"),
	ERR(CUDA_ERROR_PEER_ACCESS_NOT_ENABLED, "peer access not enabled"),
	ERR(CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE, "primary context active"),
	ERR(CUDA_ERROR_CONTEXT_IS_DESTROYED, "context is destroyed"),
	ERR(CUDA_ERROR_ASSERT, "assert"),
	ERR(CUDA_ERROR_TOO_MANY_PEERS, "too many peers"),
	ERR(CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED, "host memory already registered"),
	ERR(CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED, "host memory not registered"),
	ERR(CUDA_ERROR_HARDWARE_STACK_ERROR, "hardware stack error"),
	ERR(CUDA_ERROR_ILLEGAL_INSTRUCTION, "illegal instruction"),
	ERR(CUDA_ERROR_MISALIGNED_ADDRESS, "misaligned address"),
	ERR(CUDA_ERROR_INVALID_ADDRESS_SPACE, "invalid address space"),
	ERR(CUDA_ERROR_INVALID_PC, "invalid pc"),
	ERR(CUDA_ERROR_LAUNCH_FAILED, "launch failed"),
	ERR(CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE, "cooperative launch too large"),
	ERR(CUDA_ERROR_TENSOR_MEMORY_LEAK, "tensor memory leak"),
	ERR(CUDA_ERROR_NOT_PERMITTED, "not permitted"),
	ERR(CUDA_ERROR_NOT_SUPPORTED, "operation not supported"),
	ERR(CUDA_ERROR_SYSTEM_NOT_READY, "system not ready"),
	ERR(CUDA_ERROR_SYSTEM_DRIVER_MISMATCH, "system driver mismatch"),
	ERR(CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE, "compat not supported on device"),
	ERR(CUDA_ERROR_MPS_CONNECTION_FAILED, "mps connection failed"),
	ERR(CUDA_ERROR_MPS_RPC_FAILURE, "mps rpc failure"),
	ERR(CUDA_ERROR_MPS_SERVER_NOT_READY, "mps server not ready"),
	ERR(CUDA_ERROR_MPS_MAX_CLIENTS_REACHED, "mps max clients reached"),
	ERR(CUDA_ERROR_MPS_MAX_CONNECTIONS_REACHED, "mps max connections reached"),
	ERR(CUDA_ERROR_MPS_CLIENT_TERMINATED, "mps client terminated"),
	ERR(CUDA_ERROR_CDP_NOT_SUPPORTED, "cdp not supported"),
	ERR(CUDA_ERROR_CDP_VERSION_MISMATCH, "cdp version mismatch"),
	ERR(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, "stream capture unsupported"),
	ERR(CUDA_ERROR_STREAM_CAPTURE_INVALIDATED, "stream capture invalidated"),
	ERR(CUDA_ERROR_STREAM_CAPTURE_MERGE, "stream capture merge"),
	ERR(CUDA_ERROR_STREAM_CAPTURE_UNMATCHED, "stream capture unmatched"),
	ERR(CUDA_ERROR_STREAM_CAPTURE_UNJOINED, "stream capture unjoined"),
	ERR(CUDA_ERROR_STREAM_CAPTURE_ISOLATION, "stream capture isolation"),
	ERR(CUDA_ERROR_STREAM_CAPTURE_IMPLICIT, "stream capture implicit"),
	ERR(CUDA_ERROR_CAPTURED_EVENT, "captured event"),
	ERR(CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD, "stream capture wrong thread"),
	ERR(CUDA_ERROR_TIMEOUT, "timeout"),
	ERR(CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE, "graph exec update failure"),
	ERR(CUDA_ERROR_EXTERNAL_DEVICE, "external device"),
	ERR(CUDA_ERROR_INVALID_CLUSTER_SIZE, "invalid cluster size"),
	ERR(CUDA_ERROR_FUNCTION_NOT_LOADED, "function not loaded"),
	ERR(CUDA_ERROR_INVALID_RESOURCE_TYPE, "invalid resource type"),
	ERR(CUDA_ERROR_INVALID_RESOURCE_CONFIGURATION, "invalid resource configuration"),
	ERR(CUDA_ERROR_KEY_ROTATION, "key rotation"),
	ERR(CUDA_ERROR_UNKNOWN, "unknown error"),
};

static const struct error_desc *find(CUresult code)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].code == code)
			return &errors[i];
	return NULL;
}

/* Like the real driver, these work before cuInit. */
CUresult cuGetErrorName(CUresult error, const char **pstr)
{
	const struct error_desc *d = find(error);

	if (!pstr)
		return CUDA_ERROR_INVALID_VALUE;
	*pstr = d ? d->name : NULL;
	return d ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult cuGetErrorString(CUresult error, const char **pstr)
{
	const struct error_desc *d = find(error);

	if (!pstr)
		return CUDA_ERROR_INVALID_VALUE;
	*pstr = d ? d->text : NULL;
	return d ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

bool sim_error_by_name(const char *name, CUresult *code)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		if (strcmp(errors[i].name, name) == 0) {
			*code = errors[i].code;
			return true;
		}
	}
	return false;
}

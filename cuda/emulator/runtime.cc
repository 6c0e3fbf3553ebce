// The CUDA runtime API calls the package makes, implemented for the emulated device with the
// real error semantics: the same signatures as the toolkit's cuda_runtime_api.h, so that the
// sources that call them are compiled unchanged, and no CUDA library is linked.
#include <cuda_runtime_api.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>

#include "cuda/emulator/device.h"

using namespace sa::emu;

namespace {

constexpr char kDeviceName[] = "Emulated CUDA device (sm_90 on the CPU; test build)";

cudaError_t result(cudaError_t e) {
  setLastError(e);
  return e;
}

bool validDevice(int device) { return device == 0; }

thread_local int tDevice = 0;

// A copy's pointers must be where its kind says: device pointers inside one allocation.
bool copyFits(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  switch (kind) {
    case cudaMemcpyHostToDevice: return isDeviceRange(dst, bytes) && !isDeviceRange(src, 1);
    case cudaMemcpyDeviceToHost: return isDeviceRange(src, bytes) && !isDeviceRange(dst, 1);
    case cudaMemcpyDeviceToDevice: return isDeviceRange(src, bytes) && isDeviceRange(dst, bytes);
    case cudaMemcpyHostToHost: return !isDeviceRange(src, 1) && !isDeviceRange(dst, 1);
    case cudaMemcpyDefault: {
      const bool d = isDeviceRange(dst, 1), s = isDeviceRange(src, 1);
      return (!d || isDeviceRange(dst, bytes)) && (!s || isDeviceRange(src, bytes));
    }
  }
  return false;
}

struct Event {
  bool recorded = false;
  std::atomic<bool> completed{false};
  std::chrono::steady_clock::time_point at;
};

}  // namespace

extern "C" {

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return result(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (!validDevice(device)) return result(cudaErrorInvalidDevice);
  tDevice = device;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  if (!device) return result(cudaErrorInvalidValue);
  *device = tDevice;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (!prop) return result(cudaErrorInvalidValue);
  if (!validDevice(device)) return result(cudaErrorInvalidDevice);
  std::memset(prop, 0, sizeof(*prop));
  std::strncpy(prop->name, kDeviceName, sizeof(prop->name) - 1);
  prop->totalGlobalMem = deviceCapacity();
  prop->sharedMemPerBlock = 48 * 1024;
  prop->sharedMemPerBlockOptin = 227 * 1024;
  prop->sharedMemPerMultiprocessor = 228 * 1024;
  prop->regsPerBlock = 65536;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = 1024, prop->maxThreadsDim[1] = 1024, prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 0x7fffffff, prop->maxGridSize[1] = 65535, prop->maxGridSize[2] = 65535;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = 1;
  prop->maxThreadsPerMultiProcessor = 2048;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (!value) return result(cudaErrorInvalidValue);
  if (!validDevice(device)) return result(cudaErrorInvalidDevice);
  switch (attr) {
    case cudaDevAttrComputeCapabilityMajor: *value = 9; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMinor: *value = 0; return cudaSuccess;
    case cudaDevAttrMultiProcessorCount: *value = 1; return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = 48 * 1024; return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = 227 * 1024; return cudaSuccess;
    case cudaDevAttrMaxThreadsPerBlock: *value = 1024; return cudaSuccess;
    case cudaDevAttrWarpSize: *value = 32; return cudaSuccess;
    default: return result(cudaErrorInvalidValue);
  }
}

cudaError_t cudaDeviceSynchronize() {
  deviceSynchronize();
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* version) {
  if (!version) return result(cudaErrorInvalidValue);
  *version = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* version) { return cudaRuntimeGetVersion(version); }

// ---- Memory ------------------------------------------------------------------------------

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  if (!ptr) return result(cudaErrorInvalidValue);
  *ptr = deviceAllocate(bytes);
  return *ptr ? cudaSuccess : result(cudaErrorMemoryAllocation);
}

// As on a GPU, freeing waits for the work already queued on the device.
cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  deviceSynchronize();
  return deviceFree(ptr) ? cudaSuccess : result(cudaErrorInvalidValue);
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  if (bytes == 0) return cudaSuccess;
  if (!dst || !src || !copyFits(dst, src, bytes, kind)) return result(cudaErrorInvalidValue);
  streamEnqueue(streamOf(stream), [dst, src, bytes] { std::memcpy(dst, src, bytes); });
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  const cudaError_t e = cudaMemcpyAsync(dst, src, bytes, kind, nullptr);
  if (e == cudaSuccess) streamSynchronize(defaultStream());
  return e;
}

cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream) {
  if (bytes == 0) return cudaSuccess;
  if (!isDeviceRange(dst, bytes)) return result(cudaErrorInvalidValue);
  streamEnqueue(streamOf(stream), [dst, value, bytes] { std::memset(dst, value, bytes); });
  return cudaSuccess;
}

cudaError_t cudaMemset(void* dst, int value, size_t bytes) {
  const cudaError_t e = cudaMemsetAsync(dst, value, bytes, nullptr);
  if (e == cudaSuccess) streamSynchronize(defaultStream());
  return e;
}

cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
  if (!free || !total) return result(cudaErrorInvalidValue);
  *total = deviceCapacity();
  *free = *total - deviceUsed();
  return cudaSuccess;
}

// ---- Streams and events ------------------------------------------------------------------

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  if (!stream || (flags & ~unsigned(cudaStreamNonBlocking))) return result(cudaErrorInvalidValue);
  *stream = reinterpret_cast<cudaStream_t>(streamCreate());
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  if (!stream) return result(cudaErrorInvalidResourceHandle);
  streamDestroy(streamOf(stream));
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  streamSynchronize(streamOf(stream));
  return cudaSuccess;
}

cudaError_t cudaStreamQuery(cudaStream_t stream) {
  return streamIdle(streamOf(stream)) ? cudaSuccess : cudaErrorNotReady;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) {
  if (!event) return result(cudaErrorInvalidValue);
  *event = reinterpret_cast<cudaEvent_t>(new Event());
  return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int) { return cudaEventCreate(event); }

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  if (!event) return result(cudaErrorInvalidResourceHandle);
  delete reinterpret_cast<Event*>(event);
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!event) return result(cudaErrorInvalidResourceHandle);
  auto* e = reinterpret_cast<Event*>(event);
  e->recorded = true;
  e->completed = false;
  streamEnqueue(streamOf(stream), [e] {
    e->at = std::chrono::steady_clock::now();
    e->completed = true;
  });
  return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!ms) return result(cudaErrorInvalidValue);
  if (!start || !end) return result(cudaErrorInvalidResourceHandle);
  auto *a = reinterpret_cast<Event*>(start), *b = reinterpret_cast<Event*>(end);
  if (!a->recorded || !b->recorded) return result(cudaErrorInvalidResourceHandle);
  if (!a->completed || !b->completed) return result(cudaErrorNotReady);
  *ms = std::chrono::duration<float, std::milli>(b->at - a->at).count();
  return cudaSuccess;
}

// ---- Kernels and errors ------------------------------------------------------------------

cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return result(cudaErrorInvalidValue);
  return result(setMaxDynamicShared(func, value));
}

cudaError_t cudaGetLastError() { return takeLastError(); }

cudaError_t cudaPeekAtLastError() { return peekLastError(); }

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidDeviceFunction: return "cudaErrorInvalidDeviceFunction";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    default: return "cudaErrorUnknown";
  }
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidDeviceFunction: return "invalid device function";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    default: return "unknown error";
  }
}

}  // extern "C"

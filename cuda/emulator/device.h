// The host side of the emulated device: its memory, its streams and its kernel launches.
// One device; its memory is host memory (so AddressSanitizer sees every access), its streams
// are host threads that run their work in order, and everything that touches device memory
// (kernels, copies, memsets) runs under one lock, as if on a single multiprocessor.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace sa::emu {

// ---- Memory ------------------------------------------------------------------------------
// cudaMalloc within the device's capacity (SPARSE_ATTENTION_EMU_MEMORY, bytes with an optional
// k/m/g suffix; default 8 GiB); nullptr when it does not fit.
void* deviceAllocate(size_t bytes);
bool deviceFree(void* p);  // false: not a device allocation
size_t deviceCapacity();
size_t deviceUsed();
// Whether [p, p + bytes) lies inside one device allocation.
bool isDeviceRange(const void* p, size_t bytes);

// ---- Streams -----------------------------------------------------------------------------
// A stream's work items run on the stream's own thread, in order, holding the device lock.
struct Stream;
Stream* streamCreate();
Stream* defaultStream();
Stream* streamOf(cudaStream_t s);  // nullptr (the legacy default stream) is defaultStream()
void streamEnqueue(Stream* s, std::function<void()> work);
void streamSynchronize(Stream* s);
bool streamIdle(Stream* s);
void streamDestroy(Stream* s);  // after its work has run
void deviceSynchronize();

// ---- Kernels -----------------------------------------------------------------------------
struct Launch {
  std::string kernel;  // full name, e.g. sa::{anonymous}::denseKernel<sa::DType::Float32>
  const void* function;
  dim3 grid, block;
  size_t sharedBytes;
  std::function<void()> body;  // one CUDA thread's run of the kernel with its arguments
};
// Checks the configuration as a GPU would (returning the error a launch reports) and queues
// the grid on the stream.
cudaError_t launch(Launch launch, cudaStream_t stream);

// cudaFuncSetAttribute(MaxDynamicSharedMemorySize) as recorded for `function`.
cudaError_t setMaxDynamicShared(const void* function, int bytes);

// The error the calling host thread's last runtime call left (cudaGetLastError).
void setLastError(cudaError_t error);
cudaError_t takeLastError();
cudaError_t peekLastError();

}  // namespace sa::emu

// CUDA devices, streams and pooled device memory for the kernel library.
// Declared without CUDA headers so that the addon glue can include it in every build; the
// definitions live in cuda/device.cu and exist only when the addon is built with CUDA.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "kernels/caching_pool.h"

namespace sa::cuda {

using Stream = void*;  // a cudaStream_t

struct DeviceInfo {
  std::string name;
  size_t totalMemory;
};

int deviceCount();  // 0 when there is no usable GPU or driver
DeviceInfo deviceInfo(int device);
std::string runtimeVersion();

// Block from the device's caching pool; freed (returned to the pool) when the last owner drops
// it, so an op in flight keeps its inputs alive even if their tensors are disposed meanwhile.
using Block = std::shared_ptr<void>;
Block allocate(int device, size_t bytes);
// Device memory of queued work: its owner keeps it until the stream has been synchronised (the
// pool would otherwise hand the memory to another stream too early). For the ops, the runner
// (native/addon/op_worker.h) is that owner.
using CudaScratch = std::vector<Block>;
PoolStats poolStats(int device);
void emptyCache(int device);

// The calling thread's stream on `device` (each worker thread gets its own non-blocking
// stream, so concurrent requests overlap); makes `device` current.
Stream threadStream(int device);
// Waits on the calling (worker) thread and throws KernelError(CudaError) on an error.
void synchronize(Stream stream, const char* op);

// Device time between two points of a stream, from a pair of CUDA events: construct before the
// work is queued, stop() after it, elapsedMs() once the stream has been synchronised.
class StreamTimer {
 public:
  explicit StreamTimer(Stream stream);
  ~StreamTimer();
  StreamTimer(const StreamTimer&) = delete;
  StreamTimer& operator=(const StreamTimer&) = delete;
  void stop();
  float elapsedMs() const;

 private:
  Stream stream_;
  void* start_ = nullptr;  // cudaEvent_t
  void* end_ = nullptr;
};

enum class CopyKind { HostToDevice, DeviceToHost, DeviceToDevice };
void copyAsync(void* dst, const void* src, size_t bytes, CopyKind kind, Stream stream);

}  // namespace sa::cuda

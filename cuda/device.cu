#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "cuda/check.h"
#include "kernels/byte_count.h"
#include "kernels/cuda_device.h"

namespace sa::cuda {

namespace {

class CudaRawAllocator : public RawAllocator {
 public:
  explicit CudaRawAllocator(int device) : device_(device) {}
  void* allocate(size_t bytes) override {
    cudaSetDevice(device_);
    void* ptr = nullptr;
    if (cudaMalloc(&ptr, bytes) != cudaSuccess) {
      cudaGetLastError();
      return nullptr;
    }
    return ptr;
  }
  void release(void* ptr) override {
    cudaSetDevice(device_);
    cudaFree(ptr);
  }

 private:
  int device_;
};

// SPARSE_ATTENTION_CUDA_MEMORY_LIMIT caps each device pool (bytes; suffixes k, m, g, t). A
// value that is not a byte count is reported once and ignored rather than failing every
// allocation of a running service.
uint64_t memoryLimitFromEnv() {
  const char* text = std::getenv("SPARSE_ATTENTION_CUDA_MEMORY_LIMIT");
  if (!text || !*text) return 0;
  uint64_t bytes = 0;
  if (!parseByteCount(text, &bytes)) {
    std::fprintf(stderr, "sparse-attention: ignoring SPARSE_ATTENTION_CUDA_MEMORY_LIMIT=%s (expected bytes, e.g. 512m or 2g)\n", text);
    return 0;
  }
  return bytes;
}

struct DevicePools {
  std::vector<std::unique_ptr<CudaRawAllocator>> raw;
  std::vector<std::unique_ptr<CachingPool>> pools;
};

DevicePools& devicePools() {
  static DevicePools* pools = [] {
    auto* p = new DevicePools();  // lives for the process: blocks may be released at exit
    int n = deviceCount();
    uint64_t limit = memoryLimitFromEnv();
    for (int d = 0; d < n; ++d) {
      p->raw.push_back(std::make_unique<CudaRawAllocator>(d));
      p->pools.push_back(std::make_unique<CachingPool>(p->raw.back().get(), limit));
    }
    return p;
  }();
  return *pools;
}

CachingPool& poolFor(int device) {
  auto& pools = devicePools().pools;
  if (device < 0 || device >= int(pools.size()))
    throw KernelError(ErrorCode::NoDevice, "no CUDA device cuda:" + std::to_string(device));
  return *pools[device];
}

}  // namespace

int deviceCount() {
  static int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();
      return 0;
    }
    return n;
  }();
  return count;
}

DeviceInfo deviceInfo(int device) {
  cudaDeviceProp prop{};
  SA_CUDA_TRY(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  return {prop.name, prop.totalGlobalMem};
}

std::string runtimeVersion() {
  int v = CUDART_VERSION;
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

Block allocate(int device, size_t bytes) {
  CachingPool& pool = poolFor(device);
  void* ptr = pool.allocate(bytes);
  return Block(ptr, [&pool](void* p) { pool.release(p); });
}

PoolStats poolStats(int device) { return poolFor(device).stats(); }

void emptyCache(int device) { poolFor(device).emptyCache(); }

Stream threadStream(int device) {
  thread_local std::vector<cudaStream_t> streams;
  SA_CUDA_TRY(cudaSetDevice(device), "cudaSetDevice");
  if (int(streams.size()) <= device) streams.resize(device + 1, nullptr);
  if (!streams[device]) SA_CUDA_TRY(cudaStreamCreateWithFlags(&streams[device], cudaStreamNonBlocking), "cudaStreamCreate");
  return streams[device];
}

void synchronize(Stream stream, const char* op) {
  SA_CUDA_TRY(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), op);
  SA_CUDA_TRY(cudaGetLastError(), op);
}

StreamTimer::StreamTimer(Stream stream) : stream_(stream) {
  cudaEvent_t start = nullptr, end = nullptr;
  cudaError_t err = cudaEventCreate(&start);
  if (err == cudaSuccess) err = cudaEventCreate(&end);
  if (err == cudaSuccess) err = cudaEventRecord(start, static_cast<cudaStream_t>(stream));
  if (err != cudaSuccess) {
    if (start) cudaEventDestroy(start);
    if (end) cudaEventDestroy(end);
    throwCudaError(err, "StreamTimer", __FILE__, __LINE__);
  }
  start_ = start;
  end_ = end;
}

StreamTimer::~StreamTimer() {
  if (start_) cudaEventDestroy(static_cast<cudaEvent_t>(start_));
  if (end_) cudaEventDestroy(static_cast<cudaEvent_t>(end_));
}

void StreamTimer::stop() {
  SA_CUDA_TRY(cudaEventRecord(static_cast<cudaEvent_t>(end_), static_cast<cudaStream_t>(stream_)), "cudaEventRecord");
}

float StreamTimer::elapsedMs() const {
  float ms = 0.0f;
  SA_CUDA_TRY(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start_), static_cast<cudaEvent_t>(end_)),
              "cudaEventElapsedTime");
  return ms;
}

void copyAsync(void* dst, const void* src, size_t bytes, CopyKind kind, Stream stream) {
  cudaMemcpyKind k = kind == CopyKind::HostToDevice   ? cudaMemcpyHostToDevice
                     : kind == CopyKind::DeviceToHost ? cudaMemcpyDeviceToHost
                                                      : cudaMemcpyDeviceToDevice;
  if (bytes == 0) return;
  SA_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, k, static_cast<cudaStream_t>(stream)), "cudaMemcpyAsync");
}

}  // namespace sa::cuda

// Self-test of the emulated CUDA device (cuda/emulator/): built with g++ against the emulator
// alone, by test/cuda-emulator.test.ts. `emulator_selftest` runs the checks that must pass;
// `emulator_selftest <fault>` runs one kernel that must make the emulator abort, and the test
// reads the report it prints.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cuda/dynamic_shared.cuh"
#include "cuda/launch.cuh"

namespace {

int failures = 0, checks = 0;

void check(bool ok, const std::string& what) {
  ++checks;
  if (!ok) {
    ++failures;
    std::printf("FAIL %s\n", what.c_str());
  }
}

// Each thread writes its index to shared memory; after the barrier each reads its neighbour's.
__global__ void neighbourKernel(int* out) {
  SA_DYNAMIC_SHARED(int, values);
  values[threadIdx.x] = int(threadIdx.x) + 100 * int(blockIdx.x);
  __syncthreads();
  out[blockIdx.x * blockDim.x + threadIdx.x] = values[(threadIdx.x + 1) % blockDim.x];
}

// The same without the barrier: its result depends on the order the threads run in.
__global__ void racyNeighbourKernel(int* out) {
  SA_DYNAMIC_SHARED(int, values);
  values[threadIdx.x] = int(threadIdx.x);
  out[threadIdx.x] = values[(threadIdx.x + 1) % blockDim.x];
}

__global__ void reductionsKernel(int* out) {
  const int t = int(threadIdx.x);
  out[0] = __syncthreads_count(t % 3 == 0);
  out[1] = __syncthreads_or(t == 17);
  out[2] = __syncthreads_and(t < 1000);
  out[3] = __syncthreads_and(t != 5);
}

__global__ void shuffleKernel(float* out) {
  const int lane = int(threadIdx.x) % 32;
  const float x = float(threadIdx.x);
  float sum = x;
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  float* row = out + threadIdx.x * 6;
  row[0] = sum;
  row[1] = __shfl_sync(0xffffffffu, x, 3);
  row[2] = __shfl_up_sync(0xffffffffu, x, 2);
  row[3] = __shfl_down_sync(0xffffffffu, x, 5);
  row[4] = __shfl_xor_sync(0xffffffffu, x, 1, 4);
  row[5] = float(__ballot_sync(0xffffffffu, lane % 2 == 0) == 0x55555555u) +
           2.0f * float(__any_sync(0xffffffffu, lane == 31)) + 4.0f * float(__all_sync(0xffffffffu, lane < 31));
}

__global__ void atomicsKernel(int* counter) { atomicAdd(counter, 1); }

__global__ void grid2dKernel(int* out) {
  out[(blockIdx.y * gridDim.x + blockIdx.x) * blockDim.x + threadIdx.x] =
      int(blockIdx.x) + 10 * int(blockIdx.y) + 100 * int(threadIdx.x);
}

// ---- Kernels that must fault --------------------------------------------------------------

__global__ void earlyExitBarrierKernel(int* out) {
  if (threadIdx.x == 7) return;
  __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void divergentShuffleKernel(float* out) {
  float x = float(threadIdx.x);
  if (threadIdx.x % 32 < 16) x = __shfl_xor_sync(0xffffffffu, x, 1);
  out[threadIdx.x] = x;
}

__global__ void sharedOverflowKernel(float* out) {
  SA_DYNAMIC_SHARED(float, values);
  values[threadIdx.x + 1] = 1.0f;  // one past the end for the last thread
  __syncthreads();
  out[threadIdx.x] = values[threadIdx.x];
}

__global__ void globalOverflowKernel(float* out) { out[threadIdx.x + 1] = 1.0f; }

__global__ void poisonedReadKernel(float* out) {
  SA_DYNAMIC_SHARED(float, values);
  out[threadIdx.x] = values[threadIdx.x];  // never written: the poison
}

template <typename T>
T* deviceArray(size_t n) {
  void* p = nullptr;
  if (cudaMalloc(&p, n * sizeof(T)) != cudaSuccess) std::abort();
  cudaMemset(p, 0, n * sizeof(T));
  return static_cast<T*>(p);
}

template <typename T>
std::vector<T> hostCopy(const T* d, size_t n) {
  std::vector<T> h(n);
  cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost);
  return h;
}

int runFault(const std::string& fault) {
  if (fault == "early-exit-barrier") {
    int* out = deviceArray<int>(64);
    sa::cuda::launchKernel<earlyExitBarrierKernel>(1, 64, 0, nullptr, out);
  } else if (fault == "divergent-shuffle") {
    float* out = deviceArray<float>(64);
    sa::cuda::launchKernel<divergentShuffleKernel>(1, 64, 0, nullptr, out);
  } else if (fault == "shared-overflow") {
    float* out = deviceArray<float>(32);
    sa::cuda::launchKernel<sharedOverflowKernel>(1, 32, 32 * sizeof(float), nullptr, out);
  } else if (fault == "global-overflow") {
    float* out = deviceArray<float>(32);
    sa::cuda::launchKernel<globalOverflowKernel>(1, 32, 0, nullptr, out);
  } else if (fault == "racy-schedule") {
    int* out = deviceArray<int>(128);
    sa::cuda::launchKernel<racyNeighbourKernel>(1, 128, 128 * sizeof(int), nullptr, out);
  } else {
    std::printf("unknown fault %s\n", fault.c_str());
    return 2;
  }
  cudaDeviceSynchronize();
  std::printf("no fault\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) return runFault(argv[1]);

  int count = -1;
  check(cudaGetDeviceCount(&count) == cudaSuccess && count == 1, "one emulated device");
  cudaDeviceProp prop;
  check(cudaGetDeviceProperties(&prop, 0) == cudaSuccess && std::strstr(prop.name, "Emulated") != nullptr,
        "the device's name says it is emulated");

  {
    const int blocks = 3, threads = 96;
    int* out = deviceArray<int>(blocks * threads);
    sa::cuda::launchKernel<neighbourKernel>(blocks, threads, threads * sizeof(int), nullptr, out);
    check(cudaGetLastError() == cudaSuccess, "launch succeeds");
    auto h = hostCopy(out, blocks * threads);
    bool ok = true;
    for (int b = 0; b < blocks; ++b)
      for (int t = 0; t < threads; ++t) ok &= h[b * threads + t] == (t + 1) % threads + 100 * b;
    check(ok, "__syncthreads orders shared-memory writes before reads");
    cudaFree(out);
  }
  {
    int* out = deviceArray<int>(4);
    sa::cuda::launchKernel<reductionsKernel>(1, 64, 0, nullptr, out);
    auto h = hostCopy(out, 4);
    check(h[0] == 22 && h[1] == 1 && h[2] == 1 && h[3] == 0, "__syncthreads_count/or/and");
    cudaFree(out);
  }
  {
    float* out = deviceArray<float>(64 * 6);
    sa::cuda::launchKernel<shuffleKernel>(1, 64, 0, nullptr, out);
    auto h = hostCopy(out, 64 * 6);
    bool ok = true;
    for (int t = 0; t < 64; ++t) {
      const int lane = t % 32, base = t - lane;
      const float* r = &h[t * 6];
      const float warpSum = float(32 * base + 31 * 32 / 2);
      ok &= r[0] == warpSum && r[1] == float(base + 3) && r[2] == float(lane >= 2 ? t - 2 : t) &&
            r[3] == float(lane + 5 < 32 ? t + 5 : t) && r[4] == float(t ^ 1) && r[5] == 1.0f + 2.0f;
    }
    check(ok, "shuffles (index, xor, up, down, width 4) and votes");
    cudaFree(out);
  }
  {
    int* counter = deviceArray<int>(1);
    sa::cuda::launchKernel<atomicsKernel>(5, 128, 0, nullptr, counter);
    check(hostCopy(counter, 1)[0] == 640, "atomicAdd from every thread of every block");
    cudaFree(counter);
  }
  {
    int* out = deviceArray<int>(4 * 3 * 32);
    sa::cuda::launchKernel<grid2dKernel>(dim3(4, 3), 32, 0, nullptr, out);
    auto h = hostCopy(out, 4 * 3 * 32);
    bool ok = true;
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 4; ++x)
        for (int t = 0; t < 32; ++t) ok &= h[(y * 4 + x) * 32 + t] == x + 10 * y + 100 * t;
    check(ok, "blockIdx and gridDim of a 2-D grid");
    cudaFree(out);
  }
  {
    float* out = deviceArray<float>(32);
    sa::cuda::launchKernel<poisonedReadKernel>(1, 32, 32 * sizeof(float), nullptr, out);
    auto h = hostCopy(out, 32);
    bool ok = true;
    for (float v : h) ok &= std::isnan(v);
    check(ok, "shared memory starts as NaN (the poison), not as zeros");
    cudaFree(out);
  }
  {
    int* out = deviceArray<int>(32);
    sa::cuda::launchKernel<grid2dKernel>(dim3(1, 65536), 32, 0, nullptr, out);
    check(cudaGetLastError() == cudaErrorInvalidConfiguration, "gridDim.y > 65535 fails to launch");
    sa::cuda::launchKernel<grid2dKernel>(1, 1025, 0, nullptr, out);
    check(cudaGetLastError() == cudaErrorInvalidConfiguration, "more than 1024 threads fail to launch");
    sa::cuda::launchKernel<neighbourKernel>(1, 32, 48 * 1024 + 4, nullptr, out);
    check(cudaGetLastError() == cudaErrorInvalidValue, "over 48 KiB of dynamic shared memory needs the attribute");
    check(cudaFuncSetAttribute(neighbourKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 227 * 1024 + 1) ==
              cudaErrorInvalidValue,
          "the attribute stops at sm_90's maximum");
    cudaGetLastError();
    check(cudaFuncSetAttribute(neighbourKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024) == cudaSuccess,
          "the attribute raises the limit");
    sa::cuda::launchKernel<neighbourKernel>(1, 32, 64 * 1024, nullptr, out);
    check(cudaGetLastError() == cudaSuccess, "a launch within the raised limit succeeds");
    cudaDeviceSynchronize();
    cudaFree(out);
  }
  {
    void* p = nullptr;
    check(cudaMalloc(&p, size_t(1) << 50) == cudaErrorMemoryAllocation && cudaGetLastError() == cudaErrorMemoryAllocation &&
              cudaGetLastError() == cudaSuccess,
          "an allocation beyond the device's memory fails with cudaErrorMemoryAllocation");
    float host[4] = {};
    check(cudaMemcpy(host, host + 2, 8, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue,
          "a copy whose source is not device memory is rejected");
    cudaGetLastError();
  }
  {
    cudaStream_t s1, s2;
    cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking);
    cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking);
    const int n = 1 << 16;
    std::vector<int> host(n, 7), back(n, 0);
    int* d = deviceArray<int>(n);
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    cudaEventRecord(a, s1);
    cudaMemcpyAsync(d, host.data(), n * sizeof(int), cudaMemcpyHostToDevice, s1);
    sa::cuda::launchKernel<atomicsKernel>(2, 64, 0, s1, d);
    cudaMemcpyAsync(back.data(), d, n * sizeof(int), cudaMemcpyDeviceToHost, s1);
    cudaEventRecord(b, s1);
    cudaStreamSynchronize(s1);
    float ms = -1;
    check(cudaEventElapsedTime(&ms, a, b) == cudaSuccess && ms >= 0, "events time a stream's work");
    check(back[0] == 7 + 128 && back[1] == 7 && back[n - 1] == 7, "a stream runs its work in order");
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    cudaStreamDestroy(s1);
    cudaStreamDestroy(s2);
    cudaFree(d);
  }

  std::printf("%d passed, %d failed\n", checks - failures, failures);
  return failures ? 1 : 0;
}

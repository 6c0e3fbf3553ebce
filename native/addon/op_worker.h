// Schedules one op: the main thread converts arguments into a task that captures plain C++
// values only; the task runs on a libuv worker thread (CPU kernels fan out to the kernel
// library's pool; CUDA work is queued on the thread's stream), and the returned Promise
// settles on the main thread.
//
// The runner owns the device memory of an op's queued work: the blocks its task captures (its
// tensors, the output among them) and the scratch it allocates through the context. After the
// task returns or throws, the runner synchronises the op's stream once, and only then releases
// that memory to the pool, which does not know streams: memory released earlier could be handed
// to another request while this op's kernels still use it. Then it reports the result, so an
// error (OUT_OF_MEMORY after kernels were queued, say) settles the Promise only once the
// device is done with the op. Ops never synchronise themselves.
#pragma once

#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "kernels/cpu_context.h"
#include "kernels/cuda_device.h"

namespace sa::addon {

struct ExecContext {
  int device;            // -1: CPU
  CpuContext cpu;        // CPU: pool and cancellation flag
  cuda::Stream stream;   // device: the worker thread's stream on `device`
  // Device: blocks the op's queued work uses, released by the runner after its synchronisation
  // (pass it to the kernel entry points that take a CudaScratch, or use deviceScratch()).
  cuda::CudaScratch* scratch;
  // Device: an optional check the runner calls after its synchronisation when the task returned
  // normally, to read what the kernels reported through host memory (it may throw KernelError).
  // What it captures lives until then, so it may own the host side of the op's copies.
  std::function<void()>* afterSync;
};

using Task = std::function<void(const ExecContext&)>;

// `bytes` of device memory on ctx's device that stays valid until the op's stream is done.
inline void* deviceScratch(const ExecContext& ctx, size_t bytes) {
  ctx.scratch->push_back(cuda::allocate(ctx.device, bytes));
  return ctx.scratch->back().get();
}

// The device side of one op run: the calling thread's stream, and the wait for all of it.
class DeviceRun {
 public:
  virtual ~DeviceRun() = default;
  virtual cuda::Stream stream() = 0;
  // Waits for everything queued on the stream; throws KernelError on a device error.
  // taskFailed: the op's task threw (its device time, if timed, is not recorded).
  virtual void synchronize(bool taskFailed) = 0;
};
// Starts a run on `device` for `op`, on the calling (worker) thread.
using DeviceRuns = std::function<std::unique_ptr<DeviceRun>(int device, const char* op)>;

// keepAlive: the JS objects that own the memory the task reads or writes (TensorArg::owner).
// cancel: the op's CancelToken argument (undefined or null for none; anything else is a TypeError).
// Device ops (device >= 0) run on the CUDA devices; without CUDA support they reject NO_DEVICE.
Napi::Value scheduleOp(Napi::Env env, const char* op, int device, const std::vector<Napi::Value>& keepAlive,
                       const Napi::Value& cancel, Task task);

// Same on the devices that `runs` provides (the test hooks' simulated device).
Napi::Value scheduleOpOn(Napi::Env env, const char* op, int device, DeviceRuns runs,
                         const std::vector<Napi::Value>& keepAlive, const Napi::Value& cancel, Task task);

std::shared_ptr<std::atomic<bool>> cancelFlag(const Napi::Value& token);

}  // namespace sa::addon

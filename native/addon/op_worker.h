// Schedules one op: the main thread converts arguments into a task that captures plain C++
// values only; the task runs on a libuv worker thread (CPU kernels fan out to the kernel
// library's pool; CUDA work is queued on the thread's stream and waited for there), and the
// returned Promise settles on the main thread.
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
  cuda::Stream stream;   // CUDA: the worker thread's stream on `device`
};

using Task = std::function<void(const ExecContext&)>;

// keepAlive: the JS objects that own the memory the task reads or writes (TensorArg::owner).
// cancel: the op's CancelToken argument (undefined or null for none; anything else is a TypeError).
Napi::Value scheduleOp(Napi::Env env, const char* op, int device, const std::vector<Napi::Value>& keepAlive,
                       const Napi::Value& cancel, Task task);

std::shared_ptr<std::atomic<bool>> cancelFlag(const Napi::Value& token);

}  // namespace sa::addon

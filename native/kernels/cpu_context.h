// How CPU kernels get their parallelism and cancellation.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

namespace sa {

class ThreadPool;

// Passed to every CPU kernel. `cancelled` (may be null) is polled between tasks: a kernel
// whose context is cancelled stops at the next task boundary and throws ErrorCode::Aborted.
struct CpuContext {
  ThreadPool* pool;
  const std::atomic<bool>* cancelled;
};

// Runs fn(task) for task in [0, nTasks) on the pool's workers; returns when all started tasks
// have finished. Throws KernelError(Aborted) if the context was cancelled, or
// rethrows the first exception a task threw.
void parallelFor(const CpuContext& ctx, int64_t nTasks, const std::function<void(int64_t)>& fn);

// The process-wide pool used by the addon: one worker per core, below normal priority.
ThreadPool& defaultThreadPool();

}  // namespace sa

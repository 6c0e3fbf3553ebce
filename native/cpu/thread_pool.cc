#include "cpu/thread_pool.h"

#include <algorithm>
#include <exception>

#include "cpu/thread_priority.h"
#include "kernels/common.h"

namespace sa {

struct ThreadPool::Job {
  const std::function<void(int64_t)>* fn;
  const std::atomic<bool>* cancelled;
  int64_t nTasks;
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};
  std::mutex mutex;
  std::condition_variable finished;
  std::exception_ptr error;

  bool stopRequested() const {
    return (cancelled && cancelled->load(std::memory_order_relaxed)) || error != nullptr;
  }

  // Claims and runs tasks until none are left; every claimed task counts as done.
  void work() {
    for (;;) {
      int64_t task = next.fetch_add(1);
      if (task >= nTasks) return;
      bool skip;
      {
        std::lock_guard<std::mutex> lock(mutex);
        skip = stopRequested();
      }
      if (!skip) {
        try {
          (*fn)(task);
        } catch (...) {
          std::lock_guard<std::mutex> lock(mutex);
          if (!error) error = std::current_exception();
        }
      }
      if (done.fetch_add(1) + 1 == nTasks) {
        std::lock_guard<std::mutex> lock(mutex);
        finished.notify_all();
      }
    }
  }
};

ThreadPool::ThreadPool(int workers) {
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { workerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

namespace {

// Set on the pool's own threads: a parallelFor nested in a task runs its tasks itself instead
// of waiting for workers that may all be busy waiting the same way.
thread_local bool insidePool = false;

}  // namespace

void ThreadPool::workerLoop() {
  insidePool = true;
  lowerThisThreadPriority();
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = jobs_.front();
      if (job->next.load() >= job->nTasks) {
        jobs_.pop_front();
        continue;
      }
    }
    job->work();
  }
}

// The caller only waits: compute runs on the workers, below normal priority (see
// thread_priority.h), so that the threads that call in (libuv's, next to the event loop) do
// not compete with the main thread for the CPUs.
void ThreadPool::run(const std::shared_ptr<Job>& job) {
  if (threads_.empty() || insidePool) {
    job->work();
  } else {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(job);
    }
    wake_.notify_all();
  }
  std::unique_lock<std::mutex> lock(job->mutex);
  job->finished.wait(lock, [&] { return job->done.load() >= job->nTasks; });
}

void parallelFor(const CpuContext& ctx, int64_t nTasks, const std::function<void(int64_t)>& fn) {
  if (nTasks <= 0) return;
  if (ctx.cancelled && ctx.cancelled->load()) throw KernelError(ErrorCode::Aborted, "aborted");
  auto job = std::make_shared<ThreadPool::Job>();
  job->fn = &fn;
  job->cancelled = ctx.cancelled;
  job->nTasks = nTasks;
  if (ctx.pool) {
    ctx.pool->run(job);
  } else {
    job->work();
  }
  if (job->error) std::rethrow_exception(job->error);
  if (ctx.cancelled && ctx.cancelled->load()) throw KernelError(ErrorCode::Aborted, "aborted");
}

ThreadPool& defaultThreadPool() {
  static ThreadPool pool(std::max(1u, std::thread::hardware_concurrency()));
  return pool;
}

}  // namespace sa

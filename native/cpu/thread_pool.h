// A small fixed pool of worker threads that several concurrent parallelFor calls share.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels/cpu_context.h"

namespace sa {

class ThreadPool {
 public:
  explicit ThreadPool(int workers);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  struct Job;
  // Runs the job's tasks on the workers (on the caller itself when the pool has no workers or
  // the caller is one of them) and waits until all have finished.
  void run(const std::shared_ptr<Job>& job);

 private:
  void workerLoop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> jobs_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

}  // namespace sa

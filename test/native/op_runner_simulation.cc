// _opRunnerSimulation: an op on a simulated device through the real op runner (op_worker.h),
// so that its ownership of an op's device memory is tested on every machine; and
// _internalFailure: an op whose task fails with something that is not a KernelError.
#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "addon/errors.h"
#include "addon/op_worker.h"
#include "hooks.h"

namespace sa::addon {

namespace {

// What happened during a simulated op, in order; written from the worker thread.
class EventLog {
 public:
  void add(const std::string& event) {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(event);
  }
  std::vector<std::string> events() {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_;
  }
  std::atomic<bool> queued{false};  // work queued on the simulated stream, not yet synchronised

 private:
  std::mutex mutex_;
  std::vector<std::string> events_;
};

// A device whose stream is a flag in the log: work queued stays pending until synchronize().
class SimulatedRun : public DeviceRun {
 public:
  explicit SimulatedRun(std::shared_ptr<EventLog> log) : log_(std::move(log)) {}
  cuda::Stream stream() override { return log_.get(); }
  void synchronize(bool) override {
    log_->add("synchronize");
    log_->queued = false;
  }

 private:
  std::shared_ptr<EventLog> log_;
};

// A block of the simulated device that logs its release, and whether work was still queued.
cuda::Block simulatedBlock(const std::shared_ptr<EventLog>& log, const std::string& name) {
  static char storage;
  return cuda::Block(&storage, [log, name](void*) {
    log->add("release " + name + (log->queued ? " while work is queued" : ""));
  });
}

}  // namespace

// _opRunnerSimulation(fail) -> { done: Promise, events(): string[] }: an op on a simulated
// device through the real op runner. Its task captures an "output" block, allocates a
// "scratch" block, queues work, then throws OUT_OF_MEMORY when `fail`; events() lists what
// happened, in order.
Napi::Value opRunnerSimulation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBoolean()) throwTypeError(env, "_opRunnerSimulation: fail must be a boolean");
  const bool fail = info[0].As<Napi::Boolean>().Value();
  auto log = std::make_shared<EventLog>();
  Task task = [fail, log, output = simulatedBlock(log, "output")](const ExecContext& ctx) {
    ctx.scratch->push_back(simulatedBlock(log, "scratch"));
    static_cast<EventLog*>(ctx.stream)->queued = true;
    log->add("queue");
    if (fail) throw KernelError(ErrorCode::OutOfMemory, "simulated: cannot allocate after queuing work");
  };
  DeviceRuns runs = [log](int, const char*) { return std::make_unique<SimulatedRun>(log); };
  Napi::Object result = Napi::Object::New(env);
  result.Set("done", scheduleOpOn(env, "_opRunnerSimulation", 0, runs, {}, env.Undefined(), std::move(task)));
  result.Set("events", Napi::Function::New(env, [log](const Napi::CallbackInfo& call) {
    const std::vector<std::string> events = log->events();
    Napi::Array list = Napi::Array::New(call.Env(), events.size());
    for (size_t i = 0; i < events.size(); ++i) list.Set(uint32_t(i), events[i]);
    return list;
  }));
  return result;
}

// _internalFailure(kind) -> Promise: a CPU op whose task throws a std::runtime_error ('std') or
// something that is not a std::exception ('other'): a failure of the package itself, which the
// runner reports as a plain Error (no code), never as one of AttentionError's codes.
Napi::Value internalFailure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string kind = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (kind != "std" && kind != "other") throwTypeError(env, "_internalFailure: kind must be 'std' or 'other'");
  Task task = [kind](const ExecContext&) {
    if (kind == "std") throw std::runtime_error("simulated failure");
    throw 42;
  };
  return scheduleOp(env, "_internalFailure", -1, {}, env.Undefined(), std::move(task));
}

}  // namespace sa::addon

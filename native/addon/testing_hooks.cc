// Entry points for the test suite only (their names start with an underscore; lib/ never
// calls them). They run logic that otherwise sits behind a GPU, so that it is tested on every
// machine: the device memory pool over a simulated device, the op runner's handling of device
// memory over a simulated stream, and the parser of SPARSE_ATTENTION_CUDA_MEMORY_LIMIT.
#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "addon/errors.h"
#include "addon/op_worker.h"
#include "addon/ops.h"
#include "kernels/byte_count.h"
#include "kernels/caching_pool.h"

namespace sa::addon {

namespace {

// A device of `capacity` bytes. Its addresses are never dereferenced: block k is at k * 4096.
class SimulatedDevice : public RawAllocator {
 public:
  explicit SimulatedDevice(uint64_t capacity) : capacity_(capacity) {}
  void* allocate(size_t bytes) override {
    if (used_ + bytes > capacity_) return nullptr;
    void* ptr = reinterpret_cast<void*>(uintptr_t(++lastBlock_) << 12);
    sizes_[ptr] = bytes;
    used_ += bytes;
    return ptr;
  }
  void release(void* ptr) override {
    auto it = sizes_.find(ptr);
    if (it == sizes_.end()) return;
    used_ -= it->second;
    sizes_.erase(it);
    releases_++;
  }
  static double blockId(void* ptr) { return double(reinterpret_cast<uintptr_t>(ptr) >> 12); }
  double blockBytes(void* ptr) const { return double(sizes_.at(ptr)); }
  uint64_t used() const { return used_; }
  uint64_t releases() const { return releases_; }
  uint64_t allocations() const { return lastBlock_; }

 private:
  uint64_t capacity_, used_ = 0, releases_ = 0, lastBlock_ = 0;
  std::unordered_map<void*, size_t> sizes_;
};

double byteArgument(const Napi::Value& value, const char* name) {
  const double x = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : -1;
  if (!(x >= 0 && x <= 9.0e15) || std::floor(x) != x)
    throwRangeError(value.Env(), std::string("_poolSimulation: ") + name + " must be a byte count");
  return x;
}

Napi::Object statsObject(Napi::Env env, const PoolStats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("liveBytes", double(s.liveBytes));
  o.Set("cachedBytes", double(s.cachedBytes));
  o.Set("rawAllocations", double(s.rawAllocations));
  o.Set("reuses", double(s.reuses));
  return o;
}

Napi::Object deviceObject(Napi::Env env, const SimulatedDevice& d) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("usedBytes", double(d.used()));
  o.Set("allocations", double(d.allocations()));
  o.Set("releases", double(d.releases()));
  return o;
}

// One step of the script: ['allocate', bytes] | ['release', step] | ['emptyCache'].
// A release of a step whose allocate failed does nothing, so that random scripts need not
// know in advance which requests the pool will refuse.
Napi::Object runStep(Napi::Env env, CachingPool& pool, const SimulatedDevice& device, const Napi::Value& step,
                     std::vector<void*>& blocks, std::vector<bool>& allocates) {
  if (!step.IsArray()) throwTypeError(env, "_poolSimulation: each step must be an array");
  Napi::Array s = step.As<Napi::Array>();
  const std::string kind = s.Get(0u).IsString() ? s.Get(0u).As<Napi::String>().Utf8Value() : "";
  Napi::Object outcome = Napi::Object::New(env);
  outcome.Set("ok", true);
  blocks.push_back(nullptr);
  allocates.push_back(kind == "allocate");
  if (kind == "allocate") {
    try {
      void* ptr = pool.allocate(size_t(byteArgument(s.Get(1u), "bytes")));
      blocks.back() = ptr;
      outcome.Set("block", SimulatedDevice::blockId(ptr));
      outcome.Set("bytes", device.blockBytes(ptr));
    } catch (const KernelError& e) {
      outcome.Set("ok", false);
      outcome.Set("code", e.code() == ErrorCode::OutOfMemory ? "OUT_OF_MEMORY" : "OTHER");
      outcome.Set("message", e.what());
    }
  } else if (kind == "release") {
    const double index = s.Get(1u).IsNumber() ? s.Get(1u).As<Napi::Number>().DoubleValue() : -1;
    if (!(index >= 0 && index < double(blocks.size()) - 1) || std::floor(index) != index || !allocates[size_t(index)])
      throwRangeError(env, "_poolSimulation: release needs the index of an earlier allocate");
    pool.release(blocks[size_t(index)]);
  } else if (kind == "emptyCache") {
    pool.emptyCache();
  } else {
    throwTypeError(env, "_poolSimulation: unknown step '" + kind + "'");
  }
  return outcome;
}

}  // namespace

// _poolSimulation(limitBytes, capacityBytes, steps) -> { outcomes, stats, device, deviceAfterTeardown }
// stats: the pool's after the script; device: the simulated device's; deviceAfterTeardown: after
// every block still held is released and the pool destroyed (it must be back to zero).
Napi::Value poolSimulation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double limit = byteArgument(info[0], "limitBytes"), capacity = byteArgument(info[1], "capacityBytes");
  if (!info[2].IsArray()) throwTypeError(env, "_poolSimulation: steps must be an array");
  Napi::Array steps = info[2].As<Napi::Array>();
  if (steps.Length() > 1000000) throwRangeError(env, "_poolSimulation: too many steps");
  SimulatedDevice device{uint64_t(capacity)};
  Napi::Object result = Napi::Object::New(env);
  {
    CachingPool pool(&device, uint64_t(limit));
    std::vector<void*> blocks;
    std::vector<bool> allocates;
    Napi::Array outcomes = Napi::Array::New(env, steps.Length());
    for (uint32_t i = 0; i < steps.Length(); ++i) outcomes.Set(i, runStep(env, pool, device, steps.Get(i), blocks, allocates));
    result.Set("outcomes", outcomes);
    result.Set("stats", statsObject(env, pool.stats()));
    result.Set("device", deviceObject(env, device));
    for (void* ptr : blocks) pool.release(ptr);
  }
  result.Set("deviceAfterTeardown", deviceObject(env, device));
  return result;
}

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

// _parseByteCount(text) -> bytes, or null when `text` is not a byte count.
Napi::Value parseByteCountHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throwTypeError(env, "_parseByteCount: text must be a string");
  uint64_t bytes = 0;
  if (!parseByteCount(info[0].As<Napi::String>().Utf8Value().c_str(), &bytes)) return env.Null();
  return Napi::Number::New(env, double(bytes));
}

}  // namespace sa::addon

// _poolSimulation: the device memory pool (kernels/caching_pool.h) over a simulated device, so
// that its logic, which otherwise sits behind a GPU, is tested on every machine.
#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

#include "addon/errors.h"
#include "kernels/caching_pool.h"
#include "hooks.h"

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

}  // namespace sa::addon

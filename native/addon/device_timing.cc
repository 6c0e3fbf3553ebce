#include "addon/device_timing.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>


namespace sa::addon {

namespace {

struct Timings {
  std::mutex mutex;
  std::vector<std::pair<std::string, float>> records;
};

Timings& timings() {
  static Timings* t = new Timings();  // outlives every worker thread
  return *t;
}

}  // namespace

bool deviceTimingEnabled() {
  static const bool enabled = [] {
    const char* value = std::getenv("SPARSE_ATTENTION_DEVICE_TIMING");
    return value && std::strcmp(value, "1") == 0;
  }();
  return enabled;
}

void recordDeviceTiming(const char* op, float ms) {
  Timings& t = timings();
  std::lock_guard<std::mutex> lock(t.mutex);
  t.records.emplace_back(op, ms);
}

Napi::Value takeDeviceTimings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::pair<std::string, float>> taken;
  {
    Timings& t = timings();
    std::lock_guard<std::mutex> lock(t.mutex);
    taken.swap(t.records);
  }
  Napi::Array result = Napi::Array::New(env, taken.size());
  for (size_t i = 0; i < taken.size(); ++i) {
    Napi::Object record = Napi::Object::New(env);
    record.Set("op", taken[i].first);
    record.Set("ms", double(taken[i].second));
    result.Set(uint32_t(i), record);
  }
  return result;
}

}  // namespace sa::addon

// The native side of an AbortSignal: lib/ calls cancel() from the signal's abort event and
// the kernels poll the flag between tasks.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>

namespace sa::addon {

class CancelToken : public Napi::ObjectWrap<CancelToken> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x5a1c'a9ce'11ed'0001ULL, 0x9b3f'27d4'6e58'c201ULL};
  static void define(Napi::Env env, Napi::Object exports);
  explicit CancelToken(const Napi::CallbackInfo& info);
  std::shared_ptr<std::atomic<bool>> flag() const { return flag_; }

 private:
  Napi::Value cancel(const Napi::CallbackInfo& info);
  std::shared_ptr<std::atomic<bool>> flag_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace sa::addon

#include "addon/cancel_token.h"

#include "addon/type_tag.h"

namespace sa::addon {

void CancelToken::define(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "CancelToken", {InstanceMethod<&CancelToken::cancel>("cancel")});
  exports.Set("CancelToken", ctor);
}

CancelToken::CancelToken(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CancelToken>(info) {
  tagInstance<CancelToken>(info);
}

Napi::Value CancelToken::cancel(const Napi::CallbackInfo& info) {
  flag_->store(true);
  return info.Env().Undefined();
}

}  // namespace sa::addon

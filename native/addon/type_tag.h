// ObjectWrap::Unwrap trusts that an object was made by the class it is asked for: a
// CancelToken passed where a DeviceBuffer is expected would be reinterpreted as one. Each
// wrapped class tags its instances with its own N-API type tag, and the glue unwraps only
// objects that carry the right tag.
#pragma once

#include <napi.h>

namespace sa::addon {

// T::kTypeTag: the class's tag; T's constructor calls tagInstance.
template <class T>
void tagInstance(const Napi::CallbackInfo& info) {
  info.This().As<Napi::Object>().TypeTag(&T::kTypeTag);
}

// The wrapped T behind `value`, or nullptr when `value` is not an instance of T.
template <class T>
T* unwrapTagged(const Napi::Value& value) {
  if (!value.IsObject()) return nullptr;
  Napi::Object object = value.As<Napi::Object>();
  if (!object.CheckTypeTag(&T::kTypeTag)) return nullptr;
  return T::Unwrap(object);
}

}  // namespace sa::addon

#include "addon/tensor_arg.h"

#include <limits>

#include "addon/device_buffer.h"
#include "addon/errors.h"

namespace sa::addon {

std::string TensorArg::shapeText() const {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? "," : "") + std::to_string(shape[i]);
  return text + "]";
}

TensorArg tensorArg(const Napi::Value& value, const char* op, const char* name) {
  Napi::Env env = value.Env();
  const std::string where = std::string(op) + ": " + name;
  if (!value.IsObject()) throwTypeError(env, where + " must be a tensor");
  Napi::Object obj = value.As<Napi::Object>();
  TensorArg t;
  Napi::Value dtype = obj.Get("dtype"), shape = obj.Get("shape"), device = obj.Get("device");
  if (!dtype.IsNumber() || !shape.IsArray() || !device.IsNumber()) throwTypeError(env, where + " must be a tensor");
  const int code = dtype.As<Napi::Number>().Int32Value();
  if (code < 0 || code > 3) throwTypeError(env, where + " has an unknown dtype");
  t.dtype = DType(code);
  t.device = device.As<Napi::Number>().Int32Value();
  Napi::Array dims = shape.As<Napi::Array>();
  if (dims.Length() > 8) throwRangeError(env, where + " has too many dimensions");
  t.numel = 1;
  for (uint32_t i = 0; i < dims.Length(); ++i) {
    Napi::Value d = dims.Get(i);
    const double dv = d.IsNumber() ? d.As<Napi::Number>().DoubleValue() : -1.0;
    if (!(dv >= 0) || dv > std::numeric_limits<int32_t>::max() || dv != double(int64_t(dv)))
      throwRangeError(env, where + " has an invalid dimension");
    t.shape.push_back(int(dv));
    t.numel *= int64_t(dv);
    if (t.numel > std::numeric_limits<int32_t>::max())
      throwRangeError(env, where + " has more elements than 32-bit indexing allows");
  }
  if (t.device < 0) {
    Napi::Value host = obj.Get("host");
    if (!host.IsTypedArray()) throwTypeError(env, where + " has no host data");
    Napi::TypedArray array = host.As<Napi::TypedArray>();
    if (array.ByteLength() < t.bytes()) throwRangeError(env, where + " data is shorter than its shape");
    t.data = static_cast<char*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  } else {
    Napi::Value buffer = obj.Get("buffer");
    if (!buffer.IsObject()) throwTypeError(env, where + " has no device buffer");
    DeviceBuffer* db = DeviceBuffer::Unwrap(buffer.As<Napi::Object>());
    if (!db || !db->block()) throwCoded(env, "DISPOSED", where + " has been disposed");
    if (db->device() != t.device || db->bytes() < t.bytes()) throwRangeError(env, where + " buffer does not match");
    t.block = db->block();
    t.data = t.block.get();
  }
  if (!t.data && t.bytes() > 0) throwTypeError(env, where + " has no data");
  return t;
}

TensorArg optionalTensorArg(const Napi::Value& value, const char* op, const char* name) {
  if (value.IsUndefined() || value.IsNull()) return TensorArg{};
  return tensorArg(value, op, name);
}

void requireShape(Napi::Env env, const TensorArg& t, const std::vector<int>& expected, const char* op,
                  const char* name) {
  if (t.shape == expected) return;
  TensorArg e;
  e.shape = expected;
  throwRangeError(env, std::string(op) + ": " + name + ".shape " + t.shapeText() + " must be " + e.shapeText());
}

void requireDevice(Napi::Env env, const TensorArg& t, int device, const char* op, const char* name) {
  if (t.device != device) throwTypeError(env, std::string(op) + ": " + name + " is on another device");
}

}  // namespace sa::addon

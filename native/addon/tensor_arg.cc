#include "addon/tensor_arg.h"

#include <cmath>
#include <limits>

#include "addon/device_buffer.h"
#include "addon/errors.h"
#include "addon/type_tag.h"

namespace sa::addon {

namespace {

constexpr int kMaxRank = 8;
constexpr int kMaxDeviceOrdinal = 1023;
constexpr double kMaxIndex = double(std::numeric_limits<int32_t>::max());

bool isIntegerIn(const Napi::Value& v, double lo, double hi) {
  if (!v.IsNumber()) return false;
  const double x = v.As<Napi::Number>().DoubleValue();
  return x >= lo && x <= hi && std::floor(x) == x;
}

// Host data must be the typed array lib/ uses for the dtype: that also guarantees alignment.
napi_typedarray_type hostArrayType(DType dtype) {
  switch (dtype) {
    case DType::Float32: return napi_float32_array;
    case DType::Int32: return napi_int32_array;
    default: return napi_uint16_array;
  }
}

// Dimensions and element count, both within 32-bit indexing (a zero dimension makes the
// count zero whatever the others are, as in lib/).
void readShape(TensorArg& t, const Napi::Value& shape, const std::string& where) {
  Napi::Env env = shape.Env();
  if (!shape.IsArray()) throwTypeError(env, where + ".shape must be an array");
  Napi::Array dims = shape.As<Napi::Array>();
  if (dims.Length() > kMaxRank) throwRangeError(env, where + " has more than 8 dimensions");
  double count = 1;
  for (uint32_t i = 0; i < dims.Length(); ++i) {
    Napi::Value d = dims.Get(i);
    if (!isIntegerIn(d, 0, kMaxIndex)) throwRangeError(env, where + " has an invalid dimension");
    const double dv = d.As<Napi::Number>().DoubleValue();
    t.shape.push_back(int(dv));
    count *= dv;
  }
  if (count > kMaxIndex) throwRangeError(env, where + " has more elements than 32-bit indexing allows");
  t.numel = int64_t(count);
}

void readHost(TensorArg& t, const Napi::Object& obj, const std::string& where) {
  Napi::Env env = obj.Env();
  Napi::Value host = obj.Get("host");
  if (!host.IsTypedArray()) throwTypeError(env, where + " has no host data");
  Napi::TypedArray array = host.As<Napi::TypedArray>();
  if (array.TypedArrayType() != hostArrayType(t.dtype)) throwTypeError(env, where + " host data has the wrong array type");
  if (array.ByteLength() != t.bytes()) throwRangeError(env, where + " host data does not match its shape");
  Napi::ArrayBuffer buffer = array.ArrayBuffer();
  t.data = static_cast<char*>(buffer.Data()) + array.ByteOffset();
  t.owner = buffer;
}

void readDeviceBuffer(TensorArg& t, const Napi::Object& obj, const std::string& where) {
  Napi::Env env = obj.Env();
  Napi::Value buffer = obj.Get("buffer");
  DeviceBuffer* db = unwrapTagged<DeviceBuffer>(buffer);
  if (!db) throwTypeError(env, where + " has no device buffer");
  if (!db->block()) throwCoded(env, "DISPOSED", where + " has been disposed");
  if (db->device() != t.device || db->bytes() != t.bytes()) throwRangeError(env, where + " buffer does not match");
  t.block = db->block();
  t.data = t.block.get();
  t.owner = buffer;
}

}  // namespace

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
  Napi::Value dtype = obj.Get("dtype"), device = obj.Get("device");
  if (!isIntegerIn(dtype, 0, 3)) throwTypeError(env, where + " has an unknown dtype code");
  if (!isIntegerIn(device, -1, kMaxDeviceOrdinal)) throwTypeError(env, where + " has an invalid device");
  t.dtype = DType(dtype.As<Napi::Number>().Int32Value());
  t.device = device.As<Napi::Number>().Int32Value();
  readShape(t, obj.Get("shape"), where);
  if (t.device < 0) readHost(t, obj, where);
  else readDeviceBuffer(t, obj, where);
  if (!t.data && t.bytes() > 0) throwTypeError(env, where + " has no data");
  t.present = true;
  return t;
}

TensorArg optionalTensorArg(const Napi::Value& value, const char* op, const char* name) {
  if (value.IsUndefined() || value.IsNull()) return TensorArg{};
  return tensorArg(value, op, name);
}

void requireShape(Napi::Env env, const TensorArg& t, const std::vector<int64_t>& expected, const char* op,
                  const char* name) {
  bool same = t.shape.size() == expected.size();
  for (size_t i = 0; same && i < expected.size(); ++i) same = t.shape[i] == expected[i];
  if (same) return;
  std::string text = "[";
  for (size_t i = 0; i < expected.size(); ++i) text += (i ? "," : "") + std::to_string(expected[i]);
  throwRangeError(env, std::string(op) + ": " + name + ".shape " + t.shapeText() + " must be " + text + "]");
}

void requireDevice(Napi::Env env, const TensorArg& t, int device, const char* op, const char* name) {
  if (t.device != device) throwTypeError(env, std::string(op) + ": " + name + " is on another device");
}

void requireNoOverlap(Napi::Env env, const TensorArg& out, std::initializer_list<const TensorArg*> inputs,
                      const char* op) {
  const auto begin = reinterpret_cast<uintptr_t>(out.data);
  const uintptr_t end = begin + out.bytes();
  for (const TensorArg* in : inputs) {
    if (!in->present || in->device != out.device || in->bytes() == 0 || out.bytes() == 0) continue;
    const auto inBegin = reinterpret_cast<uintptr_t>(in->data);
    if (inBegin < end && begin < inBegin + in->bytes())
      throwRangeError(env, std::string(op) + ": the output shares memory with an input");
  }
}

}  // namespace sa::addon

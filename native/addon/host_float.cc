#include "addon/host_float.h"

#include "kernels/half.h"

namespace sa::addon {

HostFloatIn::HostFloatIn(const TensorArg& t) : ptr_(static_cast<const float*>(t.data)) {
  if (t.dtype == DType::Float32 || !t.data) return;
  const uint16_t* bits = static_cast<const uint16_t*>(t.data);
  widened_.resize(size_t(t.numel));
  for (int64_t i = 0; i < t.numel; ++i)
    widened_[i] = t.dtype == DType::Float16 ? float16ToFloat(bits[i]) : bfloat16ToFloat(bits[i]);
  ptr_ = widened_.data();
}

HostFloatOut::HostFloatOut(const TensorArg& t) : target_(t), ptr_(static_cast<float*>(t.data)) {
  if (t.dtype == DType::Float32) return;
  staging_.resize(size_t(t.numel));
  ptr_ = staging_.data();
}

void HostFloatOut::commit() {
  if (target_.dtype == DType::Float32) return;
  uint16_t* bits = static_cast<uint16_t*>(target_.data);
  for (int64_t i = 0; i < target_.numel; ++i)
    bits[i] = target_.dtype == DType::Float16 ? floatToFloat16(staging_[i]) : floatToBFloat16(staging_[i]);
}

}  // namespace sa::addon

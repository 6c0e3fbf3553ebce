#include "addon/attention_layout.h"

#include <limits>
#include <string>

#include "addon/errors.h"
#include "addon/op_options.h"

namespace sa::addon {

AttentionLayout layoutOption(Napi::Env env, const Napi::Object& opts, const char* op) {
  const std::string layout = stringOption(opts, "layout", op);
  if (layout == "bhld") return {false, 0};
  if (layout != "blhd") throwTypeError(env, std::string(op) + ": opts.layout must be 'bhld' or 'blhd'");
  return {true, int(integerOption(opts, "heads", op, 1, std::numeric_limits<int32_t>::max()))};
}

AttentionDims attentionDims(Napi::Env env, const TensorArg& t, const AttentionLayout& layout, const char* op,
                            const char* name) {
  const std::string where = std::string(op) + ": " + name;
  if (!t.isFloat()) throwRangeError(env, where + " must be a float tensor");
  if (!layout.tokenMajor) {
    if (t.rank() != 4) throwRangeError(env, where + " must be a 4-d [B, H, L, D] tensor");
    return {t.dim(0), t.dim(1), t.dim(2), t.dim(3)};
  }
  if (t.rank() != 3 || t.dim(2) % layout.heads != 0)
    throwRangeError(env, where + " must be a 3-d [B, L, H * D] tensor with H = heads");
  return {t.dim(0), layout.heads, t.dim(1), t.dim(2) / layout.heads};
}

std::vector<int64_t> attentionShape(const AttentionDims& d, const AttentionLayout& layout) {
  if (layout.tokenMajor) return {d.B, d.L, int64_t(d.H) * d.D};
  return {d.B, d.H, d.L, d.D};
}

}  // namespace sa::addon

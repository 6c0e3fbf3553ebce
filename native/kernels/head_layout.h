// Where the rows of one (batch, head) pair lie in an attention tensor, so that kernels read and
// write both layouts in place:
//
//   'bhld'  [B, H, L, D]     each head's L rows contiguous (the default)
//   'blhd'  [B, L, H * D]    a token's heads side by side: the layout a linear projection
//                            writes and Hugging Face's modules use before splitting heads
//
// Row t of head bh = b * H + h starts at base(bh) + t * rowStride(); its D elements are
// contiguous in both layouts.
#pragma once

#include <cstdint>

#include "kernels/common.h"

namespace sa {

struct HeadLayout {
  int H, L, D;
  bool tokenMajor;  // 'blhd'

  SA_HD int64_t rowStride() const { return tokenMajor ? int64_t(H) * D : int64_t(D); }
  SA_HD int64_t base(int64_t bh) const {
    return tokenMajor ? (bh / H) * int64_t(L) * H * D + (bh % H) * int64_t(D) : bh * int64_t(L) * D;
  }
  SA_HD int64_t row(int64_t bh, int64_t t) const { return base(bh) + t * rowStride(); }
};

}  // namespace sa

// Sliding-window attention with symmetric global attention (Longformer; docs/semantics.md 2).
//
//   q, k, v                     [B, H, L, D]  local projections; q unscaled
//   qGlobal, kGlobal, vGlobal   [B, H, L, D]  global projections (may alias q, k, v)
//   attentionMask               [B, L] int32  -1 padding, 0 local, 1 global; null: all local
//   out                         [B, H, L, D]
//   (or, tokenMajor, every projection and out [B, L, H * D]: kernels/head_layout.h)
//
//   local token t:   softmax over scale * q[t] . k[j] for the visible window keys
//                    j in [t - left, t + right] (neither padding nor global) and for every
//                    global token g of the batch row (once, with the local k[g], v[g]);
//                    out[t] = the softmax-weighted sum of the matching v rows
//   global token g:  softmax over scale * qGlobal[g] . kGlobal[j] for every non-padding j;
//                    out[g] = the weighted sum of vGlobal[j]
//   padding token:   out = 0
//
// Float32 accumulation. Any L >= 1; no multiple-of-window rule. Memory beyond the inputs and
// the output: O(B * L) for the global lists, plus a few tiles per worker.
// local_logic.h has the index rules and why masked keys can be dropped (FMIN has weight 0).
#pragma once

#include "kernels/common.h"
#include "kernels/cpu_context.h"
#include "kernels/cuda_device.h"
#include "kernels/head_layout.h"
#include "kernels/local_logic.h"

namespace sa {

struct LocalShape {
  int B, H, L, D;
  LocalWindow window;  // clamped with clampWindow
  float scale;         // multiplies q (and qGlobal) before the dot products
  bool tokenMajor;     // 'blhd' layout for every projection and out
};

SA_HD HeadLayout headLayout(const LocalShape& s) { return {s.H, s.L, s.D, s.tokenMajor}; }

// Pointers to the six [B, H, L, D] projections, of one element type.
template <typename T>
struct LocalInputs {
  const T *q, *k, *v;
  const T *qGlobal, *kGlobal, *vGlobal;
};

// Throws KernelError(InvalidArgument) if a mask value is not -1, 0 or 1.
void localAttentionCpu(const CpuContext& ctx, const LocalShape& s, const LocalInputs<float>& in,
                       const int32_t* attentionMask, float* out);

// Device scratch localAttentionCuda needs with a mask (the global lists of every batch row).
size_t localAttentionCudaWorkspaceBytes(const LocalShape& s);

// dtype: Float32, Float16 or BFloat16 for every projection and out; float32 accumulation.
// With a mask, workspace holds localAttentionCudaWorkspaceBytes(s) bytes of device memory,
// and a mask value other than -1, 0 or 1 is reported after the launches complete through
// `errorFlag` (a device int32 the caller zeroes and reads back; such values count by their
// sign meanwhile). Without a mask both may be null.
void localAttentionCuda(cuda::Stream stream, const LocalShape& s, DType dtype, const LocalInputs<void>& in,
                        const int32_t* attentionMask, void* out, void* workspace, int32_t* errorFlag);

}  // namespace sa

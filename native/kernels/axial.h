// Axial positional encodings (docs/semantics.md section 3).
//
//   w0  [n0, d0], w1 [n1, d1]   any 2- or 4-byte element type (the op is a gather of rows)
//   positionIds [B, L] int32, or null for p = j (then B must be 1)
//   out [B, L, d0 + d1]          out[b, j] = concat(w0[r0(p)], w1[r1(p)])
#pragma once

#include "kernels/axial_index.h"
#include "kernels/cpu_context.h"
#include "kernels/cuda_device.h"

namespace sa {

struct AxialShape {
  int B, L;
  int n0, d0, n1, d1;
  int elemSize;  // bytes per element of w0, w1 and out
  AxialLayout layout;
};

// Throws KernelError(InvalidArgument) if a position id is outside [0, n0 * n1).
void axialPositionEncodingCpu(const CpuContext& ctx, const AxialShape& s, const void* w0, const void* w1,
                              const int32_t* positionIds, void* out);

// Same contract on a stream; positions out of range are reported after the launch completes
// through `errorFlag` (a device int32 the caller zeroes and reads back).
void axialPositionEncodingCuda(cuda::Stream stream, const AxialShape& s, const void* w0, const void* w1,
                               const int32_t* positionIds, void* out, int32_t* errorFlag);

}  // namespace sa

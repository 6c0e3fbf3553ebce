// Embedding lookup, torch.nn.Embedding: a gather of table rows.
//
//   ids    [n] int32            every leading dimension of the ids flattened
//   table  [rows, width]        any 2- or 4-byte element type (rows are copied as bytes)
//   out    [n, width]           out[i] = table[ids[i]]
#pragma once

#include <cstdint>

#include "kernels/common.h"
#include "kernels/cpu_context.h"
#include "kernels/cuda_device.h"

namespace sa {

struct EmbeddingShape {
  int n, rows, width;
  int elemSize;  // bytes per element of table and out
};

// Throws KernelError(InvalidArgument) naming the first id outside [0, rows).
void embeddingCpu(const CpuContext& ctx, const EmbeddingShape& s, const int32_t* ids, const void* table, void* out);

// Ids outside [0, rows) give zero rows and are reported after the launch completes through
// `errorFlag` (a device int32 the caller zeroes and reads back).
void embeddingCuda(cuda::Stream stream, const EmbeddingShape& s, const int32_t* ids, const void* table, void* out,
                   int32_t* errorFlag);

}  // namespace sa

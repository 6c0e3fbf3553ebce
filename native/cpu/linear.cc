// y = x · Wᵀ + b on CPU: the rows of x are the A operand and the rows of W the keys-like B
// operand of the tile GEMM's gemmNT (tile_math.h), cut into blocks of rows and output columns
// that the pool's workers take one at a time. A row block of x and the packed strips of its
// column block stay in L2 while the block's product runs.
#include <algorithm>

#include "cpu/tile_math.h"
#include "kernels/linear.h"

namespace sa {

namespace {

constexpr int kRowBlock = 192;  // rows of x per task: 192 × 768 floats = 576 KiB at BERT widths
constexpr int kColBlock = 256;  // output features per task

void addBias(float* y, int m, int n, int ldy, const float* bias) {
  for (int i = 0; i < m; ++i) {
    float* row = y + int64_t(i) * ldy;
    for (int j = 0; j < n; ++j) row[j] += bias[j];
  }
}

}  // namespace

void linearCpu(const CpuContext& ctx, const LinearShape& s, const float* x, const float* w, const float* bias,
               float* y) {
  if (int64_t(s.rows) * s.out == 0) return;
  const int rowBlocks = (s.rows + kRowBlock - 1) / kRowBlock;
  const int colBlocks = (s.out + kColBlock - 1) / kColBlock;
  // Column blocks vary fastest: consecutive tasks share a row block of x, which stays cached.
  parallelFor(ctx, int64_t(rowBlocks) * colBlocks, [&](int64_t task) {
    const int i0 = int(task / colBlocks) * kRowBlock, j0 = int(task % colBlocks) * kColBlock;
    const int m = std::min(kRowBlock, s.rows - i0), n = std::min(kColBlock, s.out - j0);
    float* block = y + int64_t(i0) * s.out + j0;
    cpu::gemmNT(m, n, s.in, x + int64_t(i0) * s.in, s.in, w + int64_t(j0) * s.in, s.in, block, s.out);
    if (bias) addBias(block, m, n, s.out, bias + j0);
  });
}

}  // namespace sa

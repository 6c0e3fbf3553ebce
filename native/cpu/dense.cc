// Flash-style dense attention on CPU: a tile of queries stays in cache while key/value tiles
// stream through; scores of one tile at a time, online softmax, float32 throughout. It is the
// softmax tile (cpu/softmax_tile.h) with contiguous keys and the prefix mask: local attention
// with an unbounded window.
#include <algorithm>

#include "cpu/huge_pages.h"
#include "cpu/softmax_tile.h"
#include "kernels/dense.h"

namespace sa {

namespace {

constexpr int kQueryTile = 128;
constexpr int kKeyTile = 512;

// q and out rows are ldq floats apart, k and v rows ldk (the head layout's row strides).
void denseQueryTile(const DenseShape& s, const float* q, const float* k, const float* v, float* out, int ldq, int ldk,
                    int i0, cpu::SoftmaxTile& t) {
  const int m = std::min(kQueryTile, s.Lq - i0);
  t.start(m, [&](int r) { return q + size_t(i0 + r) * ldq; }, s.scale);
  const int end = denseKeyEnd(s, i0 + m - 1);
  for (int j0 = 0; j0 < end; j0 += kKeyTile) {
    const int n = std::min(kKeyTile, end - j0);
    const cpu::KeyTile keys{n, k + size_t(j0) * ldk, ldk, v + size_t(j0) * ldk, ldk};
    t.attend(0, m, keys, cpu::Prefix{{n}, j0, s.causal ? i0 + 1 : s.Lk, s.causal ? 1 : 0, s.Lk});
  }
  for (int r = 0; r < m; ++r) t.writeRow(r, out + size_t(i0 + r) * ldq);
}

}  // namespace

void denseAttentionCpu(const CpuContext& ctx, const DenseShape& s, const float* q, const float* k, const float* v,
                       float* out) {
  const int tilesPerHead = (s.Lq + kQueryTile - 1) / kQueryTile;
  const int64_t heads = int64_t(s.B) * s.H;
  const HeadLayout ql = queryLayout(s), kl = keyLayout(s);
  cpu::adviseHugePages(out, size_t(s.B) * s.H * s.Lq * s.D * sizeof(float));
  parallelFor(ctx, heads * tilesPerHead, [&](int64_t task) {
    const int64_t bh = task / tilesPerHead;
    const int i0 = int(task % tilesPerHead) * kQueryTile;
    denseQueryTile(s, q + ql.base(bh), k + kl.base(bh), v + kl.base(bh), out + ql.base(bh), int(ql.rowStride()),
                   int(kl.rowStride()), i0, cpu::SoftmaxTile::forThisThread(kQueryTile, kKeyTile, s.D));
  });
}

}  // namespace sa

// Element-wise activations and sums on CPU, in tasks of contiguous ranges.
#include <algorithm>

#include "kernels/elementwise.h"

namespace sa {

namespace {

constexpr int64_t kElementsPerTask = 1 << 15;

template <typename Fn>
void forRanges(const CpuContext& ctx, int64_t n, Fn fn) {
  parallelFor(ctx, (n + kElementsPerTask - 1) / kElementsPerTask, [&](int64_t task) {
    const int64_t begin = task * kElementsPerTask, end = std::min(n, begin + kElementsPerTask);
    fn(begin, end);
  });
}

}  // namespace

void activationCpu(const CpuContext& ctx, Activation f, int64_t n, const float* x, float* y) {
  forRanges(ctx, n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = activate(f, x[i]);
  });
}

void addCpu(const CpuContext& ctx, int64_t n, const float* a, const float* b, float* y) {
  forRanges(ctx, n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = a[i] + b[i];
  });
}

}  // namespace sa

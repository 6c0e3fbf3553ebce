// Layer normalisation on CPU: rows in tasks of kRowsPerTask, each row in two passes.
#include <algorithm>
#include <cmath>

#include "kernels/layer_norm.h"

namespace sa {

namespace {

constexpr int kRowsPerTask = 64;
constexpr int kPartials = 16;  // interleaved partial sums: one vector register, no long dependency chain

float sumOf(const float* x, int n, float shift) {
  float partial[kPartials] = {};
  int i = 0;
  for (; i + kPartials <= n; i += kPartials)
    for (int j = 0; j < kPartials; ++j) partial[j] += x[i + j] - shift;
  for (; i < n; ++i) partial[i % kPartials] += x[i] - shift;
  float sum = 0.0f;
  for (float p : partial) sum += p;
  return sum;
}

float sumOfSquares(const float* x, int n, float mean) {
  float partial[kPartials] = {};
  int i = 0;
  for (; i + kPartials <= n; i += kPartials)
    for (int j = 0; j < kPartials; ++j) partial[j] += (x[i + j] - mean) * (x[i + j] - mean);
  for (; i < n; ++i) partial[i % kPartials] += (x[i] - mean) * (x[i] - mean);
  float sum = 0.0f;
  for (float p : partial) sum += p;
  return sum;
}

void normalizeRow(const LayerNormShape& s, const float* x, const float* weight, const float* bias, float* y) {
  const float mean = sumOf(x, s.width, 0.0f) / float(s.width);
  const float variance = sumOfSquares(x, s.width, mean) / float(s.width);
  const float inv = 1.0f / std::sqrt(variance + s.eps);
  for (int i = 0; i < s.width; ++i) y[i] = (x[i] - mean) * inv * weight[i] + bias[i];
}

}  // namespace

void layerNormCpu(const CpuContext& ctx, const LayerNormShape& s, const float* x, const float* weight,
                  const float* bias, float* y) {
  if (int64_t(s.rows) * s.width == 0) return;
  parallelFor(ctx, (s.rows + kRowsPerTask - 1) / kRowsPerTask, [&](int64_t task) {
    const int end = std::min<int>(s.rows, int(task + 1) * kRowsPerTask);
    for (int r = int(task) * kRowsPerTask; r < end; ++r)
      normalizeRow(s, x + int64_t(r) * s.width, weight, bias, y + int64_t(r) * s.width);
  });
}

}  // namespace sa

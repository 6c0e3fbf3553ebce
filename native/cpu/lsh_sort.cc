// Stable sort by bucket on CPU. Buckets are small integers, so each row is ordered by counting
// sorts (histogram, exclusive scan, stable scatter) on the key minus the row's minimum: one
// pass when the row's keys span fewer than 2^16 values (LSH buckets of every usual size), two
// passes on 16-bit digits otherwise. O(n) work and memory per row; the flat index breaks ties
// because every pass is stable.
#include <algorithm>
#include <vector>

#include "kernels/lsh.h"

namespace sa {

namespace {

constexpr int kDigitBits = 16;
constexpr uint32_t kDigitValues = 1u << kDigitBits;

// Stable pass: writes the indices of `in` (null: 0..n-1) to `out` ordered by digit(index).
template <typename Digit>
void countingPass(int n, const int32_t* in, int32_t* out, int nDigits, Digit digit, std::vector<int32_t>& counts) {
  counts.assign(size_t(nDigits), 0);
  for (int j = 0; j < n; ++j) ++counts[digit(in ? in[j] : j)];
  int start = 0;
  for (int32_t& count : counts) {
    const int size = count;
    count = start;
    start += size;
  }
  for (int j = 0; j < n; ++j) {
    const int i = in ? in[j] : j;
    out[counts[digit(i)]++] = i;
  }
}

void sortRow(int n, const int32_t* keys, int32_t* sorted, int32_t* undo) {
  if (n == 0) return;
  const auto [lo, hi] = std::minmax_element(keys, keys + n);
  // Unsigned differences keep the order of signed keys over the whole int32 range.
  const uint32_t base = uint32_t(*lo), range = uint32_t(*hi) - base;
  const auto offset = [&](int i) { return uint32_t(keys[i]) - base; };
  std::vector<int32_t> counts;
  if (range < kDigitValues) {
    countingPass(n, nullptr, sorted, int(range) + 1, offset, counts);
  } else {
    std::vector<int32_t> byLowDigit(static_cast<size_t>(n));
    countingPass(n, nullptr, byLowDigit.data(), kDigitValues, [&](int i) { return offset(i) & (kDigitValues - 1); },
                 counts);
    countingPass(n, byLowDigit.data(), sorted, kDigitValues, [&](int i) { return offset(i) >> kDigitBits; }, counts);
  }
  if (undo)
    for (int j = 0; j < n; ++j) undo[sorted[j]] = j;
}

}  // namespace

void sortByBucketCpu(const CpuContext& ctx, int rows, int n, const int32_t* buckets, int32_t* sortedIndex,
                     int32_t* undoIndex) {
  parallelFor(ctx, rows, [&](int64_t row) {
    const int64_t offset = row * n;
    sortRow(n, buckets + offset, sortedIndex + offset, undoIndex ? undoIndex + offset : nullptr);
  });
}

}  // namespace sa

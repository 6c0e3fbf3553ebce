// Host emulation of the tensor-core data paths of cuda/mma.cuh, from the PTX ISA's description
// of ldmatrix (.x4, with and without .trans) and mma.m16n8k16: the tile offsets and fragment
// addresses the kernels use must produce S = Q·Kᵀ and O = P·V exactly, and every ldmatrix phase
// and output staging store must hit 32 distinct banks. Runs without a GPU.
//   nvcc -std=c++17 -I native -I . test/cuda/mma_layout.cu -o mma_layout && ./mma_layout
#include <array>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <vector>

#include "cuda/mma.cuh"

using sa::cuda::mma::fragmentAOffset;
using sa::cuda::mma::fragmentBOffset;
using sa::cuda::mma::PaddedTile;

namespace {

using Fragments = std::array<std::array<uint32_t, 4>, 32>;  // [lane][register]
using Accumulators = std::array<std::array<float, 4>, 32>;   // one 16x8 C tile, [lane][c]
using Addresses = std::array<int, 32>;                       // element offsets, one per lane

int failures = 0, checks = 0;

void expect(bool ok, const char* what, int a, int b, int c) {
  ++checks;
  if (!ok && ++failures <= 10) std::printf("FAIL %s (%d, %d, %d)\n", what, a, b, c);
}

uint32_t pack(uint32_t lo, uint32_t hi) { return (lo & 0xffffu) | (hi << 16); }
uint32_t low(uint32_t r) { return r & 0xffffu; }
uint32_t high(uint32_t r) { return r >> 16; }

// ldmatrix.m8n8.x4: lane 8i + j gives the address of row j of matrix i; lane 4g + t receives
// row g, columns 2t..2t+1 of matrix i in register i (transposed: rows 2t..2t+1, column g).
Fragments ldmatrix(const std::vector<uint16_t>& smem, const Addresses& address, bool trans) {
  Fragments r{};
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 4; ++i) {
      const int g = lane / 4, t = lane % 4;
      r[lane][i] = trans ? pack(smem[address[8 * i + 2 * t] + g], smem[address[8 * i + 2 * t + 1] + g])
                         : pack(smem[address[8 * i + g] + 2 * t], smem[address[8 * i + g] + 2 * t + 1]);
    }
  return r;
}

// Each 8-lane phase of an ldmatrix reads eight 16-byte rows: they must cover all 32 banks.
void expectConflictFree(const Addresses& address, const char* what) {
  for (int phase = 0; phase < 4; ++phase) {
    std::set<int> banks;
    for (int j = 0; j < 8; ++j)
      for (int w = 0; w < 4; ++w) banks.insert((address[8 * phase + j] * 2 / 4 + w) % 32);
    expect(banks.size() == 32, what, phase, int(banks.size()), 0);
  }
}

// mma.m16n8k16.row.col: d += a (16x16) * b (16x8), operands as integers.
void mma(Accumulators& d, const Fragments& a, const Fragments& b, int b0) {
  double A[16][16], B[16][8];
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane / 4, t = lane % 4;
    const uint32_t* ar = a[lane].data();
    A[g][2 * t] = low(ar[0]), A[g][2 * t + 1] = high(ar[0]);
    A[g + 8][2 * t] = low(ar[1]), A[g + 8][2 * t + 1] = high(ar[1]);
    A[g][2 * t + 8] = low(ar[2]), A[g][2 * t + 9] = high(ar[2]);
    A[g + 8][2 * t + 8] = low(ar[3]), A[g + 8][2 * t + 9] = high(ar[3]);
    B[2 * t][g] = low(b[lane][b0]), B[2 * t + 1][g] = high(b[lane][b0]);
    B[2 * t + 8][g] = low(b[lane][b0 + 1]), B[2 * t + 9][g] = high(b[lane][b0 + 1]);
  }
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane / 4, t = lane % 4;
    for (int e = 0; e < 4; ++e) {
      const int row = g + 8 * (e / 2), col = 2 * t + e % 2;
      double sum = 0;
      for (int k = 0; k < 16; ++k) sum += A[row][k] * B[k][col];
      d[lane][e] += float(sum);
    }
  }
}

template <int W>
std::vector<uint16_t> randomTile(int rows) {
  std::vector<uint16_t> tile(PaddedTile<W>::kElements(rows), 0xdead);  // padding stays poisoned
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < W; ++c) tile[PaddedTile<W>::offset(r, 0) + c] = uint16_t(std::rand() % 4);
  return tile;
}

template <int W>
int at(const std::vector<uint16_t>& tile, int row, int col) {
  return tile[PaddedTile<W>::offset(row, 0) + col];
}

// One warp with MTiles m16 tiles of queries against N keys, the loops of computeScores and
// accumulateValues in cuda/mma_tile.cuh.
template <int D, int MTiles, int N>
void checkAttentionTile() {
  const int M = 16 * MTiles;
  auto q = randomTile<D>(M), k = randomTile<D>(N), v = randomTile<D>(N);
  std::vector<std::array<Accumulators, N / 8>> s(MTiles);
  for (auto& m : s)
    for (auto& tile : m) tile = {};
  for (int kk = 0; kk < D / 16; ++kk) {
    std::vector<Fragments> a(MTiles);
    for (int m = 0; m < MTiles; ++m) {
      Addresses address;
      for (int lane = 0; lane < 32; ++lane) address[lane] = fragmentAOffset<D>(16 * m, 2 * kk, lane);
      expectConflictFree(address, "query ldmatrix banks");
      a[m] = ldmatrix(q, address, false);
    }
    for (int nn = 0; nn < N / 16; ++nn) {
      Addresses address;
      for (int lane = 0; lane < 32; ++lane) address[lane] = fragmentBOffset<D>(16 * nn, 2 * kk, lane);
      expectConflictFree(address, "key ldmatrix banks");
      const Fragments b = ldmatrix(k, address, false);
      for (int m = 0; m < MTiles; ++m) mma(s[m][2 * nn], a[m], b, 0), mma(s[m][2 * nn + 1], a[m], b, 2);
    }
  }
  std::vector<std::vector<int>> expected(M, std::vector<int>(N));
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      int dot = 0;
      for (int d = 0; d < D; ++d) dot += at<D>(q, i, d) * at<D>(k, j, d);
      expected[i][j] = dot;
    }
  for (int m = 0; m < MTiles; ++m)
    for (int n = 0; n < N / 8; ++n)
      for (int lane = 0; lane < 32; ++lane)
        for (int e = 0; e < 4; ++e) {
          const int row = 16 * m + lane / 4 + 8 * (e / 2), col = 8 * n + 2 * (lane % 4) + e % 2;
          expect(s[m][n][lane][e] == float(expected[row][col]), "scores", D, row, col);
        }

  // P = S (small integers, exact in 16 bits), packed as scoresToA does.
  std::vector<std::array<Accumulators, D / 8>> o(MTiles);
  for (auto& m : o)
    for (auto& tile : m) tile = {};
  for (int kk = 0; kk < N / 16; ++kk) {
    std::vector<Fragments> a(MTiles);
    for (int m = 0; m < MTiles; ++m)
      for (int lane = 0; lane < 32; ++lane) {
        const auto& lo = s[m][2 * kk][lane];
        const auto& hi = s[m][2 * kk + 1][lane];
        a[m][lane] = {pack(uint32_t(lo[0]), uint32_t(lo[1])), pack(uint32_t(lo[2]), uint32_t(lo[3])),
                      pack(uint32_t(hi[0]), uint32_t(hi[1])), pack(uint32_t(hi[2]), uint32_t(hi[3]))};
      }
    for (int dn = 0; dn < D / 16; ++dn) {
      Addresses address;
      for (int lane = 0; lane < 32; ++lane) address[lane] = fragmentAOffset<D>(16 * kk, 2 * dn, lane);
      expectConflictFree(address, "value ldmatrix.trans banks");
      const Fragments b = ldmatrix(v, address, true);
      for (int m = 0; m < MTiles; ++m) mma(o[m][2 * dn], a[m], b, 0), mma(o[m][2 * dn + 1], a[m], b, 2);
    }
  }
  for (int m = 0; m < MTiles; ++m)
    for (int n = 0; n < D / 8; ++n)
      for (int lane = 0; lane < 32; ++lane)
        for (int e = 0; e < 4; ++e) {
          const int row = 16 * m + lane / 4 + 8 * (e / 2), col = 8 * n + 2 * (lane % 4) + e % 2;
          double sum = 0;
          for (int j = 0; j < N; ++j) sum += double(expected[row][j]) * at<D>(v, j, col);
          expect(o[m][n][lane][e] == float(sum), "outputs", D, row, col);
        }
}

// storeRows: lane 4g + t writes 4 bytes at (row g (+8), chunk d) + 2t of the padded tile.
template <int D>
void checkOutputStaging() {
  for (int h = 0; h < 2; ++h)
    for (int d = 0; d < D / 8; ++d) {
      std::set<int> banks;
      for (int lane = 0; lane < 32; ++lane)
        banks.insert((PaddedTile<D>::offset(lane / 4 + 8 * h, d) + 2 * (lane % 4)) * 2 / 4 % 32);
      expect(banks.size() == 32, "output staging banks", D, d, int(banks.size()));
    }
}

}  // namespace

int main() {
  std::srand(7);
  checkAttentionTile<64, 2, 64>();
  checkAttentionTile<128, 2, 32>();
  checkAttentionTile<128, 1, 64>();
  checkOutputStaging<64>();
  checkOutputStaging<128>();
  std::printf("mma layout: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}

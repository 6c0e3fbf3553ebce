// Chooses the CPU kernels' instruction set once per process and forwards the kernel entry
// points of native/kernels/*.h to that copy (see cpu_kernels.h). Compiled once, for the
// baseline of the architecture: nothing here may use more than the oldest CPU has.
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "cpu/cpu_kernels.h"
#include "cpu_variants.h"  // generated: SA_CPU_FOR_EACH_VARIANT, best first

#define SA_DECLARE_TABLE(isa) extern "C" const sa::CpuKernels sa_cpu_kernels_##isa;
SA_CPU_FOR_EACH_VARIANT(SA_DECLARE_TABLE)
#undef SA_DECLARE_TABLE

namespace sa {

namespace {

#define SA_TABLE_ADDRESS(isa) &sa_cpu_kernels_##isa,
const CpuKernels* const kCompiled[] = {SA_CPU_FOR_EACH_VARIANT(SA_TABLE_ADDRESS)};
#undef SA_TABLE_ADDRESS

const char* const kLevels[] = {"avx512", "avx2", "baseline", "neon"};

// What each level needs beyond the architecture's baseline; the levels are the x86-64
// micro-architecture levels the copies are compiled for (-march=x86-64-v4 and -v3). libgcc's
// checks include the operating system's support for the wider registers (XCR0).
bool cpuSupports(const std::string& level) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
  if (level == "avx512") return __builtin_cpu_supports("x86-64-v4");
  if (level == "avx2") return __builtin_cpu_supports("x86-64-v3");
#else
  const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                  __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
  if (level == "avx512")
    return v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
  if (level == "avx2") return v3;
#endif
  return level == "baseline";
#elif defined(__aarch64__)
  return level == "neon" || level == "baseline";
#else
  return level == "baseline";
#endif
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

const CpuKernels& selectCpuKernels() {
  const CpuLevels levels = cpuLevels();
  const char* env = std::getenv("SPARSE_ATTENTION_CPU");
  const std::string forced = env ? env : "";
  if (forced.empty()) {
    for (const CpuKernels* k : kCompiled)
      if (cpuSupports(k->level)) return *k;
    throw std::runtime_error("sparse-attention: this CPU supports none of the instruction sets the CPU kernels were "
                             "compiled for (" + join(levels.compiled) +
                             "); a build made elsewhere with SPARSE_ATTENTION_MARCH_NATIVE=1 runs only on CPUs like "
                             "the one that built it: reinstall to build for this one");
  }
  bool known = false;
  for (const char* l : kLevels) known = known || forced == l;
  if (!known)
    throw std::runtime_error("sparse-attention: SPARSE_ATTENTION_CPU=" + forced +
                             " is not an instruction set of the CPU kernels; use one of: " + join(levels.compiled));
  for (const CpuKernels* k : kCompiled) {
    if (forced != k->level) continue;
    if (!cpuSupports(k->level))
      throw std::runtime_error("sparse-attention: SPARSE_ATTENTION_CPU=" + forced +
                               ": this CPU does not support it; it supports: " + join(levels.supported));
    return *k;
  }
  throw std::runtime_error("sparse-attention: SPARSE_ATTENTION_CPU=" + forced +
                           ": this build has no CPU kernels for it; it has: " + join(levels.compiled) +
                           (levels.compiled.size() == 1 ? " (a single-variant build, e.g. SPARSE_ATTENTION_MARCH_NATIVE=1)"
                                                        : ""));
}

}  // namespace

CpuLevels cpuLevels() {
  CpuLevels levels;
  for (const CpuKernels* k : kCompiled) {
    levels.compiled.push_back(k->level);
    if (cpuSupports(k->level)) levels.supported.push_back(k->level);
  }
  return levels;
}

const CpuKernels& cpuKernels() {
  static const CpuKernels& chosen = selectCpuKernels();
  return chosen;
}

#if SA_CPU_ISOLATED
// The entry points of native/kernels/*.h. (A build with a single copy linked directly, without
// isolation, has the copy's own definitions under these names instead.)

void axialPositionEncodingCpu(const CpuContext& ctx, const AxialShape& s, const void* w0, const void* w1,
                              const int32_t* positionIds, void* out) {
  cpuKernels().axialPositionEncoding(ctx, s, w0, w1, positionIds, out);
}

void denseAttentionCpu(const CpuContext& ctx, const DenseShape& s, const float* q, const float* k, const float* v,
                       float* out) {
  cpuKernels().denseAttention(ctx, s, q, k, v, out);
}

void localAttentionCpu(const CpuContext& ctx, const LocalShape& s, const LocalInputs<float>& in,
                       const int32_t* attentionMask, float* out) {
  cpuKernels().localAttention(ctx, s, in, attentionMask, out);
}

void lshHashCpu(const CpuContext& ctx, const LshHashShape& s, const float* qk, const float* rotations,
                const int32_t* paddingMask, int32_t* buckets) {
  cpuKernels().lshHash(ctx, s, qk, rotations, paddingMask, buckets);
}

void sortByBucketCpu(const CpuContext& ctx, int rows, int n, const int32_t* buckets, int32_t* sortedIndex,
                     int32_t* undoIndex) {
  cpuKernels().sortByBucket(ctx, rows, n, buckets, sortedIndex, undoIndex);
}

void lshAttentionCpu(const CpuContext& ctx, const LshAttentionShape& s, bool halfPrecisionMasks, const float* qk,
                     const float* v, const float* rotations, const int32_t* paddingMask, float* out) {
  cpuKernels().lshAttention(ctx, s, halfPrecisionMasks, qk, v, rotations, paddingMask, out);
}

void reformerLocalAttentionCpu(const CpuContext& ctx, const ReformerLocalShape& s, bool halfPrecisionMasks,
                               const float* q, const float* k, const float* v, const int32_t* paddingMask, float* out) {
  cpuKernels().reformerLocalAttention(ctx, s, halfPrecisionMasks, q, k, v, paddingMask, out);
}

void linearCpu(const CpuContext& ctx, const LinearShape& s, const float* x, const float* w, const float* bias,
               float* y) {
  cpuKernels().linear(ctx, s, x, w, bias, y);
}

void layerNormCpu(const CpuContext& ctx, const LayerNormShape& s, const float* x, const float* weight,
                  const float* bias, float* y) {
  cpuKernels().layerNorm(ctx, s, x, weight, bias, y);
}

void activationCpu(const CpuContext& ctx, Activation f, int64_t n, const float* x, float* y) {
  cpuKernels().activation(ctx, f, n, x, y);
}

void addCpu(const CpuContext& ctx, int64_t n, const float* a, const float* b, float* y) {
  cpuKernels().add(ctx, n, a, b, y);
}

void embeddingCpu(const CpuContext& ctx, const EmbeddingShape& s, const int32_t* ids, const void* table, void* out) {
  cpuKernels().embedding(ctx, s, ids, table, out);
}

void copyBlocksCpu(const CpuContext& ctx, const BlockCopy& c, const void* src, void* dst) {
  cpuKernels().copyBlocks(ctx, c, src, dst);
}
#endif

}  // namespace sa

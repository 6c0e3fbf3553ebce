// The CPU kernels as one table per instruction set, and the table chosen for this process.
//
// native/cpu/*.cc (less the shared runtime, see CMakeLists.txt) are compiled once per
// instruction set the build supports (cmake/CpuFlags.cmake), each copy with its own flags and
// kept apart from the others (cmake/CpuVariants.cmake); the only thing a copy exports is its
// table, `sa_cpu_kernels_<variant>` (cpu_kernels_table.cc). The kernel entry points declared
// in native/kernels/*.h (denseAttentionCpu, ...) are defined by the dispatcher
// (cpu_dispatch.cc): each forwards to the chosen table. A new CPU entry point is a member
// here, a line in cpu_kernels_table.cc and a forwarder in cpu_dispatch.cc.
#pragma once

#include <string>
#include <vector>

#include "kernels/axial.h"
#include "kernels/copy_blocks.h"
#include "kernels/dense.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/layer_norm.h"
#include "kernels/linear.h"
#include "kernels/local.h"
#include "kernels/lsh.h"
#include "kernels/reformer_local.h"

namespace sa {

struct CpuKernels {
  // The instruction set the copy was compiled for, as backendInfo().cpuKernels reports it:
  // "avx512", "avx2", "baseline" or "neon".
  const char* level;
  decltype(&axialPositionEncodingCpu) axialPositionEncoding;
  decltype(&denseAttentionCpu) denseAttention;
  decltype(&localAttentionCpu) localAttention;
  decltype(&lshHashCpu) lshHash;
  decltype(&sortByBucketCpu) sortByBucket;
  decltype(&lshAttentionCpu) lshAttention;
  decltype(&reformerLocalAttentionCpu) reformerLocalAttention;
  decltype(&linearCpu) linear;
  decltype(&layerNormCpu) layerNorm;
  decltype(&activationCpu) activation;
  decltype(&addCpu) add;
  decltype(&embeddingCpu) embedding;
  decltype(&copyBlocksCpu) copyBlocks;
};

// The table this process uses: the best level both compiled in and supported by the CPU, or
// the one SPARSE_ATTENTION_CPU names. Chosen on the first call; throws std::runtime_error
// (on every call) when SPARSE_ATTENTION_CPU names a level that is unknown, not compiled in, or
// not supported by this CPU. The addon calls it when it loads.
const CpuKernels& cpuKernels();

struct CpuLevels {
  std::vector<std::string> compiled;   // best first
  std::vector<std::string> supported;  // those of `compiled` this CPU can run, best first
};
CpuLevels cpuLevels();

}  // namespace sa

// This copy's table of CPU kernels. Compiled, like every kernel source, once per instruction
// set, with SA_CPU_ISA naming the copy; its level is read off the flags it was compiled with,
// so that a -march=native build reports what it really uses.
#include "cpu/cpu_kernels.h"

#if !defined(SA_CPU_ISA)
#error "SA_CPU_ISA names the variant this file is compiled for (cmake/CpuVariants.cmake)"
#endif

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512VL__)
#define SA_CPU_LEVEL "avx512"
#elif defined(__AVX2__) && defined(__FMA__)
#define SA_CPU_LEVEL "avx2"
#elif defined(__aarch64__) || defined(__ARM_NEON)
#define SA_CPU_LEVEL "neon"
#else
#define SA_CPU_LEVEL "baseline"
#endif

#define SA_CPU_TABLE_NAME(isa) sa_cpu_kernels_##isa
#define SA_CPU_TABLE(isa) SA_CPU_TABLE_NAME(isa)

extern "C" const sa::CpuKernels SA_CPU_TABLE(SA_CPU_ISA);
extern "C" const sa::CpuKernels SA_CPU_TABLE(SA_CPU_ISA) = {
    SA_CPU_LEVEL,
    &sa::axialPositionEncodingCpu,
    &sa::denseAttentionCpu,
    &sa::localAttentionCpu,
    &sa::lshHashCpu,
    &sa::sortByBucketCpu,
    &sa::lshAttentionCpu,
    &sa::reformerLocalAttentionCpu,
    &sa::linearCpu,
    &sa::layerNormCpu,
    &sa::activationCpu,
    &sa::addCpu,
    &sa::embeddingCpu,
    &sa::copyBlocksCpu,
};

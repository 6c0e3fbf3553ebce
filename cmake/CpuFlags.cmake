# Flags of the CPU kernels, and the instruction sets they are compiled for.
#
# The kernels (native/cpu/ less the shared runtime listed in CMakeLists.txt) are compiled once
# per instruction set ("variant") and the best one the CPU supports is chosen at load
# (native/cpu/cpu_dispatch.cc), so that one binary runs everywhere at full speed:
#   x86-64:  avx512 (-march=x86-64-v4), avx2 (-march=x86-64-v3: AVX2, FMA, BMI, F16C),
#            baseline (-march=x86-64: SSE2)
#   aarch64: neon (NEON is part of the base architecture: one variant)
#   other:   baseline
# SPARSE_ATTENTION_MARCH_NATIVE=1 compiles one variant with -march=native instead: the
# instruction set of the building machine only, tuned for it (a binary that may not run on
# another CPU; the benchmark of the dispatch uses it).
include(CheckCXXCompilerFlag)
set(SA_CPU_FLAGS -O3)
if(NOT MSVC)
  list(APPEND SA_CPU_FLAGS -fno-math-errno -Wall -Wextra -Wno-unused-parameter)
endif()

if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(SA_CPU_ARCH x86_64)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
  set(SA_CPU_ARCH aarch64)
else()
  set(SA_CPU_ARCH other)
endif()

# Variants are isolated from one another by a partial link that keeps one symbol global
# (cmake/CpuVariants.cmake): that needs an ELF toolchain with GNU ld's --force-group-allocation
# and objcopy. Without it only one variant can be linked, and it is the native one.
set(SA_CPU_ISOLATE OFF)
if(NOT APPLE AND NOT WIN32 AND CMAKE_LINKER AND CMAKE_OBJCOPY)
  execute_process(COMMAND ${CMAKE_LINKER} --help OUTPUT_VARIABLE SA_LINKER_HELP ERROR_QUIET)
  if(SA_LINKER_HELP MATCHES "--force-group-allocation")
    set(SA_CPU_ISOLATE ON)
  endif()
endif()

if("$ENV{SPARSE_ATTENTION_MARCH_NATIVE}" STREQUAL "1" OR (NOT SA_CPU_ISOLATE AND NOT MSVC))
  if(NOT SA_CPU_ISOLATE)
    message(STATUS "sparse-attention: no partial-link toolchain (GNU ld, objcopy): CPU kernels for this machine only")
  endif()
  set(SA_CPU_VARIANTS native)
  check_cxx_compiler_flag(-march=native SA_HAS_MARCH_NATIVE)
  set(SA_CPU_FLAGS_native "")
  if(SA_HAS_MARCH_NATIVE)
    set(SA_CPU_FLAGS_native -march=native)
  endif()
elseif(SA_CPU_ARCH STREQUAL "x86_64" AND NOT MSVC)
  set(SA_CPU_VARIANTS avx512 avx2 baseline)
  check_cxx_compiler_flag(-march=x86-64-v4 SA_HAS_MARCH_LEVELS)
  if(SA_HAS_MARCH_LEVELS)
    set(SA_CPU_FLAGS_avx512 -march=x86-64-v4)
    set(SA_CPU_FLAGS_avx2 -march=x86-64-v3)
  else()
    # Compilers before the x86-64-vN names (GCC < 11, clang < 12): the same feature sets.
    set(SA_CPU_FLAGS_avx2 -mavx2 -mfma -mbmi -mbmi2 -mf16c -mlzcnt -mmovbe)
    set(SA_CPU_FLAGS_avx512 ${SA_CPU_FLAGS_avx2} -mavx512f -mavx512bw -mavx512cd -mavx512dq -mavx512vl)
  endif()
  # Explicit, in case the compiler's default is a higher level (some distributions' is v2).
  set(SA_CPU_FLAGS_baseline -march=x86-64 -mtune=generic)
elseif(SA_CPU_ARCH STREQUAL "aarch64")
  set(SA_CPU_VARIANTS neon)
  set(SA_CPU_FLAGS_neon "")
else()
  set(SA_CPU_VARIANTS baseline)
  set(SA_CPU_FLAGS_baseline "")
endif()
message(STATUS "sparse-attention: CPU kernels for ${SA_CPU_VARIANTS}")

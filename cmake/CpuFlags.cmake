# The addon is built from source on the machine that runs it, so by default the CPU kernels
# use that machine's vector instructions. SPARSE_ATTENTION_PORTABLE=1 builds a generic binary.
include(CheckCXXCompilerFlag)
set(SA_CPU_FLAGS -O3)
if(NOT "$ENV{SPARSE_ATTENTION_PORTABLE}" STREQUAL "1" AND NOT MSVC)
  check_cxx_compiler_flag(-march=native SA_HAS_MARCH_NATIVE)
  if(SA_HAS_MARCH_NATIVE)
    list(APPEND SA_CPU_FLAGS -march=native)
  endif()
endif()
if(NOT MSVC)
  list(APPEND SA_CPU_FLAGS -fno-math-errno -Wall -Wextra -Wno-unused-parameter)
endif()

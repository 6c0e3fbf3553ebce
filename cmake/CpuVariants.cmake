# sa_add_cpu_variant(name): the CPU kernel sources compiled with the flags of one instruction
# set (SA_CPU_FLAGS_<name>, cmake/CpuFlags.cmake), added to sa_kernels. The copy's only entry
# is its table of kernels, `sa_cpu_kernels_<name>` (native/cpu/cpu_kernels_table.cc).
#
# Why a partial link: every copy defines the same functions (sa::denseAttentionCpu,
# sa::cpu::gemmNT, ...), and every copy also emits its own out-of-line instances of inline
# functions and templates (std::vector<float>'s, the headers' helpers), compiled with its own
# instruction set. A plain link would keep one instance of each for the whole program, perhaps
# an AVX-512 one called from the baseline kernels. So each copy is linked into one object with
# its section groups dissolved (every instance kept, resolved inside the copy), and objcopy
# then makes every symbol it defines local except its table. What the copy leaves undefined
# (the thread pool, the C++ runtime, libc) still comes from the rest of the program.
# GCC gives static locals of inline functions a binding objcopy cannot make local
# (STB_GNU_UNIQUE); -fno-gnu-unique makes them plain weak symbols. Each copy then has its own
# such statics: the kernels keep no state in them (only constant tables like <charconv>'s).
include(CheckCXXCompilerFlag)
check_cxx_compiler_flag(-fno-gnu-unique SA_HAS_NO_GNU_UNIQUE)
function(sa_add_cpu_variant name)
  set(target sa_cpu_${name})
  add_library(${target} OBJECT ${SA_CPU_KERNEL_SOURCES})
  target_include_directories(${target} PRIVATE ${CMAKE_SOURCE_DIR}/native)
  target_compile_options(${target} PRIVATE ${SA_CPU_FLAGS} ${SA_CPU_FLAGS_${name}})
  target_compile_definitions(${target} PRIVATE SA_CPU_ISA=${name})
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  if(SA_CPU_ISOLATE)
    if(SA_HAS_NO_GNU_UNIQUE)
      target_compile_options(${target} PRIVATE -fno-gnu-unique)
    endif()
    set(object ${CMAKE_CURRENT_BINARY_DIR}/${target}.o)
    add_custom_command(OUTPUT ${object}
      COMMAND ${CMAKE_LINKER} -r --force-group-allocation -o ${object}.linked $<TARGET_OBJECTS:${target}>
      COMMAND ${CMAKE_OBJCOPY} --keep-global-symbol=sa_cpu_kernels_${name} ${object}.linked ${object}
      DEPENDS ${target} $<TARGET_OBJECTS:${target}>
      COMMENT "Isolating the ${name} CPU kernels"
      COMMAND_EXPAND_LISTS VERBATIM)
    set_source_files_properties(${object} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
    target_sources(sa_kernels PRIVATE ${object})
  else()
    target_sources(sa_kernels PRIVATE $<TARGET_OBJECTS:${target}>)
  endif()
endfunction()

# The variants the dispatcher knows, best first, as a header it includes.
function(sa_write_cpu_variants_header path)
  set(SA_CPU_VARIANT_LIST "")
  foreach(v ${SA_CPU_VARIANTS})
    string(APPEND SA_CPU_VARIANT_LIST " X(${v})")
  endforeach()
  configure_file(${CMAKE_SOURCE_DIR}/cmake/cpu_variants.h.in ${path} @ONLY)
endfunction()

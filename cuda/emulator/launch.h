// cuda/launch.cuh's launchKernel for the emulated device: the arguments are converted to the
// kernel's parameter types and kept with the launch, and each emulated thread calls the kernel
// with its own copies, as each GPU thread receives its own.
#pragma once

#include <cuda_runtime_api.h>

#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cuda/emulator/device.h"

namespace sa::cuda {

namespace detail {

// The kernel's name as the compiler spells the template argument, e.g.
// "sa::{anonymous}::denseKernel<sa::DType::Float32>".
inline std::string templateArgument(const std::string& prettyFunction) {
  // GCC writes "... kernelName<ARG>() ..." or "... [with auto Kernel = ARG; ...]".
  size_t begin = prettyFunction.find("Kernel = ");
  if (begin != std::string::npos) begin += 9;
  else if ((begin = prettyFunction.find("kernelName<")) != std::string::npos) begin += 11;
  else return prettyFunction;
  int depth = 0;
  size_t end = begin;
  for (; end < prettyFunction.size(); ++end) {
    const char c = prettyFunction[end];
    if (depth == 0 && (c == ';' || c == ']' || c == '>')) break;
    if (c == '<' || c == '(') ++depth;
    if (c == '>' || c == ')') --depth;
  }
  return prettyFunction.substr(begin, end - begin);
}

// The kernel's name as the compiler spells the template argument, e.g.
// "sa::{anonymous}::denseKernel<sa::DType::Float32>".
template <auto Kernel>
const std::string& kernelName() {
  static const std::string name = templateArgument(__PRETTY_FUNCTION__);
  return name;
}

template <auto Kernel, typename... Params, typename... Args>
void launchAs(void (*)(Params...), dim3 grid, dim3 block, size_t sharedBytes, cudaStream_t stream, Args&&... args) {
  auto values = std::make_shared<std::tuple<std::decay_t<Params>...>>(std::forward<Args>(args)...);
  emu::Launch launch{kernelName<Kernel>(), reinterpret_cast<const void*>(Kernel), grid, block, sharedBytes,
                     [values] { std::apply(Kernel, *values); }};
  emu::setLastError(emu::launch(std::move(launch), stream));
}

}  // namespace detail

template <auto Kernel, typename... Args>
inline void launchKernel(dim3 grid, dim3 block, size_t sharedBytes, cudaStream_t stream, Args&&... args) {
  detail::launchAs<Kernel>(Kernel, grid, block, sharedBytes, stream, std::forward<Args>(args)...);
}

}  // namespace sa::cuda

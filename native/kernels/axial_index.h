// Which rows of the two axial weights a position selects; shared by the CPU and CUDA kernels.
#pragma once

#include "kernels/common.h"

namespace sa {

enum class AxialLayout : int {
  Reformer = 0,  // E[p] = concat(w0[p div n1], w1[p mod n1])  (Hugging Face, trax)
  Seed = 1,      // E[p] = concat(E1[p mod n0], E2[p div n0])  with weights [E1, E2]
};

struct AxialRows {
  int r0, r1;
};

SA_HD bool axialPositionValid(int p, int n0, int n1) { return p >= 0 && int64_t(p) < int64_t(n0) * n1; }

SA_HD AxialRows axialRows(int p, int n0, int n1, AxialLayout layout) {
  if (layout == AxialLayout::Reformer) return {p / n1, p % n1};
  return {p % n0, p / n0};
}

}  // namespace sa

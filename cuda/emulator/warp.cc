// Warp shuffles and votes of the emulated device (cuda/emulator/intrinsics.h), computed for the
// whole warp by the last lane to arrive at the rendezvous.
#include <cstdint>
#include <string>

#include "cuda/emulator/intrinsics.h"
#include "cuda/emulator/thread.h"

namespace sa::emu {

namespace {

// The lane whose value lane `lane` reads, or -1 for its own (PTX shfl: a source lane outside
// the lane's segment of `width` lanes leaves the value unchanged).
int sourceLane(ShuffleKind kind, int lane, int arg, int width) {
  const int base = lane & ~(width - 1);
  switch (kind) {
    case ShuffleKind::Index: return base + (arg & (width - 1));
    case ShuffleKind::Xor: {
      const int source = lane ^ arg;
      return (source & ~(width - 1)) == base ? source : -1;
    }
    case ShuffleKind::Up: return lane - arg >= base ? lane - arg : -1;
    case ShuffleKind::Down: return lane + arg < base + width ? lane + arg : -1;
  }
  return -1;
}

}  // namespace

uint64_t shuffle(unsigned mask, uint64_t bits, const char* op, ShuffleKind kind, int arg, int width) {
  if (width < 1 || width > kWarpSize || (width & (width - 1)))
    fail(std::string(op) + ": width must be a power of two from 1 to 32");
  struct Slot {
    uint64_t in, out;
    int arg;
  } slot{bits, bits, arg};
  warpSync(mask, op, &slot, [mask, op, kind, width](void* const* slots) {
    for (int l = 0; l < kWarpSize; ++l) {
      if (!slots[l]) continue;
      auto* s = static_cast<Slot*>(slots[l]);
      const int source = sourceLane(kind, l, s->arg, width);
      if (source < 0) continue;
      // An inactive source lane is undefined on a GPU.
      if (!(mask >> source & 1u)) fail(std::string(op) + ": reads a lane that is not in the mask");
      s->out = static_cast<Slot*>(slots[source])->in;
    }
  });
  return slot.out;
}

unsigned ballot(unsigned mask, int predicate, const char* op) {
  struct Slot {
    int in;
    unsigned out;
  } slot{predicate != 0, 0};
  warpSync(mask, op, &slot, [](void* const* slots) {
    unsigned bits = 0;
    for (int l = 0; l < kWarpSize; ++l)
      if (slots[l] && static_cast<Slot*>(slots[l])->in) bits |= 1u << l;
    for (int l = 0; l < kWarpSize; ++l)
      if (slots[l]) static_cast<Slot*>(slots[l])->out = bits;
  });
  return slot.out;
}

}  // namespace sa::emu

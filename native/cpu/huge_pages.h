// A hint for large outputs that a kernel writes from scratch: back them with transparent huge
// pages. A fresh multi-GiB buffer (a Float32Array is calloc'd, and calloc maps large blocks
// lazily) otherwise takes one page fault and one 4 KiB zeroing per page on first write, inside
// the kernel: 786,432 faults and about 2.7 s of system time for the 3 GiB output of local
// attention over 1M tokens here. With 2 MiB pages that is 1,536 faults. Only a hint: where the
// OS has no such pages, or the range is not eligible, nothing changes.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace sa::cpu {

// Below this a buffer's faults cost too little to be worth a system call.
constexpr size_t kHugePageHintBytes = size_t(64) << 20;

// Advises the 2 MiB-aligned part of [p, p + bytes) for huge pages; errors are ignored.
inline void adviseHugePages(void* p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (bytes < kHugePageHintBytes) return;
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

}  // namespace sa::cpu

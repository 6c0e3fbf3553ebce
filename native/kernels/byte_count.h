// Byte counts written by people, as in SPARSE_ATTENTION_CUDA_MEMORY_LIMIT: "1073741824",
// "512m", "1.5g" (suffixes k, m, g, t in powers of 1024, either case).
#pragma once

#include <cstdint>

namespace sa {

// Returns false, leaving *bytes alone, for anything else: empty text, signs, other suffixes,
// trailing characters, or a value of 2^63 bytes or more.
bool parseByteCount(const char* text, uint64_t* bytes);

}  // namespace sa

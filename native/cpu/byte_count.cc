#include "kernels/byte_count.h"

#include <cctype>
#include <cmath>

namespace sa {

namespace {

double suffixScale(char c) {
  switch (std::tolower(static_cast<unsigned char>(c))) {
    case 'k': return 1024.0;
    case 'm': return 1024.0 * 1024.0;
    case 'g': return 1024.0 * 1024.0 * 1024.0;
    case 't': return 1024.0 * 1024.0 * 1024.0 * 1024.0;
    default: return 0.0;
  }
}

}  // namespace

bool parseByteCount(const char* text, uint64_t* bytes) {
  if (!text) return false;
  const char* p = text;
  double value = 0.0;
  bool digits = false;
  for (; std::isdigit(static_cast<unsigned char>(*p)); ++p, digits = true) value = value * 10.0 + (*p - '0');
  if (*p == '.') {
    double place = 0.1;
    for (++p; std::isdigit(static_cast<unsigned char>(*p)); ++p, place /= 10.0, digits = true) value += (*p - '0') * place;
  }
  if (!digits) return false;
  if (*p) {
    const double scale = suffixScale(*p++);
    if (scale == 0.0 || *p) return false;
    value *= scale;
  }
  if (!(value < 9.2e18)) return false;
  *bytes = uint64_t(std::floor(value));
  return true;
}

}  // namespace sa

#include "cpu/thread_priority.h"

#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace sa {

void lowerThisThreadPriority() {
#if defined(__linux__)
  // On Linux a nice value set through a thread id applies to that thread alone.
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  if (getpriority(PRIO_PROCESS, tid) < kComputeNice) setpriority(PRIO_PROCESS, tid, kComputeNice);
#endif
}

}  // namespace sa

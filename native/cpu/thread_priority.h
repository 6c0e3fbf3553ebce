// Compute threads run a little below normal priority. The main thread of a Node process only
// validates arguments and schedules work, but it must get a CPU the moment it has something to
// do: at equal priority, compute threads on every core leave it waiting in the run queue, and
// the event loop stalls although nothing blocks it.
#pragma once

namespace sa {

// The nice value compute threads take: CFS then gives a runnable main thread about three times
// the CPU share of each of them; with nothing else to run they still get whole cores.
constexpr int kComputeNice = 5;

// Lowers the calling thread's priority to kComputeNice (Linux; elsewhere, or where the system
// refuses, it leaves the priority alone).
void lowerThisThreadPriority();

}  // namespace sa

// The main thread's scheduler statistics (Linux /proc/<pid>/task/<pid>/schedstat): time on a
// CPU and time runnable but waiting for one. A timer that fires late while the main thread
// waited for a CPU was delayed by contention, not by code holding the event loop.
import { readFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

export interface MainThreadTimes {
  onCpuMs: number;
  waitingMs: number;
}

/** Undefined where /proc is missing, or when the tests run in a worker thread. */
export function mainThreadTimes(): MainThreadTimes | undefined {
  if (!isMainThread) return undefined;
  try {
    const [onCpu, waiting] = readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'utf8').split(' ').map(Number);
    return { onCpuMs: onCpu! / 1e6, waitingMs: waiting! / 1e6 };
  } catch {
    return undefined;
  }
}

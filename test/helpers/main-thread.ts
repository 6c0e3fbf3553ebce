// How free the main thread is: its scheduler statistics (Linux /proc/<pid>/task/<pid>/schedstat):
// time on a CPU and time runnable but waiting for one; and the longest gap of a 2 ms timer. A timer that
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

/** Longest gap between ticks of a 2 ms interval while `work` runs. */
export async function worstTickGap<T>(work: () => Promise<T>): Promise<{ result: T; worst: number; ticks: number }> {
  let worst = 0, last = performance.now(), ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
    ticks++;
  }, 2);
  try {
    const result = await work();
    return { result, worst: Math.max(worst, performance.now() - last), ticks };
  } finally {
    clearInterval(timer);
  }
}

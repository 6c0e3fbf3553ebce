// Time and peak memory of one operation, and a progress line on stderr.
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { emptyCache, memoryStats } from '../dist/esm/index.js';

// Garbage left by earlier steps (host copies, disposed outputs) would sit in the RSS
// baseline and could be freed during the next op, hiding that op's own allocations.
// Collecting it first needs the gc() function, which Node exposes only behind a flag.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

/** Collects garbage and gives V8's concurrent sweeper time to return freed buffers. */
async function collectGarbage() {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 50));
  gc();
}

function currentRssBytes() {
  return Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]) * 4096;
}

/** Resets the kernel's peak-RSS mark, so that the next peak belongs to the next op alone. */
function resetPeakRss() {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `fn` (resolving to a Tensor) once: { result, ms, peakBytes }. peakBytes is the memory
 * the op added at its peak, output included: on the CPU the growth of the process's peak
 * RSS, on CUDA the growth of the device pool (emptied first, so that it grows to the op's
 * high-water mark). null where it cannot be measured (no /proc).
 */
export async function measure(device, fn) {
  const onCuda = device !== 'cpu';
  await collectGarbage();
  if (onCuda) emptyCache();
  const canTrackRss = !onCuda && resetPeakRss();
  const base = onCuda ? memoryStats().cudaBytes : canTrackRss ? currentRssBytes() : 0;
  const start = performance.now();
  const result = await fn();
  const ms = performance.now() - start;
  const peak = onCuda ? memoryStats().cudaBytes : process.resourceUsage().maxRSS * 1024;
  return { result, ms, peakBytes: onCuda || canTrackRss ? Math.max(0, peak - base) : null };
}

const live = process.stderr.isTTY;

/** One progress message: rewritten in place on a terminal, one line per step otherwise. */
export function progress(text) {
  process.stderr.write(live ? `\r\x1b[K${text}` : `${text}\n`);
}

export function progressDone() {
  if (live) process.stderr.write('\r\x1b[K');
}

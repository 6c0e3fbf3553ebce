// Timing and memory measurement shared by the harness's own implementations (ours.mjs,
// axial_js.mjs), done exactly as the PyTorch peer does it so that the numbers compare.
import { readFileSync, writeFileSync } from 'node:fs';

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function currentRssBytes() {
  return Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]) * 4096;
}

/** The process's peak RSS since start or since the last resetPeakRss(). */
export function peakRssBytes() {
  return process.resourceUsage().maxRSS * 1024;
}

/**
 * Resets the kernel's peak-RSS mark to the current RSS, so that start-up and input loading
 * are not attributed to the op (Linux; elsewhere the peak covers the whole process).
 */
export function resetPeakRss() {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // not Linux, or not permitted
  }
}

export function roundMs(x) {
  return Math.round(x * 1000) / 1000;
}

/**
 * Collects garbage (the harness runs these scripts with --expose-gc) and gives V8's
 * concurrent sweeper time to return the freed buffers, so that they are not freed during
 * the measured runs and do not sit in the baseline.
 */
export async function settleGarbage() {
  if (!globalThis.gc) return;
  globalThis.gc();
  await new Promise((resolve) => setTimeout(resolve, 50));
  globalThis.gc();
}

// Agreement between two implementations' outputs of the same job.
import { existsSync, statSync } from 'node:fs';
import { readRaw } from './rawio.mjs';

/** The agreement threshold: float32 implementations of the same math agree far closer. */
export const MAX_RELATIVE_L2 = 1e-4;

/**
 * Relative L2 error ‖got − want‖ / ‖want‖ of two float32 files, in float64; NaN where the
 * output holds NaN, null where either file is missing or their sizes differ.
 */
export function relativeL2(gotFile, wantFile) {
  if (!existsSync(gotFile) || !existsSync(wantFile)) return null;
  if (statSync(gotFile).size !== statSync(wantFile).size) return null;
  const n = statSync(wantFile).size / 4;
  const got = readRaw(gotFile, 'float32', [n]);
  const want = readRaw(wantFile, 'float32', [n]);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < n; i++) {
    const d = got[i] - want[i];
    diff += d * d;
    norm += want[i] * want[i];
  }
  return norm > 0 ? Math.sqrt(diff / norm) : Math.sqrt(diff);
}

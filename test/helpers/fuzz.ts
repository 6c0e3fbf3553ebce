// Seeded randomness and run lengths for the fuzz tests. A failure prints its seed and case
// number; SPARSE_ATTENTION_FUZZ_SEED replays another seed, SPARSE_ATTENTION_FUZZ=long runs 10×
// as many cases (or SPARSE_ATTENTION_FUZZ=<factor>).
import { rng } from './random.js';

export const FUZZ_SEED = Number(process.env.SPARSE_ATTENTION_FUZZ_SEED ?? 20251126) >>> 0;

/** How many cases to run: `quick` by default, scaled by SPARSE_ATTENTION_FUZZ. */
export function fuzzCount(quick: number): number {
  const mode = process.env.SPARSE_ATTENTION_FUZZ;
  if (!mode) return quick;
  const factor = mode === 'long' ? 10 : Number(mode);
  if (!(factor > 0)) throw new Error(`SPARSE_ATTENTION_FUZZ must be 'long' or a positive factor, got '${mode}'`);
  return Math.round(quick * factor);
}

export class Rand {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = rng(seed);
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

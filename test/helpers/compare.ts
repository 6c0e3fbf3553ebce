import { expect } from 'vitest';

/** Relative L2 error ||a - b|| / ||b||, computed in float64. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let num = 0, den = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = actual[i]! - expected[i]!;
    num += d * d;
    den += expected[i]! * expected[i]!;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  const err = relativeError(actual, expected);
  expect(Number.isFinite(err), `relative error is ${err}`).toBe(true);
  expect(err, `relative L2 error ${err.toExponential(2)} exceeds ${tolerance}`).toBeLessThanOrEqual(tolerance);
}

export function expectEqualArrays(actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) expect(`index ${i}: ${actual[i]}`).toBe(`index ${i}: ${expected[i]}`);
  }
}

// Garbage collection on demand (vitest runs with --expose-gc) and the wait for the
// FinalizationRegistry callbacks it schedules, so that memory figures count only live objects.
export async function settleGarbage(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('memory tests need node --expose-gc (vitest.config.ts passes it)');
  for (let round = 0; round < 3; round++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

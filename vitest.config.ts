import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Native work runs on worker threads; one file at a time keeps timings of the
    // event-loop tests meaningful on a 2-core machine.
    fileParallelism: false,
    pool: 'forks',
    // gc() for the memory tests; a young generation at its full size from the start, so that
    // RSS measurements see this package's memory rather than V8 growing its nursery once.
    execArgv: ['--expose-gc', '--min-semi-space-size=16'],
  },
});

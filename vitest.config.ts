import { defineConfig } from 'vitest/config';

// `npm run test:asan` (scripts/test-asan.sh) sets SPARSE_ATTENTION_SANITIZED=1.
const sanitized = process.env.SPARSE_ATTENTION_SANITIZED === '1';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Native work runs on worker threads; one file at a time keeps timings of the
    // event-loop tests meaningful on a 2-core machine.
    fileParallelism: false,
    // Under the sanitizers the tests run in worker threads of the main process: vitest kills
    // forked workers with a deadline too short for LeakSanitizer's check at exit, while the
    // main process exits normally and is checked. (gc() then comes from NODE_OPTIONS.)
    pool: sanitized ? 'threads' : 'forks',
    // gc() for the memory tests; a young generation at its full size from the start, so that
    // RSS measurements see this package's memory rather than V8 growing its nursery once.
    execArgv: sanitized ? [] : ['--expose-gc', '--min-semi-space-size=16'],
  },
});

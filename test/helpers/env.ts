// How the suite is being run. `npm run test:asan` sets SPARSE_ATTENTION_SANITIZED=1: the
// sanitizer build is several times slower, so timing-based tests use smaller work there and
// assert the same properties.
export const sanitized = process.env.SPARSE_ATTENTION_SANITIZED === '1';

// npm run patterns: draws which keys each query sees, as SVG, for small L — read off the
// kernels (see probe.mjs), so the pictures show what the code computes, not a re-statement.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { localPattern, lshPattern } from './probe.mjs';
import { colour, grid, strips } from './svg.mjs';

const outDir = process.argv[2] ?? join(import.meta.dirname, '..', 'docs', 'patterns');
mkdirSync(outDir, { recursive: true });
const write = (name, svg) => {
  writeFileSync(join(outDir, name), svg);
  console.log(`wrote ${join(outDir, name)}`);
};

const SEEN = '#4e79a7', GLOBAL = '#e15759', SELF = '#222';

async function drawLocal(name, title, L, window, mask) {
  const visible = await localPattern(L, window, mask);
  write(name, grid(L, title, (i, j) => {
    if (!visible[i * L + j]) return null;
    if (i === j) return SELF;
    return mask[i] === 1 || mask[j] === 1 ? GLOBAL : SEEN;
  }));
}

const L = 32;
const globals = Array.from({ length: L }, (_, t) => (t === 0 || t === 17 ? 1 : 0));
await drawLocal('local-window-global.svg', 'Longformer: window 3 each side, global tokens 0 and 17 (red)', L, 3, globals);
await drawLocal('local-asymmetric.svg', 'Local attention, window [4, 1] (asymmetric)', L, [4, 1], new Array(L).fill(0));
await drawLocal('local-causal.svg', 'Local attention, window [5, 0] (causal)', L, [5, 0], new Array(L).fill(0));
const padded = Array.from({ length: L }, (_, t) => (t >= L - 5 ? -1 : t === 8 ? 1 : 0));
await drawLocal('local-padding.svg', 'Window 3, global token 8, last 5 tokens padding (rows zero)', L, 3, padded);

const lshConfig = { nBuckets: 8, chunkLength: 8, nHashes: 1, chunksBefore: 1, chunksAfter: 0, causal: false };
const lsh = await lshPattern(64, lshConfig);
const order = Array.from(lsh.sortedIndex);
const chunkMarks = Array.from({ length: 64 / 8 - 1 }, (_, k) => (k + 1) * 8);
write('lsh-buckets.svg', strips('Reformer LSH: bucket of each token (8 buckets) before and after the sort', [
  { label: 'original order', values: Array.from(lsh.buckets), titles: Array.from(lsh.buckets, (b, t) => `token ${t}, bucket ${b}`) },
  { label: 'sorted by bucket', values: order.map((t) => lsh.buckets[t]), titles: order.map((t) => `token ${t}, bucket ${lsh.buckets[t]}`), marks: chunkMarks },
]));
const bucketColour = (i, j) => (lsh.visible[i * 64 + j] ? (lsh.buckets[i] === lsh.buckets[j] ? colour(lsh.buckets[i]) : '#bbb') : null);
write('lsh-sorted.svg', grid(64, 'LSH attention in sorted order: chunks of 8 see themselves and the chunk before (grey: other bucket)', bucketColour, order));
write('lsh-original.svg', grid(64, 'The same attention in original token order', bucketColour));

// The GPU benchmark matrix, one list for both sides (ours_gpu.mjs and torch_gpu.py read the
// JSON this prints): forward passes only, random normal inputs, B x H x L x D as named.
//   node bench/gpu/cases.mjs [--quick] [--tiny] > cases.json
// Cases run in priority order (1: the targets) until each side's time budget ends.
// --tiny divides every length by 64 and keeps B = 1: a dry run of the scripts on a CPU.
//
// Effective FLOPs count the products the op must compute, not the tiles a kernel touches:
//   dense  4·B·H·D·(keys per query summed over queries): L² (causal: L(L+1)/2)
//   local  Longformer with G global tokens at the front, one-sided window w: every local query
//          sees its 2w+1 window and the G globals, every global query all L keys
//   lsh    every query of every round sees c·(1 + before + after) key slots
//   sort   reported as keys per second (B·H·N / time)
import { parseArgs } from './common.mjs';

const args = parseArgs(process.argv.slice(2), { quick: false, tiny: false });
const K = 1024;
const LENGTHS = [4 * K, 16 * K, 64 * K];
const cases = [];

function add(c) {
  cases.push({ id: `${c.op}-${cases.length}`, ...c });
}

function denseFlops(B, H, L, D, causal) {
  return 4 * B * H * D * (causal ? (L * (L + 1)) / 2 : L * L);
}

function localFlops(B, H, L, D, w, G) {
  const window = L * (2 * w + 1) - w * (w + 1);  // keys inside [0, L) over all queries
  return 4 * B * H * D * ((window * (L - G)) / L + (L - G) * G + G * L);
}

function lshFlops(B, H, L, D, nh, c, before, after) {
  return 4 * B * H * D * nh * L * c * (1 + before + after);
}

/** Reformer's bucket count for a length: about two buckets per chunk, a power of two, at most 512. */
function bucketsFor(L, c) {
  return Math.min(512, Math.max(2, 2 ** Math.round(Math.log2((2 * L) / c))));
}

const LOCAL_PEERS = ['eager_fp32', 'eager_fp16', 'flex_fp16'];
const LSH_PEERS = ['eager_fp32', 'eager_fp16'];

// Priority 1: the targets of the issue.
add({ op: 'local', priority: 1, B: 1, H: 12, L: 16 * K, D: 64, window: 256, globals: 1, ours: ['float16', 'float32'],
  peers: LOCAL_PEERS, flops: localFlops(1, 12, 16 * K, 64, 256, 1) });
add({ op: 'lsh', priority: 1, B: 1, H: 12, L: 16 * K, D: 64, nHashes: 4, nBuckets: bucketsFor(16 * K, 64), chunkLength: 64,
  chunksBefore: 1, chunksAfter: 0, ours: ['float16', 'float32'], peers: LSH_PEERS,
  flops: lshFlops(1, 12, 16 * K, 64, 4, 64, 1, 0) });
for (const D of [64, 128]) {
  const H = D === 64 ? 12 : 8;
  add({ op: 'dense', priority: 1, B: 1, H, L: 16 * K, D, causal: false, ours: ['float16'], peers: ['sdpa_fp16'],
    flops: denseFlops(1, H, 16 * K, D, false) });
}
add({ op: 'sort', priority: 1, B: 1, H: 12, N: 4 * 64 * K, buckets: 4 * 513, ours: ['int32'], peers: ['sort_stable', 'argsort_composite'] });

if (!args.quick) {
  // Priority 2: the rest of the Longformer-base and Reformer matrix at B = 1, and B = 8 at 16k.
  for (const L of LENGTHS)
    for (const G of [1, 64])
      for (const B of [1, 8]) {
        if ((L === 16 * K && B === 1 && G === 1) || (B === 8 && L !== 16 * K)) continue;
        add({ op: 'local', priority: 2, B, H: 12, L, D: 64, window: 256, globals: G, ours: ['float16', 'float32'],
          peers: LOCAL_PEERS, flops: localFlops(B, 12, L, 64, 256, G) });
      }
  add({ op: 'local', priority: 2, B: 1, H: 12, L: 16 * K, D: 64, window: 256, globals: 0, ours: ['float16'],
    peers: ['flex_fp16'], flops: localFlops(1, 12, 16 * K, 64, 256, 0) });
  const lshSettings = [[12, 64, 64], [12, 64, 256], [8, 128, 256]];  // H, D, chunk (the last: enwik8)
  for (const L of LENGTHS)
    for (const [H, D, c] of lshSettings)
      for (const B of [1, 8]) {
        if ((L === 16 * K && B === 1 && H === 12 && c === 64) || (B === 8 && L !== 16 * K)) continue;
        add({ op: 'lsh', priority: 2, B, H, L, D, nHashes: 4, nBuckets: bucketsFor(L, c), chunkLength: c, chunksBefore: 1,
          chunksAfter: 0, ours: ['float16', 'float32'], peers: LSH_PEERS, flops: lshFlops(B, H, L, D, 4, c, 1, 0) });
      }
  for (const L of [4 * K, 16 * K])
    for (const D of [64, 128])
      for (const B of [1, 8]) {
        const H = D === 64 ? 12 : 8;
        if (L === 16 * K && B === 1) continue;
        add({ op: 'dense', priority: 2, B, H, L, D, causal: false, ours: ['float16'], peers: ['sdpa_fp16'],
          flops: denseFlops(B, H, L, D, false) });
      }
  for (const D of [64, 128])
    add({ op: 'dense', priority: 2, B: 1, H: D === 64 ? 12 : 8, L: 16 * K, D, causal: true, ours: ['float16'],
      peers: ['sdpa_fp16'], flops: denseFlops(1, D === 64 ? 12 : 8, 16 * K, D, true) });
  add({ op: 'sort', priority: 2, B: 8, H: 12, N: 4 * 64 * K, buckets: 4 * 513, ours: ['int32'], peers: ['sort_stable'] });
  // Priority 3: the largest inputs, 64k tokens at B = 8 (eager peers may run out of memory).
  add({ op: 'local', priority: 3, B: 8, H: 12, L: 64 * K, D: 64, window: 256, globals: 1, ours: ['float16', 'float32'],
    peers: LOCAL_PEERS, flops: localFlops(8, 12, 64 * K, 64, 256, 1) });
  add({ op: 'lsh', priority: 3, B: 8, H: 12, L: 64 * K, D: 64, nHashes: 4, nBuckets: 512, chunkLength: 64, chunksBefore: 1,
    chunksAfter: 0, ours: ['float16', 'float32'], peers: LSH_PEERS, flops: lshFlops(8, 12, 64 * K, 64, 4, 64, 1, 0) });
}

cases.sort((a, b) => a.priority - b.priority);
if (args.tiny)
  for (const c of cases) {
    const shrink = (x) => Math.max(64, x / 64);
    Object.assign(c, { B: 1 }, c.L && { L: shrink(c.L) }, c.N && { N: shrink(c.N) });
    if (c.nBuckets) c.nBuckets = Math.min(c.nBuckets, bucketsFor(c.L, c.chunkLength));
    if (c.globals) c.globals = Math.min(c.globals, 8);
    if (c.window) c.window = Math.min(c.window, c.L / 4);
    delete c.flops;
  }
process.stdout.write(JSON.stringify(cases, null, 1) + '\n');

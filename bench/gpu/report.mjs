// Merges the two sides of the GPU benchmark (ours_gpu.mjs, torch_gpu.py) into one JSON and a
// markdown table: per case, every implementation's median time, effective TFLOP/s (or Gkeys/s
// for the sort), peak memory, and each peer's time over ours in float16 (> 1: ours is faster);
// then the issue's targets, each MET, NOT MET or n/a (not measured).
//   node bench/gpu/report.mjs --cases cases.json --ours ours.jsonl --torch torch.jsonl \
//     --json bench.json --md bench.md [--meta meta.json]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from './common.mjs';

const args = parseArgs(process.argv.slice(2), { cases: '', ours: '', torch: '', json: '', md: '', meta: '' });
const readLines = (file) => (file && existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
const cases = JSON.parse(readFileSync(args.cases, 'utf8'));
const torchLines = readLines(args.torch);
const torchMeta = torchLines.find((r) => r.meta) ?? {};
const records = [...readLines(args.ours), ...torchLines.filter((r) => !r.meta)];
const meta = { ...(args.meta && existsSync(args.meta) ? JSON.parse(readFileSync(args.meta, 'utf8')) : {}), torch: torchMeta };

const K = 1024;
const lengthText = (n) => (n % K === 0 ? `${n / K}k` : String(n));
function label(c) {
  const shape = c.op === 'sort' ? `B=${c.B} H=${c.H} N=${lengthText(c.N)}` : `B=${c.B} H=${c.H} L=${lengthText(c.L)} D=${c.D}`;
  if (c.op === 'dense') return `dense ${shape}${c.causal ? ' causal' : ''}`;
  if (c.op === 'local') return `local ${shape} ±${c.window} G=${c.globals}`;
  if (c.op === 'lsh') return `lsh ${shape} nh=${c.nHashes} buckets=${c.nBuckets} chunk=${c.chunkLength}`;
  return `sort ${shape} (${c.buckets} bucket ids)`;
}

const byCase = new Map(cases.map((c) => [c.id, { case: c, label: label(c), results: [] }]));
for (const r of records) byCase.get(r.id)?.results.push(r);

const ok = (r) => r && r.status === 'ok';
const find = (entry, impl) => entry.results.find((r) => r.impl === impl);
const reference = (entry) => find(entry, entry.case.op === 'sort' ? 'ours_int32' : 'ours_float16');
const mib = (b) => (b == null ? '' : (b / 2 ** 20).toFixed(0));

const lines = [];
lines.push(`# GPU benchmark: ${torchMeta.device ?? 'unknown device'}`, '');
lines.push(`Forward passes, random normal inputs, CUDA-event medians; torch ${torchMeta.torch ?? '?'}. ` +
  'Ratio = peer time / ours (float16; int32 for the sort): above 1, ours is faster.', '');
function rowsOf(entry) {
  const ref = reference(entry);
  return entry.results.map((r) => {
    if (!ok(r)) return `| ${entry.label} | ${r.impl} | ${r.status} | | | |`;
    const rate = r.tflops != null ? r.tflops.toFixed(1) : r.gkeysPerS != null ? `${r.gkeysPerS.toFixed(2)} Gkeys/s` : '';
    const ratio = ok(ref) && r !== ref ? (r.medianMs / ref.medianMs).toFixed(2) : '';
    return `| ${entry.label} | ${r.impl} | ${r.medianMs.toFixed(3)} | ${rate} | ${mib(r.peakBytes)} | ${ratio} |`;
  });
}
const header = ['| case | implementation | median ms | TFLOP/s or Gkeys/s | peak MiB | ratio |', '| --- | --- | ---: | ---: | ---: | ---: |'];
lines.push(...header);
for (const entry of byCase.values()) lines.push(...rowsOf(entry));

// The issue's targets, on the priority-1 cases.
const first = (op, pred = () => true) => [...byCase.values()].find((e) => e.case.op === op && e.case.priority === 1 && pred(e.case));
const targets = [];
function target(name, entry, compute) {
  let value = null, met = null;
  if (entry) [value, met] = compute(entry) ?? [null, null];
  targets.push({ name, value, status: met == null ? 'n/a' : met ? 'MET' : 'NOT MET' });
}
const speedup = (entry, peer) => {
  const ours = reference(entry), other = find(entry, peer);
  return ok(ours) && ok(other) ? other.medianMs / ours.medianMs : null;
};
const atLeast = (x, bound, digits = 2) => (x == null ? null : [x.toFixed(digits), x >= bound]);
const local = first('local'), lsh = first('lsh'), sort = first('sort');
target('local ±256, 1 global, L=16k, fp16: >= 1.5x FlexAttention', local, (e) => atLeast(speedup(e, 'flex_fp16'), 1.5));
target('local ±256, 1 global, L=16k, fp16: >= 300 effective TFLOP/s', local, (e) => atLeast(reference(e)?.tflops, 300, 1));
target('LSH nh 4, chunk 64, L=16k: >= 20x eager fp32', lsh, (e) => atLeast(speedup(e, 'eager_fp32'), 20, 1));
target('LSH nh 4, chunk 64, L=16k: >= 5x eager fp16', lsh, (e) => atLeast(speedup(e, 'eager_fp16'), 5, 1));
for (const D of [64, 128])
  target(`dense D=${D}, L=16k, fp16: >= 0.8x SDPA`, first('dense', (c) => c.D === D), (e) => atLeast(speedup(e, 'sdpa_fp16'), 0.8));
target('sortByBucket, 4 x 64k keys per row: >= 5 Gkeys/s', sort, (e) => atLeast(reference(e)?.gkeysPerS, 5));

lines.push('', '## Targets (issue, H100/H200, fp16)', '', '| target | measured | status |', '| --- | ---: | --- |');
for (const t of targets) lines.push(`| ${t.name} | ${t.value ?? ''} | ${t.status} |`);

const markdown = lines.join('\n') + '\n';
if (args.md) writeFileSync(args.md, markdown);
if (args.json) writeFileSync(args.json, JSON.stringify({ meta, cases, records, targets }, null, 1));
const shortTable = [...byCase.values()].filter((e) => e.case.priority === 1).flatMap(rowsOf);
console.log(['', '== the target cases (all cases: bench.md)', ...shortTable, '', '== targets', ...targets.map((t) => `${t.status.padEnd(7)} ${t.name}${t.value != null ? ` (${t.value})` : ''}`)].join('\n'));

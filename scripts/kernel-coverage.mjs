// Which CUDA kernels a run of the emulated device launched (scripts/test-cuda-emu.sh).
// Reads the launch logs (one kernel name per line, one file per process), writes one line per
// kernel instantiation with its launch count, and fails if a __global__ function of cuda/ was
// never launched.
//
// usage: node scripts/kernel-coverage.mjs <launch log folder> <output file> [--report-only]
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const [folder, output, flag] = process.argv.slice(2);
if (!folder || !output) {
  console.error('usage: node scripts/kernel-coverage.mjs <launch log folder> <output file> [--report-only]');
  process.exit(2);
}
const root = resolve(import.meta.dirname, '..');

const launches = new Map();
for (const file of readdirSync(folder)) {
  for (const name of readFileSync(join(folder, file), 'utf8').split('\n')) {
    if (name) launches.set(name, (launches.get(name) ?? 0) + 1);
  }
}
/** "sa::{anonymous}::denseKernel<sa::DType::Float32>" -> "denseKernel" */
const baseName = (name) => name.replace(/<.*$/s, '').split('::').pop();

const cudaDir = join(root, 'cuda');
const kernels = new Set();
for (const file of readdirSync(cudaDir).filter((f) => f.endsWith('.cu') || f.endsWith('.cuh'))) {
  const source = readFileSync(join(cudaDir, file), 'utf8');
  for (const m of source.matchAll(/__global__\s+void\s+(?:__launch_bounds__\([^)]*\)\s*)?(\w+)\s*\(/g)) kernels.add(m[1]);
}
const launchedBases = new Set([...launches.keys()].map(baseName));
const missing = [...kernels].filter((k) => !launchedBases.has(k)).sort();

const lines = [...launches.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([name, n]) => `${name} ${n}`);
for (const k of missing) lines.push(`${k} 0 (never launched)`);
writeFileSync(output, `${lines.join('\n')}\n`);
console.log(`kernel coverage: ${kernels.size - missing.length} of ${kernels.size} kernels of cuda/ launched ` +
  `(${launches.size} instantiations, ${[...launches.values()].reduce((a, b) => a + b, 0)} launches); ${output}`);
if (missing.length) {
  console.error(`never launched: ${missing.join(', ')}`);
  if (flag !== '--report-only') process.exit(1);
}

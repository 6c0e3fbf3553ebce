// What the portable binary costs: the CPU kernels chosen at load (the default build, and the
// prebuilt binary's) against one copy compiled with -march=native for this machine, op by op,
// and the same binary at each lower level SPARSE_ATTENTION_CPU can force.
//
//   node bench/dispatch.mjs [--portable ADDON] [--native ADDON] [--prebuilt ADDON] [--reps N] [--rounds N]
//
// Without addons it builds both, CPU only, into build-bench-portable/ and build-bench-native/.
// --prebuilt adds a column for another portable binary at its default level (the prebuilt one,
// compiled by another compiler).
// Every measurement runs in its own child process; the binaries take turns, round after round,
// so that load from other work on the machine falls on all of them alike. The figure is CPU
// time (user + system, all threads of the process) per op: on a machine shared with other work
// it measures the instructions' cost where wall time measures the neighbours. A cell is the
// fastest round's median; the wall time of the same runs is printed below the table.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatMs } from './format.mjs';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

const OPS = {
  'dense L=4096 H=4 D=64': `
    const x = () => Tensor.from(rand(1 * 4 * 4096 * 64), [1, 4, 4096, 64]);
    const [q, k, v] = [x(), x(), x()];
    run = () => denseAttention(q, k, v);`,
  'dense causal L=4096 H=4 D=40': `
    const x = () => Tensor.from(rand(1 * 4 * 4096 * 40), [1, 4, 4096, 40]);
    const [q, k, v] = [x(), x(), x()];
    run = () => denseAttention(q, k, v, { causal: true });`,
  'local L=16384 H=4 D=64 window 256': `
    const x = () => Tensor.from(rand(1 * 4 * 16384 * 64), [1, 4, 16384, 64]);
    const [q, k, v] = [x(), x(), x()];
    run = () => localAttention(q, k, v, { window: 256 });`,
  'lsh L=16384 H=4 D=64 2 hashes 64 buckets': `
    const qk = Tensor.from(rand(1 * 4 * 16384 * 64), [1, 4, 16384, 64]);
    const v = Tensor.from(rand(1 * 4 * 16384 * 64), [1, 4, 16384, 64]);
    run = () => lshAttention(qk, v, { nHashes: 2, nBuckets: 64, chunkLength: 64, seed: 1 });`,
};

// The child: sets up one op, warms it up, prints the median of `reps` timed runs.
const CHILD = `
  import { denseAttention, localAttention, lshAttention, Tensor, backendInfo } from ${JSON.stringify(path.join(ROOT, 'dist/esm/index.js'))};
  let seed = 1;
  const rand = (n) => Float32Array.from({ length: n }, () => ((seed = (seed * 48271) % 2147483647) / 2147483647) * 2 - 1);
  let run;
  ${'${SETUP}'}
  await run();
  const cpu = [], wall = [];
  for (let i = 0; i < Number(process.env.REPS); i++) {
    const [c0, t0] = [process.cpuUsage(), performance.now()];
    (await run()).dispose();
    const c = process.cpuUsage(c0);
    wall.push(performance.now() - t0);
    cpu.push((c.user + c.system) / 1000);
  }
  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  console.log(JSON.stringify({ level: backendInfo().cpuKernels, ms: median(cpu), wallMs: median(wall) }));`;

function parseArgs(argv) {
  const args = { reps: 5, rounds: 3 };
  for (let i = 0; i < argv.length; i++) {
    const [key, value] = [argv[i].replace(/^--/, ''), argv[i + 1]];
    if (!['portable', 'native', 'prebuilt', 'reps', 'rounds'].includes(key) || value === undefined) throw new Error(`unknown argument ${argv[i]}`);
    args[key] = key === 'reps' || key === 'rounds' ? Number(value) : path.resolve(value);
    i++;
  }
  return args;
}

function build(dir, env) {
  const addon = path.join(ROOT, dir, 'Release/sparse_attention.node');
  if (existsSync(addon)) return addon;
  console.log(`building ${dir}/ ...`);
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/cmake-js/bin/cmake-js'), 'compile', '-O', dir, '--log-level', 'error'], {
    cwd: ROOT, stdio: 'inherit', env: { ...process.env, SPARSE_ATTENTION_NO_CUDA: '1', ...env },
  });
  return addon;
}

function measure(addon, level, setup, reps) {
  const env = { ...process.env, SPARSE_ATTENTION_ADDON: addon, REPS: String(reps) };
  delete env.SPARSE_ATTENTION_CPU;
  if (level) env.SPARSE_ATTENTION_CPU = level;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD.replace('${SETUP}', setup)], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`benchmark child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const args = parseArgs(process.argv.slice(2));
if (!existsSync(path.join(ROOT, 'dist/esm/index.js'))) execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-ts.mjs')], { stdio: 'inherit' });
const native = args.native ?? build('build-bench-native', { SPARSE_ATTENTION_MARCH_NATIVE: '1' });
const portable = args.portable ?? build('build-bench-portable', {});
const levels = JSON.parse(execFileSync(process.execPath, ['-e', 'console.log(JSON.stringify(require(process.argv[1]).backendInfo().cpuKernelLevels))', portable], {
  encoding: 'utf8', env: { ...process.env, SPARSE_ATTENTION_CPU: '' },
})).supported;

// Columns: the native binary, then the portable one at each level this CPU supports.
const columns = [{ name: '-march=native', addon: native }, ...levels.map((level, i) => ({
  name: `portable ${level}${i === 0 ? ' (default)' : ''}`, addon: portable, level,
}))];
if (args.prebuilt) columns.push({ name: 'prebuilt (default)', addon: args.prebuilt });
const best = new Map(), bestWall = new Map();
for (let round = 0; round < args.rounds; round++) {
  for (const [op, setup] of Object.entries(OPS)) {
    for (const column of columns) {
      const { ms, wallMs, level } = measure(column.addon, column.level, setup, args.reps);
      const key = `${op}|${column.name}`;
      best.set(key, Math.min(best.get(key) ?? Infinity, ms));
      bestWall.set(key, Math.min(bestWall.get(key) ?? Infinity, wallMs));
      if (round === 0 && column.level && level !== column.level) throw new Error(`${column.name} ran ${level}`);
    }
  }
  process.stdout.write(`round ${round + 1}/${args.rounds} done\n`);
}

function table(values, unit) {
  const header = ['op', ...columns.map((c) => c.name)];
  console.log(`\n${unit}\n\n| ${header.join(' | ')} |\n| ${header.map(() => '---').join(' | ')} |`);
  for (const op of Object.keys(OPS)) {
    const base = values.get(`${op}|${columns[0].name}`);
    const cells = columns.map((c, i) => {
      const ms = values.get(`${op}|${c.name}`);
      return i === 0 ? formatMs(ms) : `${formatMs(ms)} (${((ms / base - 1) * 100).toFixed(1).replace(/^(?!-)/, '+')} %)`;
    });
    console.log(`| ${op} | ${cells.join(' | ')} |`);
  }
}
table(best, 'CPU time per op (all threads)');
table(bestWall, 'wall time per op');
console.log(`\nmedian of ${args.reps} runs, fastest of ${args.rounds} rounds; (%) = against -march=native`);

// The CPU kernels are compiled for several instruction sets and one is chosen at load
// (native/cpu/cpu_dispatch.cc). Each level this machine supports runs a representative set of
// ops in a child process (SPARSE_ATTENTION_CPU forces it) and must agree with the default
// level to float32 rounding; the levels differ only in vector width and in FMA contraction.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendInfo } from '../lib/index.js';
import { nativePath } from '../lib/native.js';

const here = dirname(fileURLToPath(import.meta.url));
const levels = backendInfo().cpuKernelLevels;
const ALL_LEVELS = ['avx512', 'avx2', 'baseline', 'neon'];

interface Run { status: number | null; stdout: string; stderr: string }
function runOps(level?: string, { refused = false } = {}): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, SPARSE_ATTENTION_ADDON: nativePath };
  delete env.SPARSE_ATTENTION_CPU;
  if (level !== undefined) env.SPARSE_ATTENTION_CPU = level;
  // A process whose load is refused dies of the uncaught error with the error object still in
  // V8's heap: under the sanitizers (npm run test:asan) that is not a leak worth reporting.
  if (refused && env.ASAN_OPTIONS) env.ASAN_OPTIONS += ':detect_leaks=0';
  const script = join(here, 'cpu-levels/ops.mjs');
  const r = spawnSync(process.execPath, [script], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Outputs = Record<string, Buffer>;
function parse(run: Run): { level: string; outputs: Outputs } {
  expect(run.status, run.stderr).toBe(0);
  const { level, outputs } = JSON.parse(run.stdout) as { level: string; outputs: Record<string, string> };
  return { level, outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, Buffer.from(v, 'base64')])) };
}

// Integer outputs (buckets, permutations) exactly; float outputs within 1e-6 + 1e-5·|x|: a few
// ulps of the outputs' magnitude (about 1), where FMA and summation order differ.
function expectAgreement(name: string, actual: Buffer, expected: Buffer): void {
  expect(actual.length, name).toBe(expected.length);
  const integer = /^(lshHash|sortByBucket)/.test(name);
  const a = integer ? new Int32Array(actual.buffer, actual.byteOffset, actual.length / 4)
    : new Float32Array(actual.buffer, actual.byteOffset, actual.length / 4);
  const e = integer ? new Int32Array(expected.buffer, expected.byteOffset, expected.length / 4)
    : new Float32Array(expected.buffer, expected.byteOffset, expected.length / 4);
  for (let i = 0; i < e.length; i++) {
    const ok = integer ? a[i] === e[i] : Math.abs(a[i]! - e[i]!) <= 1e-6 + 1e-5 * Math.abs(e[i]!);
    if (!ok) expect(`${name}[${i}] = ${a[i]}`).toBe(`${name}[${i}] = ${e[i]}`);
  }
}

describe('CPU kernels at each instruction set', () => {
  let reference: { level: string; outputs: Outputs };
  beforeAll(() => {
    reference = parse(runOps());
  });

  it('runs the best level that is compiled in and supported, and backendInfo reports it', () => {
    expect(levels.supported.length).toBeGreaterThan(0);
    expect(levels.compiled).toEqual(expect.arrayContaining(levels.supported));
    expect(backendInfo().cpuKernels).toBe(process.env.SPARSE_ATTENTION_CPU || levels.supported[0]);
    expect(reference.level).toBe(levels.supported[0]);
    expect(ALL_LEVELS).toContain(reference.level);
  });

  for (const level of ALL_LEVELS) {
    it.skipIf(!levels.supported.includes(level))(`SPARSE_ATTENTION_CPU=${level} agrees with the default level`, () => {
      const run = parse(runOps(level));
      expect(run.level).toBe(level);
      expect(Object.keys(run.outputs)).toEqual(Object.keys(reference.outputs));
      for (const [name, expected] of Object.entries(reference.outputs)) expectAgreement(name, run.outputs[name]!, expected);
    });
  }

  const unsupported = levels.compiled.find((l) => !levels.supported.includes(l));
  it.skipIf(unsupported === undefined)('refuses at load a level this CPU lacks, naming the ones it has', () => {
    const run = runOps(unsupported, { refused: true });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`SPARSE_ATTENTION_CPU=${unsupported}: this CPU does not support it; it supports: ${levels.supported.join(', ')}`);
  });

  it('refuses at load a level that is not compiled in, or not a level', () => {
    const missing = ALL_LEVELS.find((l) => !levels.compiled.includes(l))!;
    const notCompiled = runOps(missing, { refused: true });
    expect(notCompiled.status).not.toBe(0);
    expect(notCompiled.stderr).toContain(`SPARSE_ATTENTION_CPU=${missing}: this build has no CPU kernels for it; it has: ${levels.compiled.join(', ')}`);
    const unknown = runOps('sse9', { refused: true });
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toContain('SPARSE_ATTENTION_CPU=sse9 is not an instruction set of the CPU kernels; use one of:');
  });

  // The build's linker map says where each function comes from (x86-64 builds with GNU ld).
  const map = join(dirname(dirname(nativePath)), 'sparse_attention.map');
  const canCheck = process.arch === 'x64' && existsSync(map) && spawnSync('objdump', ['--version']).status === 0;
  it.skipIf(!canCheck)('keeps each instruction set inside its own copy of the kernels', () => {
    const out = execFileSync(process.execPath, [join(here, '../scripts/check-cpu-isolation.mjs'), nativePath, map], { encoding: 'utf8' });
    expect(out).toContain('every instruction fits');
  });
});

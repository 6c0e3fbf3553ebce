// The emulated device's PTX (cuda/emulator/ptx.h: cp.async groups, ldmatrix, mma.sync m16n8k16,
// ex2.approx.ftz) against the PTX ISA's tables (test/cuda/ptx_tables.cc). Plain C++ built with
// g++ against the CUDA toolkit's headers: no GPU and no nvcc needed, so it never skips.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
// The sanitizer run preloads libasan into Node; the compiler and the test must not inherit it.
const env = { ...process.env, LD_PRELOAD: '' };

function cudaInclude(): string {
  const homes = [process.env.CUDA_HOME, process.env.CUDA_PATH, '/usr/local/cuda'].filter((d): d is string => !!d);
  const found = homes.map((d) => join(d, 'include')).find((d) => existsSync(join(d, 'cuda_fp16.h')));
  if (!found) throw new Error(`CUDA toolkit headers (cuda_fp16.h) not found under ${homes.join(', ')}`);
  return found;
}

describe('emulated PTX', () => {
  it('matches the PTX ISA tables for mma, ldmatrix, cp.async and ex2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ptx-tables-'));
    try {
      const exe = join(dir, 'ptx_tables');
      execFileSync(
        'g++',
        [
          '-std=c++17',
          '-O1',
          '-Wall',
          '-I',
          cudaInclude(),
          '-I',
          join(root, 'native'),
          '-I',
          root,
          join(root, 'test/cuda/ptx_tables.cc'),
          join(root, 'cuda/emulator/ptx.cc'),
          '-o',
          exe,
        ],
        { env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const run = spawnSync(exe, { encoding: 'utf8', env });
      const output = `${run.stdout}${run.stderr}`;
      expect(run.status, output).toBe(0);
      const lines = run.stdout.trim().split('\n');
      const groups = lines.filter((l) => /^\S.* \d+ passed, \d+ failed$/.test(l) && !/^\d+ passed/.test(l));
      expect(groups.length).toBeGreaterThanOrEqual(13);
      for (const g of groups) expect(g, output).toMatch(/ 0 failed$/);
      const total = lines.at(-1) ?? '';
      expect(total).toMatch(/^\d+ passed, 0 failed$/);
      expect(Number(total.split(' ')[0])).toBeGreaterThan(100_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

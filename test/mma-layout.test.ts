// The tensor-core fragment layouts of cuda/mma.cuh, checked by a host emulation of ldmatrix and
// mma.sync (test/cuda/mma_layout.cu): runs wherever nvcc is, GPU or not.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
// The sanitizer run preloads libasan into Node; nvcc and the emulation must not inherit it.
const env = { ...process.env, LD_PRELOAD: '' };
const hasNvcc = spawnSync('nvcc', ['--version'], { env }).status === 0;

describe('tensor-core fragment layouts', () => {
  it.skipIf(!hasNvcc)('compute Q·Kᵀ and P·V exactly and without bank conflicts (host emulation)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mma-layout-'));
    try {
      const exe = join(dir, 'mma_layout');
      execFileSync('nvcc', ['-std=c++17', '-I', join(root, 'native'), '-I', root, join(root, 'test/cuda/mma_layout.cu'), '-o', exe], { env });
      const output = execFileSync(exe, { encoding: 'utf8', env });
      expect(output).toMatch(/mma layout: \d+ checks, 0 failed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Reads the golden fixtures (safetensors: u64 header length, JSON header, raw LE tensors).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURE_DIR = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'fixtures');

export interface Fixture {
  name: string;
  kind: 'lsh' | 'local' | 'axial';
  config: Record<string, any>;
  tensors: Record<string, { shape: number[]; data: Float32Array | Int32Array }>;
}

export function readFixture(file: string): Fixture {
  const bytes = readFileSync(join(FIXTURE_DIR, file));
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  const base = 8 + headerLength;
  const tensors: Fixture['tensors'] = {};
  for (const [name, info] of Object.entries<any>(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = info.data_offsets as [number, number];
    const raw = bytes.buffer.slice(bytes.byteOffset + base + begin, bytes.byteOffset + base + end);
    tensors[name] = { shape: info.shape, data: info.dtype === 'I32' ? new Int32Array(raw) : new Float32Array(raw) };
  }
  const meta = header.__metadata__;
  return { name: file, kind: meta.kind, config: JSON.parse(meta.config), tensors };
}

export function fixturesOfKind(kind: Fixture['kind']): Fixture[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.safetensors'))
    .sort()
    .map(readFixture)
    .filter((f) => f.kind === kind);
}

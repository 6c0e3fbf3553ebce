// The layer- and model-level golden cases of test/fixtures/models (README there): config.json,
// model.safetensors (weights, read with loadSafetensors by the tests) and io.safetensors
// (inputs, recorded rotations, expected outputs), read here with a parser of its own.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const MODEL_FIXTURE_DIR = join(import.meta.dirname, '..', 'fixtures', 'models');

export interface ModelCase {
  name: string;
  dir: string;
  config: Record<string, any>;
  /** The case description of io.safetensors' metadata (kind, sizes, settings). */
  meta: Record<string, any>;
  io: Record<string, { shape: number[]; data: Float32Array | Int32Array }>;
}

export function readModelCase(name: string): ModelCase {
  const dir = join(MODEL_FIXTURE_DIR, name);
  const bytes = readFileSync(join(dir, 'io.safetensors'));
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  const io: ModelCase['io'] = {};
  for (const [key, info] of Object.entries<any>(header)) {
    if (key === '__metadata__') continue;
    const [begin, end] = info.data_offsets as [number, number];
    const raw = bytes.buffer.slice(bytes.byteOffset + 8 + n + begin, bytes.byteOffset + 8 + n + end);
    io[key] = { shape: info.shape, data: info.dtype === 'I32' ? new Int32Array(raw) : new Float32Array(raw) };
  }
  return {
    name, dir, io,
    config: JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')),
    meta: JSON.parse(header.__metadata__.case),
  };
}

export function modelCasesOfKind(kind: string): ModelCase[] {
  return readdirSync(MODEL_FIXTURE_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => readModelCase(e.name))
    .filter((c) => c.meta.kind === kind)
    .sort((a, b) => a.name.localeCompare(b.name));
}

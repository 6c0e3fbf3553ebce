// Reads safetensors files (u64 LE header length, JSON header, raw LE tensors) and the golden
// fixtures stored that way: the one reader of the tests and of the benchmarks' peer checks.
// Plain JavaScript, so that the benchmarks load it in Node without a TypeScript step.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURE_DIR = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures');

const ARRAYS = { F32: Float32Array, I32: Int32Array };
const DTYPES = { F32: 'float32', I32: 'int32' };

/** { tensors: { name: { shape, data, dtype } }, metadata } of a file holding F32 and I32 tensors. */
export function readSafetensors(file) {
  const bytes = readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  const base = 8 + headerLength;
  const tensors = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const Ctor = ARRAYS[info.dtype];
    if (!Ctor) throw new Error(`${file}: ${name} has unsupported dtype ${info.dtype}`);
    const [begin, end] = info.data_offsets;
    const raw = bytes.buffer.slice(bytes.byteOffset + base + begin, bytes.byteOffset + base + end);
    tensors[name] = { shape: info.shape, data: new Ctor(raw), dtype: DTYPES[info.dtype] };
  }
  return { tensors, metadata: header.__metadata__ ?? {} };
}

/** A fixture of FIXTURE_DIR (or of `dir`): { name, kind, config, tensors }. */
export function readFixture(file, dir = FIXTURE_DIR) {
  const { tensors, metadata } = readSafetensors(join(dir, file));
  return { name: file, kind: metadata.kind, config: metadata.config ? JSON.parse(metadata.config) : {}, tensors };
}

/** Every fixture of one kind ('lsh', 'local', 'axial'), sorted by file name. */
export function fixturesOfKind(kind, dir = FIXTURE_DIR) {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors'))
    .sort()
    .map((f) => readFixture(f, dir))
    .filter((f) => f.kind === kind);
}

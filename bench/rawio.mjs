// Raw little-endian tensor files, the exchange format between the harness and every
// implementation. Reading goes straight into the typed array (no intermediate Buffer), so
// that an implementation's memory baseline after loading holds the inputs once.
import { closeSync, openSync, readSync, writeSync, fstatSync } from 'node:fs';

const ARRAY_OF = { float32: Float32Array, int32: Int32Array };

/** Reads `file` as `dtype` values of `shape`; fails if the size does not match. */
export function readRaw(file, dtype, shape) {
  const Ctor = ARRAY_OF[dtype];
  if (!Ctor) throw new Error(`${file}: unsupported dtype ${dtype}`);
  const count = shape.reduce((a, b) => a * b, 1);
  const out = new Ctor(count);
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size !== out.byteLength) throw new Error(`${file}: ${size} bytes, expected ${out.byteLength} for shape [${shape}]`);
    const bytes = new Uint8Array(out.buffer);
    // readSync moves at most 2 GiB per call.
    for (let done = 0; done < bytes.length; ) {
      const n = readSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30), done);
      if (n === 0) throw new Error(`${file}: unexpected end of file`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** Writes a typed array's bytes to `file` (little-endian on every machine this runs on). */
export function writeRaw(file, array) {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  const fd = openSync(file, 'w');
  try {
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30));
  } finally {
    closeSync(fd);
  }
}

/** Loads every input a job names: { name: { data, dtype, shape } }. */
export function readJobInputs(job, dir) {
  const inputs = {};
  for (const [name, spec] of Object.entries(job.inputs ?? {})) {
    const dtype = spec.dtype ?? 'float32';
    inputs[name] = { data: readRaw(`${dir}/${spec.file}`, dtype, spec.shape), dtype, shape: spec.shape };
  }
  return inputs;
}

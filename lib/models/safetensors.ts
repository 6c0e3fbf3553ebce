// The safetensors format (Hugging Face's): 8 bytes little-endian u64 N, N bytes of UTF-8 JSON
// header, then the tensor bytes. Header entries are NAME: { dtype, shape, data_offsets: [begin,
// end] } (offsets from the first byte after the header) plus an optional "__metadata__" object of
// strings. The reader treats the file as untrusted: every number is checked before it is used,
// the tensors must tile the data exactly (no overlap, no hole, nothing after the last one, as the
// reference implementation requires), and nothing is read outside the bytes the file holds.
import { open, type FileHandle } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Tensor } from '../tensor.js';
import { describe } from '../validate.js';
import { CheckpointError } from './errors.js';

/** The reference implementation's limit: no real header comes near it. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
const MAX_RANK = 8;
const MAX_ELEMENTS = 2 ** 31 - 1;

type StoredDType =
  | 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL'
  | 'F8_E4M3' | 'F8_E5M2';

const ELEMENT_BYTES: Record<StoredDType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
  F8_E4M3: 1, F8_E5M2: 1,
};

/** One tensor of the header, checked against the data. */
export interface SafetensorsEntry {
  name: string;
  dtype: StoredDType;
  shape: number[];
  begin: number; // byte offsets into the data section
  end: number;
}

/** A parsed file: its entries in data order, its metadata, and its data bytes. */
export interface SafetensorsArchive {
  source: string;
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  data: Uint8Array;
}

function malformed(source: string, what: string): CheckpointError {
  return new CheckpointError('MALFORMED_FILE', `${source}: ${what}`);
}

function isNonNegativeInteger(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** N from the first 8 bytes, checked against the file's size. */
function headerLength(source: string, prefix: Uint8Array, fileBytes: number): number {
  if (fileBytes < 8) throw malformed(source, `truncated: ${fileBytes} bytes, fewer than the 8 of the header length`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n < 2n) throw malformed(source, `header length ${n} is too small for a JSON object`);
  if (n > BigInt(MAX_HEADER_BYTES)) throw malformed(source, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (8n + n > BigInt(fileBytes))
    throw malformed(source, `truncated: the header claims ${n} bytes but only ${fileBytes - 8} follow the length`);
  return Number(n);
}

function parseHeaderJson(source: string, bytes: Uint8Array): Record<string, unknown> {
  if (bytes[0] !== 0x7b) throw malformed(source, 'the header does not start with "{"');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw malformed(source, 'the header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    throw malformed(source, `the header is not valid JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw malformed(source, 'the header is not a JSON object');
  return header as Record<string, unknown>;
}

function parseMetadata(source: string, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw malformed(source, `__metadata__ must be an object of strings, got ${describe(value)}`);
  for (const [key, v] of Object.entries(value))
    if (typeof v !== 'string') throw malformed(source, `__metadata__.${key} must be a string, got ${describe(v)}`);
  return value as Record<string, string>;
}

function parseEntry(source: string, name: string, value: unknown, dataBytes: number): SafetensorsEntry {
  const where = `tensor '${name}'`;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw malformed(source, `${where}: the entry must be an object { dtype, shape, data_offsets }, got ${describe(value)}`);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string' || !Object.hasOwn(ELEMENT_BYTES, dtype))
    throw malformed(source, `${where}: unknown dtype ${describe(dtype)}`);
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger))
    throw malformed(source, `${where}: shape must be an array of non-negative integers, got ${describe(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger))
    throw malformed(source, `${where}: data_offsets must be two non-negative integers [begin, end], got ${describe(offsets)}`);
  const [begin, end] = offsets as [number, number];
  if (begin > end) throw malformed(source, `${where}: data_offsets [${begin},${end}] end before they begin`);
  if (end > dataBytes)
    throw malformed(source, `${where}: data_offsets [${begin},${end}] reach past the end of the data (${dataBytes} bytes); the file is truncated or corrupt`);
  const count = shape.reduce((a: number, b: number) => a * b, 1);
  const bytes = count * ELEMENT_BYTES[dtype as StoredDType];
  if (bytes !== end - begin)
    throw malformed(source, `${where}: ${dtype} of shape [${shape.join(',')}] needs ${bytes} bytes but data_offsets [${begin},${end}] hold ${end - begin}`);
  return { name, dtype: dtype as StoredDType, shape: shape as number[], begin, end };
}

/** The entries must cover [0, dataBytes) exactly, each once. Returns them in data order. */
function checkTiling(source: string, entries: SafetensorsEntry[], dataBytes: number): SafetensorsEntry[] {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0, previous: SafetensorsEntry | undefined;
  for (const e of sorted) {
    if (e.begin < at)
      throw malformed(source, `tensor '${e.name}' [${e.begin},${e.end}] overlaps tensor '${previous!.name}' [${previous!.begin},${previous!.end}]`);
    if (e.begin > at) throw malformed(source, `bytes [${at},${e.begin}) of the data belong to no tensor`);
    at = e.end;
    if (e.end > e.begin) previous = e;
  }
  if (at !== dataBytes) throw malformed(source, `bytes [${at},${dataBytes}) after the last tensor belong to no tensor`);
  return sorted;
}

/** Checks a header against a data section of `dataBytes` bytes. */
function parseHeader(source: string, headerBytes: Uint8Array, dataBytes: number): { entries: SafetensorsEntry[]; metadata: Record<string, string> } {
  const header = parseHeaderJson(source, headerBytes);
  const metadata = parseMetadata(source, header.__metadata__);
  const entries: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    entries.push(parseEntry(source, name, value, dataBytes));
  }
  return { entries: checkTiling(source, entries, dataBytes), metadata };
}

/** Parses a whole file held in memory; the data section is a view of `bytes`. */
export function parseSafetensors(bytes: Uint8Array, source = 'safetensors buffer'): SafetensorsArchive {
  const n = headerLength(source, bytes, bytes.byteLength);
  const data = bytes.subarray(8 + n);
  return { source, ...parseHeader(source, bytes.subarray(8, 8 + n), data.byteLength), data };
}

/**
 * Reads a file: the header first, checked against the file's size, then the data section into
 * one buffer of exactly the bytes the file holds (so tensor views are aligned).
 */
export async function readSafetensorsFile(path: string): Promise<SafetensorsArchive> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CheckpointError('MISSING_FILE', `${path}: no such file`, { cause: error });
    throw error;
  }
  try {
    const size = (await handle.stat()).size;
    const prefix = new Uint8Array(8);
    await readExactly(handle, prefix, 0, path);
    const n = headerLength(path, prefix, size);
    const headerBytes = new Uint8Array(n);
    await readExactly(handle, headerBytes, 8, path);
    const dataBytes = size - 8 - n;
    const parsed = parseHeader(path, headerBytes, dataBytes);
    const data = new Uint8Array(dataBytes);
    await readExactly(handle, data, 8 + n, path);
    return { source: path, ...parsed, data };
  } finally {
    await handle.close();
  }
}

async function readExactly(handle: FileHandle, into: Uint8Array, position: number, path: string): Promise<void> {
  const CHUNK = 1 << 30;
  let done = 0;
  while (done < into.byteLength) {
    const length = Math.min(CHUNK, into.byteLength - done);
    const { bytesRead } = await handle.read(into, done, length, position + done);
    if (bytesRead === 0) throw malformed(path, `truncated while reading: the file ended after ${position + done} bytes`);
    done += bytesRead;
  }
}

/**
 * The tensor of one entry on the CPU. F32, F16, BF16 and I32 are views of the data (no copy)
 * when their offset is aligned, copies otherwise; F64 is rounded to float32; the integer and
 * boolean dtypes become int32 (an error for values outside its range); F8 is not supported.
 */
export function entryTensor(archive: SafetensorsArchive, e: SafetensorsEntry): Tensor {
  const where = `${archive.source}: tensor '${e.name}'`;
  if (e.shape.length > MAX_RANK) throw new CheckpointError('MALFORMED_FILE', `${where} has ${e.shape.length} dimensions, more than the ${MAX_RANK} tensors support`);
  const count = e.shape.reduce((a, b) => a * b, 1);
  if (count > MAX_ELEMENTS) throw new CheckpointError('MALFORMED_FILE', `${where} has ${count} elements, more than 32-bit indexing allows`);
  const bytes = archive.data.subarray(e.begin, e.end);
  const absolute = bytes.byteOffset;
  const view = <T>(Type: { new(b: ArrayBufferLike, o: number, n: number): T; BYTES_PER_ELEMENT: number }): T =>
    absolute % Type.BYTES_PER_ELEMENT === 0
      ? new Type(bytes.buffer, absolute, count)
      : new Type(bytes.slice().buffer, 0, count);
  switch (e.dtype) {
    case 'F32': return Tensor.from(view(Float32Array), e.shape);
    case 'I32': return Tensor.from(view(Int32Array), e.shape);
    case 'F16': return Tensor.from(view(Uint16Array), e.shape, { dtype: 'float16' });
    case 'BF16': return Tensor.from(view(Uint16Array), e.shape, { dtype: 'bfloat16' });
    case 'F64': return Tensor.from(Float32Array.from(readNumbers(bytes, e.dtype, count)), e.shape);
    case 'F8_E4M3':
    case 'F8_E5M2':
      throw new CheckpointError('MALFORMED_FILE', `${where} has dtype ${e.dtype}, which this package does not support (use F32, F16 or BF16)`);
    default: {
      const values = readNumbers(bytes, e.dtype, count);
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const x = values[i]!;
        if (x < -(2 ** 31) || x > 2 ** 31 - 1) throw new CheckpointError('MALFORMED_FILE', `${where}: value ${x} at index ${i} does not fit int32`);
        out[i] = x;
      }
      return Tensor.from(out, e.shape);
    }
  }
}

/** Little-endian values of the non-native dtypes, as numbers. */
function readNumbers(bytes: Uint8Array, dtype: StoredDType, count: number): number[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case 'F64': out[i] = dv.getFloat64(i * 8, true); break;
      case 'I64': out[i] = Number(dv.getBigInt64(i * 8, true)); break;
      case 'U64': out[i] = Number(dv.getBigUint64(i * 8, true)); break;
      case 'U32': out[i] = dv.getUint32(i * 4, true); break;
      case 'I16': out[i] = dv.getInt16(i * 2, true); break;
      case 'U16': out[i] = dv.getUint16(i * 2, true); break;
      case 'I8': out[i] = dv.getInt8(i); break;
      default: out[i] = dv.getUint8(i); break; // U8, BOOL
    }
  }
  return out;
}

/** Every tensor of an archive, by name, in data order. */
export function archiveTensors(archive: SafetensorsArchive): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  for (const e of archive.entries) tensors.set(e.name, entryTensor(archive, e));
  return tensors;
}

/**
 * The tensors of a safetensors file (a path) or of its bytes (a Uint8Array, Buffer or
 * ArrayBuffer), as CPU tensors by name. F32, F16, BF16 and I32 tensors are views of the bytes
 * (no copy); see entryTensor for the other dtypes. A malformed or truncated file rejects with
 * CheckpointError 'MALFORMED_FILE' naming the problem; nothing outside the file is read.
 */
export async function loadSafetensors(fileOrBuffer: string | URL | Uint8Array | ArrayBuffer): Promise<Map<string, Tensor>> {
  if (typeof fileOrBuffer === 'string' || fileOrBuffer instanceof URL) {
    const path = typeof fileOrBuffer === 'string' ? fileOrBuffer : fileURLToPath(fileOrBuffer);
    return archiveTensors(await readSafetensorsFile(path));
  }
  const bytes = fileOrBuffer instanceof ArrayBuffer ? new Uint8Array(fileOrBuffer) : fileOrBuffer;
  if (bytes instanceof Uint8Array) {
    // Tensors are views of these bytes, read by kernels on worker threads: they must not shrink.
    if ((bytes.buffer as { resizable?: boolean }).resizable)
      throw new TypeError('loadSafetensors: the bytes must not be backed by a resizable ArrayBuffer');
    return archiveTensors(parseSafetensors(bytes));
  }
  throw new TypeError(`loadSafetensors: fileOrBuffer must be a path, a URL, a Uint8Array or an ArrayBuffer, got ${describe(fileOrBuffer)}`);
}

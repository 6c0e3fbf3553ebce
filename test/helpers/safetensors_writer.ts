// Writes safetensors bytes for the tests, with hooks to break them on purpose.

export interface EntrySpec {
  dtype: string;
  shape: number[];
  /** The raw little-endian bytes. */
  bytes: Uint8Array;
}

export interface EncodeOptions {
  metadata?: Record<string, unknown>;
  /** Changes the header object before it is written (to corrupt entries). */
  editHeader?: (header: Record<string, any>) => void;
  /** Spaces appended to the JSON text (the format allows them). */
  padding?: number;
  /** Bytes appended after the data. */
  trailing?: number;
}

export function bytesOf(values: Float32Array | Int32Array | Uint16Array | BigInt64Array | Float64Array | Uint8Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** A valid file of the given entries in order (offsets follow one another), unless edited. */
export function encodeSafetensors(entries: Record<string, EntrySpec>, opts: EncodeOptions = {}): Uint8Array {
  const header: Record<string, any> = {};
  if (opts.metadata) header.__metadata__ = opts.metadata;
  let at = 0;
  for (const [name, e] of Object.entries(entries)) {
    header[name] = { dtype: e.dtype, shape: e.shape, data_offsets: [at, at + e.bytes.byteLength] };
    at += e.bytes.byteLength;
  }
  opts.editHeader?.(header);
  const json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(opts.padding ?? 0));
  return assemble(json, Object.values(entries).map((e) => e.bytes), opts.trailing ?? 0);
}

/** The 8-byte length, the header bytes as given, the data blocks. */
export function assemble(headerBytes: Uint8Array, blocks: Uint8Array[], trailing = 0, claimedLength?: bigint): Uint8Array {
  const dataLength = blocks.reduce((a, b) => a + b.byteLength, 0) + trailing;
  const out = new Uint8Array(8 + headerBytes.byteLength + dataLength);
  new DataView(out.buffer).setBigUint64(0, claimedLength ?? BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.byteLength;
  for (const b of blocks) {
    out.set(b, at);
    at += b.byteLength;
  }
  return out;
}

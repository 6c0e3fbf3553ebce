import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fromHalf, toBFloat16, toFloat16 } from '../lib/index.js';
import { CheckpointError, loadCheckpoint, loadSafetensors } from '../lib/models/index.js';
import { assemble, bytesOf, encodeSafetensors, type EntrySpec } from './helpers/safetensors_writer.js';

const MODEL_FIXTURES = join(import.meta.dirname, 'fixtures', 'models');
const scratch = mkdtempSync(join(tmpdir(), 'sa-safetensors-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const f32 = (values: number[], shape = [values.length]): EntrySpec => ({ dtype: 'F32', shape, bytes: bytesOf(Float32Array.from(values)) });
const i32 = (values: number[], shape = [values.length]): EntrySpec => ({ dtype: 'I32', shape, bytes: bytesOf(Int32Array.from(values)) });

const VALID = { a: f32([1, 2, 3, 4, 5, 6], [2, 3]), b: i32([7, -8]) };

async function rejection(input: Uint8Array | string): Promise<CheckpointError> {
  try {
    await loadSafetensors(input);
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointError);
    return error as CheckpointError;
  }
  throw new Error('loadSafetensors resolved');
}

async function expectMalformed(input: Uint8Array | string, message: RegExp): Promise<void> {
  const error = await rejection(input);
  expect(error.code).toBe('MALFORMED_FILE');
  expect(error.message).toMatch(message);
}

function writeTemp(name: string, bytes: Uint8Array | string): string {
  const path = join(scratch, name);
  writeFileSync(path, bytes);
  return path;
}

describe('loadSafetensors', () => {
  describe('valid files', () => {
    it('reads every supported dtype with its shape and values', async () => {
      const half = Float32Array.from([1.5, -2, 65504, 0.25]);
      const bytes = encodeSafetensors({
        w: f32([1, 2, 3, 4, 5, 6], [2, 3]),
        ids: i32([3, -1, 2 ** 31 - 1], [3]),
        h: { dtype: 'F16', shape: [2, 2], bytes: bytesOf(toFloat16(half)) },
        bf: { dtype: 'BF16', shape: [4], bytes: bytesOf(toBFloat16(half)) },
        scalar: f32([-1e9], []),
        empty: f32([], [0, 5]),
      }, { metadata: { format: 'pt' } });
      const t = await loadSafetensors(bytes);
      expect([...t.keys()]).toEqual(['w', 'ids', 'h', 'bf', 'scalar', 'empty']);
      expect(t.get('w')!.shape).toEqual([2, 3]);
      expect(Array.from(await t.get('w')!.data())).toEqual([1, 2, 3, 4, 5, 6]);
      expect(t.get('ids')!.dtype).toBe('int32');
      expect(Array.from(await t.get('ids')!.data())).toEqual([3, -1, 2 ** 31 - 1]);
      expect(t.get('h')!.dtype).toBe('float16');
      expect(Array.from(fromHalf((await t.get('h')!.data()) as Uint16Array, 'float16'))).toEqual([1.5, -2, 65504, 0.25]);
      expect(t.get('bf')!.dtype).toBe('bfloat16');
      expect(t.get('scalar')!.shape).toEqual([]);
      expect(Array.from(await t.get('scalar')!.data())).toEqual([-1e9]);
      expect(t.get('empty')!.shape).toEqual([0, 5]);
    });

    it('returns views of the bytes it was given, not copies', async () => {
      const bytes = encodeSafetensors(VALID);
      const t = await loadSafetensors(bytes);
      const data = await t.get('a')!.data();
      expect(data.buffer).toBe(bytes.buffer);
      bytes[bytes.length - 9] = 0x7f; // a byte of tensor a's last value
      expect((await t.get('a')!.data())[5]).not.toBe(6);
    });

    it('copies a tensor whose offset is not aligned for its element type, with the right values', async () => {
      const bytes = encodeSafetensors({ a: f32([1, 2, 3]) }, { padding: 1 }); // data starts at an odd offset
      const t = await loadSafetensors(bytes);
      expect(Array.from(await t.get('a')!.data())).toEqual([1, 2, 3]);
    });

    it('converts F64 to float32 and the integer dtypes to int32', async () => {
      const bytes = encodeSafetensors({
        d: { dtype: 'F64', shape: [2], bytes: bytesOf(Float64Array.from([0.1, -3])) },
        l: { dtype: 'I64', shape: [3], bytes: bytesOf(BigInt64Array.from([0n, -5n, 2n ** 31n - 1n])) },
        u: { dtype: 'U8', shape: [2], bytes: Uint8Array.from([0, 255]) },
        flag: { dtype: 'BOOL', shape: [2], bytes: Uint8Array.from([1, 0]) },
      });
      const t = await loadSafetensors(bytes);
      expect(t.get('d')!.dtype).toBe('float32');
      expect(Array.from(await t.get('d')!.data())).toEqual([Math.fround(0.1), -3]);
      expect(Array.from(await t.get('l')!.data())).toEqual([0, -5, 2 ** 31 - 1]);
      expect(Array.from(await t.get('u')!.data())).toEqual([0, 255]);
      expect(Array.from(await t.get('flag')!.data())).toEqual([1, 0]);
    });

    it('reads a path, a file URL, an ArrayBuffer and a Buffer alike', async () => {
      const bytes = encodeSafetensors(VALID);
      const path = writeTemp('valid.safetensors', bytes);
      for (const input of [path, pathToFileURL(path), bytes.slice().buffer, Buffer.from(bytes)]) {
        const t = await loadSafetensors(input);
        expect(Array.from(await t.get('b')!.data())).toEqual([7, -8]);
      }
    });

    it('reads the model fixtures, 0-d buffers included', async () => {
      const t = await loadSafetensors(join(MODEL_FIXTURES, 'rf_lsh_nh2_b4_c16_L64_enc', 'model.safetensors'));
      expect(t.get('query_key.weight')!.shape).toEqual([32, 32]);
      expect(t.get('self_mask_value_float32')!.shape).toEqual([]);
      expect((await t.get('self_mask_value_float32')!.data())[0]).toBe(-1e5);
    });
  });

  describe('malformed files', () => {
    const header = (text: string) => new TextEncoder().encode(text);

    it('rejects a file shorter than the header length', async () => {
      await expectMalformed(new Uint8Array(5), /truncated: 5 bytes/);
    });
    it('rejects a header length past the end of the file', async () => {
      await expectMalformed(assemble(header('{}'), [], 0, 1000n), /truncated: the header claims 1000 bytes but only 2 follow/);
    });
    it('rejects a header length beyond the 100 MB limit without allocating it', async () => {
      await expectMalformed(assemble(header('{}'), [], 0, 2n ** 63n), /exceeds the 104857600-byte limit/);
    });
    it('rejects a header that does not start with {', async () => {
      await expectMalformed(assemble(header(' {}'), []), /does not start with "\{"/);
    });
    it('rejects a header that is not valid JSON, or not UTF-8, or not an object', async () => {
      await expectMalformed(assemble(header('{"a": '), []), /not valid JSON/);
      await expectMalformed(assemble(Uint8Array.from([0x7b, 0xff, 0x7d]), []), /not valid UTF-8/);
    });
    it('rejects entries that are not { dtype, shape, data_offsets }', async () => {
      const edit = (change: (h: Record<string, any>) => void) => encodeSafetensors(VALID, { editHeader: change });
      await expectMalformed(edit((h) => { h.a = [1]; }), /tensor 'a': the entry must be an object/);
      await expectMalformed(edit((h) => { h.a.dtype = 'F17'; }), /tensor 'a': unknown dtype "F17"/);
      await expectMalformed(edit((h) => { h.a.shape = [2, -3]; }), /tensor 'a': shape must be an array of non-negative integers/);
      await expectMalformed(edit((h) => { h.a.shape = [2, 1.5]; }), /tensor 'a': shape must be/);
      await expectMalformed(edit((h) => { h.a.data_offsets = [0]; }), /tensor 'a': data_offsets must be two non-negative integers/);
      await expectMalformed(edit((h) => { h.__metadata__ = { format: 1 }; }), /__metadata__.format must be a string/);
    });
    it('rejects offsets that end before they begin', async () => {
      await expectMalformed(encodeSafetensors(VALID, { editHeader: (h) => { h.b.data_offsets = [32, 24]; } }), /tensor 'b': data_offsets \[32,24\] end before they begin/);
    });
    it('rejects a dtype and shape that do not match the byte length', async () => {
      await expectMalformed(encodeSafetensors(VALID, { editHeader: (h) => { h.a.shape = [2, 2]; } }), /tensor 'a': F32 of shape \[2,2\] needs 16 bytes but data_offsets \[0,24\] hold 24/);
      await expectMalformed(encodeSafetensors(VALID, { editHeader: (h) => { h.a.dtype = 'F16'; } }), /needs 12 bytes/);
    });
    it('rejects offsets outside the data (a truncated file)', async () => {
      const bytes = encodeSafetensors(VALID);
      await expectMalformed(bytes.subarray(0, bytes.length - 4), /tensor 'b': data_offsets \[24,32\] reach past the end of the data \(28 bytes\)/);
    });
    it('rejects overlapping tensors', async () => {
      const bytes = encodeSafetensors({ a: f32([1, 2]), b: f32([3, 4]) }, { editHeader: (h) => { h.b.data_offsets = [4, 12]; } });
      await expectMalformed(bytes, /tensor 'b' \[4,12\] overlaps tensor 'a' \[0,8\]/);
    });
    it('rejects holes and bytes after the last tensor', async () => {
      const hole = encodeSafetensors({ a: f32([1, 2]), b: f32([3]) }, { editHeader: (h) => { h.a.shape = [1]; h.a.data_offsets = [0, 4]; } });
      await expectMalformed(hole, /bytes \[4,8\) of the data belong to no tensor/);
      await expectMalformed(encodeSafetensors(VALID, { trailing: 3 }), /bytes \[32,35\) after the last tensor belong to no tensor/);
    });
    it('rejects a dtype the package cannot hold, and integers beyond int32', async () => {
      const f8 = encodeSafetensors({ x: { dtype: 'F8_E4M3', shape: [2], bytes: new Uint8Array(2) } });
      await expectMalformed(f8, /tensor 'x' has dtype F8_E4M3, which this package does not support/);
      const big = encodeSafetensors({ x: { dtype: 'I64', shape: [1], bytes: bytesOf(BigInt64Array.from([2n ** 40n])) } });
      await expectMalformed(big, /tensor 'x': value 1099511627776 at index 0 does not fit int32/);
    });
    it('checks a file on disk against its size before reading its data', async () => {
      const bytes = encodeSafetensors(VALID);
      await expectMalformed(writeTemp('cut.safetensors', bytes.subarray(0, bytes.length - 1)), /cut.safetensors: tensor 'b': data_offsets \[24,32\] reach past the end of the data \(31 bytes\)/);
      await expectMalformed(writeTemp('cut-header.safetensors', bytes.subarray(0, 20)), /cut-header.safetensors: truncated: the header claims/);
    });
    it('reports a missing file as MISSING_FILE', async () => {
      const error = await rejection(join(scratch, 'absent.safetensors'));
      expect(error.code).toBe('MISSING_FILE');
    });
    it('rejects what is not a path or bytes', async () => {
      await expect(loadSafetensors(42 as never)).rejects.toThrow(TypeError);
    });
  });
});

describe('loadCheckpoint', () => {
  const config = JSON.stringify({ model_type: 'test' });

  function checkpointDir(name: string, files: Record<string, Uint8Array | string>): string {
    const dir = join(scratch, name);
    mkdirSync(dir, { recursive: true });
    for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content);
    return dir;
  }

  it('reads config.json and model.safetensors', async () => {
    const c = await loadCheckpoint(join(MODEL_FIXTURES, 'lf_model_w8int_L37_g0'));
    expect(c.config.model_type).toBe('longformer');
    expect(c.weights.get('embeddings.word_embeddings.weight')!.shape[1]).toBe(32);
  });

  it('reads the shards a model.safetensors.index.json names', async () => {
    const dir = checkpointDir('sharded', {
      'config.json': config,
      'model-00001-of-00002.safetensors': encodeSafetensors({ a: f32([1, 2]) }),
      'model-00002-of-00002.safetensors': encodeSafetensors({ b: i32([3]) }),
      'model.safetensors.index.json': JSON.stringify({ metadata: {}, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }),
    });
    const c = await loadCheckpoint(dir);
    expect([...c.weights.keys()].sort()).toEqual(['a', 'b']);
    expect(Array.from(await c.weights.get('b')!.data())).toEqual([3]);
  });

  it('rejects an index whose shards do not hold what it says, or point outside the directory', async () => {
    const wrong = checkpointDir('sharded-wrong', {
      'config.json': config,
      'one.safetensors': encodeSafetensors({ a: f32([1]) }),
      'model.safetensors.index.json': JSON.stringify({ weight_map: { a: 'one.safetensors', b: 'one.safetensors' } }),
    });
    await expect(loadCheckpoint(wrong)).rejects.toThrow(/weight_map puts 'b' in one.safetensors, which does not hold it/);
    const escape = checkpointDir('sharded-escape', {
      'config.json': config,
      'model.safetensors.index.json': JSON.stringify({ weight_map: { a: '../valid.safetensors' } }),
    });
    await expect(loadCheckpoint(escape)).rejects.toThrow(/weight_map\["a"\] must be a file name in the same directory/);
    const missing = checkpointDir('sharded-missing', {
      'config.json': config,
      'model.safetensors.index.json': JSON.stringify({ weight_map: { a: 'gone.safetensors' } }),
    });
    await expect(loadCheckpoint(missing)).rejects.toMatchObject({ code: 'MISSING_FILE', message: expect.stringMatching(/gone.safetensors: no such file/) });
  });

  it('says what is missing: config.json, the weights, or only a pickle', async () => {
    await expect(loadCheckpoint(checkpointDir('no-config', {}))).rejects.toMatchObject({ code: 'MISSING_FILE', message: expect.stringMatching(/config.json: no such file/) });
    await expect(loadCheckpoint(checkpointDir('no-weights', { 'config.json': config }))).rejects.toMatchObject({ code: 'MISSING_FILE', message: expect.stringMatching(/neither model.safetensors nor model.safetensors.index.json/) });
    await expect(loadCheckpoint(checkpointDir('pickle', { 'config.json': config, 'pytorch_model.bin': 'x' }))).rejects.toThrow(/pytorch_model.bin is a pickle/);
    await expect(loadCheckpoint(checkpointDir('bad-config', { 'config.json': '{"a":' }))).rejects.toMatchObject({ code: 'MALFORMED_FILE' });
    await expect(loadCheckpoint(checkpointDir('array-config', { 'config.json': '[]' }))).rejects.toThrow(/must hold a JSON object/);
  });
});

import { describe, expect, it } from 'vitest';
import {
  AttentionError, fromHalf, lshAttention, lshHash, sortByBucket, Tensor, toBFloat16, toFloat16, type Device,
  type LshAttentionOptions,
} from '../lib/index.js';
import { normalFloat32 } from '../lib/random.js';
import { expectClose, expectEqualArrays } from './helpers/compare.js';
import { forEachDevice, tensorOn, valuesOf } from './helpers/devices.js';
import { rng, randn } from './helpers/random.js';
import { referenceBuckets, referenceLshAttention, referenceSort, type LshReferenceConfig } from './helpers/reference_lsh.js';
import { fixturesOfKind, type Fixture } from './helpers/safetensors.js';

const FIXTURES = fixturesOfKind('lsh');

function fixtureOptions(fx: Fixture): LshAttentionOptions {
  const c = fx.config;
  return {
    nHashes: c.num_hashes, nBuckets: c.num_buckets, chunkLength: c.chunk_length,
    chunksBefore: c.num_chunks_before, chunksAfter: c.num_chunks_after, causal: c.causal,
  };
}

async function fixtureTensor(device: Device, fx: Fixture, name: string): Promise<Tensor | undefined> {
  const t = fx.tensors[name];
  return t && tensorOn(device, t.data, t.shape);
}

/** A padding mask [B, L] with `padded` zeros per row at random places (row 0 keeps none if B > 1). */
function paddingMask(B: number, L: number, padded: number, seed: number): Int32Array {
  const next = rng(seed);
  const mask = new Int32Array(B * L).fill(1);
  for (let b = B > 1 ? 1 : 0; b < B; b++) for (let i = 0; i < padded; i++) mask[b * L + Math.floor(next() * L)] = 0;
  return mask;
}

interface RandomCase extends LshReferenceConfig {
  name: string;
  padded?: number;
}

// Random cases checked against the naive reference: every path and edge of docs/semantics.md 1.2-1.10.
const RANDOM_CASES: RandomCase[] = [
  { name: 'L = 1 (standard path, only the self key)', B: 1, H: 2, L: 1, D: 8, nHashes: 3, nBuckets: 4, chunkLength: 4, chunksBefore: 1, chunksAfter: 0, causal: false },
  { name: 'L = 2, causal (standard path)', B: 2, H: 1, L: 2, D: 8, nHashes: 2, nBuckets: 4, chunkLength: 8, chunksBefore: 1, chunksAfter: 0, causal: true },
  { name: 'L = chunkLength - 1 with padding (standard path)', B: 2, H: 2, L: 15, D: 16, nHashes: 2, nBuckets: 8, chunkLength: 16, chunksBefore: 1, chunksAfter: 0, causal: false, padded: 3 },
  { name: 'L = chunkLength + 1 (padded to 2 chunks per round)', B: 1, H: 2, L: 17, D: 16, nHashes: 2, nBuckets: 4, chunkLength: 16, chunksBefore: 1, chunksAfter: 0, causal: false },
  { name: 'L = 3·chunkLength + 5, factorised, causal, padding, B = 2', B: 2, H: 2, L: 53, D: 16, nHashes: 3, nBuckets: [4, 6], chunkLength: 16, chunksBefore: 2, chunksAfter: 1, causal: true, padded: 4 },
  { name: '8 rounds of 256 buckets', B: 1, H: 2, L: 64, D: 16, nHashes: 8, nBuckets: 256, chunkLength: 8, chunksBefore: 1, chunksAfter: 1, causal: false },
  { name: '2 buckets, keys only after', B: 1, H: 1, L: 48, D: 8, nHashes: 1, nBuckets: 2, chunkLength: 16, chunksBefore: 0, chunksAfter: 2, causal: false },
  { name: 'fewer chunks than neighbours: repeated keys counted', B: 1, H: 2, L: 32, D: 16, nHashes: 1, nBuckets: 4, chunkLength: 16, chunksBefore: 2, chunksAfter: 2, causal: false },
  { name: 'causal rounds whose first tokens see only themselves', B: 2, H: 1, L: 40, D: 16, nHashes: 4, nBuckets: [2, 2, 4], chunkLength: 8, chunksBefore: 0, chunksAfter: 0, causal: true },
  { name: 'three factors, padding in one batch row only', B: 3, H: 2, L: 96, D: 32, nHashes: 2, nBuckets: [2, 4, 2], chunkLength: 32, chunksBefore: 1, chunksAfter: 1, causal: false, padded: 10 },
];

function rotationsFor(cfg: LshReferenceConfig, seed: number): { data: Float32Array; shape: number[] } {
  const factors = typeof cfg.nBuckets === 'number' ? [cfg.nBuckets] : cfg.nBuckets;
  const shape = [cfg.H, cfg.D, cfg.nHashes, factors.reduce((a, b) => a + b, 0) / 2];
  return { data: randn(shape.reduce((a, b) => a * b, 1), seed), shape };
}

describe('lshHash', () => {
  forEachDevice((device) => {
    for (const fx of FIXTURES.filter((f) => f.tensors.buckets)) {
      it(`matches the buckets of fixture ${fx.name} exactly`, async () => {
        const buckets = await lshHash((await fixtureTensor(device, fx, 'qk'))!, {
          rotations: (await fixtureTensor(device, fx, 'rotations'))!,
          nBuckets: fx.config.num_buckets,
          paddingMask: await fixtureTensor(device, fx, 'padding_mask'),
        });
        expect(buckets.dtype).toBe('int32');
        expect(buckets.shape).toEqual(fx.tensors.buckets!.shape);
        expectEqualArrays(await buckets.data(), fx.tensors.buckets!.data);
      });
    }

    for (const [name, nBuckets, padded] of [
      ['one bucket count', 16, 0],
      ['factorised buckets, first factor least significant', [4, 8], 0],
      ['the padding bucket and its N + 1 offsets in every batch row', [6, 2], 5],
    ] as const) {
      it(`hashes random inputs like the reference: ${name}`, async () => {
        const cfg = { B: 2, H: 3, L: 50, D: 24, nHashes: 3, nBuckets: nBuckets as number | number[] };
        const qk = randn(cfg.B * cfg.H * cfg.L * cfg.D, 11);
        const rotations = rotationsFor({ ...cfg, chunkLength: 1, chunksBefore: 0, chunksAfter: 0, causal: false }, 12);
        const mask = padded ? paddingMask(cfg.B, cfg.L, padded, 13) : undefined;
        const buckets = await lshHash(await tensorOn(device, qk, [cfg.B, cfg.H, cfg.L, cfg.D]), {
          rotations: await tensorOn(device, rotations.data, rotations.shape),
          nBuckets: cfg.nBuckets,
          paddingMask: mask && (await tensorOn(device, mask, [cfg.B, cfg.L])),
        });
        expectEqualArrays(await buckets.data(), referenceBuckets(qk, rotations.data, mask, cfg));
      });
    }

    // (32 tokens + 32 rotation columns) · 1024 features · 4 bytes is 256 KiB, more than a CUDA
    // block's shared memory: the device streams the features through in slices.
    it('hashes head dimensions wider than a block\'s shared memory like the reference (D = 1024)', async () => {
      const cfg = { B: 1, H: 1, L: 64, D: 1024, nHashes: 2, nBuckets: [4, 8] as number[] };
      const qk = randn(cfg.L * cfg.D, 14);
      const rotations = rotationsFor({ ...cfg, chunkLength: 1, chunksBefore: 0, chunksAfter: 0, causal: false }, 15);
      const buckets = await lshHash(await tensorOn(device, qk, [1, 1, cfg.L, cfg.D]), {
        rotations: await tensorOn(device, rotations.data, rotations.shape), nBuckets: cfg.nBuckets,
      });
      expectEqualArrays(await buckets.data(), referenceBuckets(qk, rotations.data, undefined, cfg));
    });

    it('treats an all-ones padding mask as no mask (no extra bucket)', async () => {
      const qk = randn(2 * 2 * 20 * 8, 3), rot = randn(2 * 8 * 2 * 4, 4);
      const qkT = await tensorOn(device, qk, [2, 2, 20, 8]), rotT = await tensorOn(device, rot, [2, 8, 2, 4]);
      const plain = await lshHash(qkT, { rotations: rotT, nBuckets: 8 });
      const ones = await lshHash(qkT, { rotations: rotT, nBuckets: 8, paddingMask: await tensorOn(device, new Int32Array(40).fill(1), [2, 20]) });
      expectEqualArrays(await ones.data(), await plain.data());
    });
  });
});

describe('sortByBucket', () => {
  forEachDevice((device) => {
    for (const fx of FIXTURES.filter((f) => f.tensors.sorted_idx)) {
      it(`matches the sorted index of fixture ${fx.name} exactly`, async () => {
        const { sortedIndex, undoIndex } = await sortByBucket((await fixtureTensor(device, fx, 'buckets'))!);
        const sorted = fx.tensors.sorted_idx!.data;
        expectEqualArrays(await sortedIndex.data(), sorted);
        const undo = (await undoIndex.data()) as Int32Array;
        const n = fx.tensors.buckets!.shape[2]!;
        for (let j = 0; j < sorted.length; j++) expect(undo[Math.floor(j / n) * n + sorted[j]!]).toBe(j % n);
      });
    }

    for (const [name, low, span] of [
      ['small buckets with many ties', 0, 7],
      ['negative and huge int32 values', -(2 ** 31), 2 ** 32 - 1],
      ['a span just over 2^16', 1000, 70_000],
    ] as const) {
      it(`is a stable sort with its inverse: ${name}`, async () => {
        const [B, H, N] = [2, 3, 777];
        const next = rng(span);
        const keys = Int32Array.from({ length: B * H * N }, () => low + Math.floor(next() * span));
        const { sortedIndex, undoIndex } = await sortByBucket(await tensorOn(device, keys, [B, H, N]));
        const expected = referenceSort(keys, B * H, N);
        expectEqualArrays(await sortedIndex.data(), expected.sorted);
        expectEqualArrays(await undoIndex.data(), expected.undo);
      });
    }
  });

  it('rejects buckets that are not int32 [B, H, N]', async () => {
    await expect(sortByBucket(Tensor.from(new Float32Array(4), [1, 1, 4]))).rejects.toThrow(/buckets.dtype must be int32/);
    await expect(sortByBucket(Tensor.from(new Int32Array(4), [1, 4]))).rejects.toThrow(/must have 3 dimensions/);
  });
});

describe('the naive reference', () => {
  for (const fx of FIXTURES) {
    it(`reproduces fixture ${fx.name}`, () => {
      const c = fx.config;
      const cfg: LshReferenceConfig = {
        B: c.B, H: c.H, L: c.L, D: c.D, nHashes: c.num_hashes, nBuckets: c.num_buckets, chunkLength: c.chunk_length,
        chunksBefore: c.num_chunks_before, chunksAfter: c.num_chunks_after, causal: c.causal,
      };
      const { qk, v, rotations, padding_mask: mask, buckets, out } = fx.tensors;
      if (buckets) expectEqualArrays(referenceBuckets(qk!.data, rotations!.data, mask?.data, cfg), buckets.data);
      expectClose(referenceLshAttention(qk!.data, v!.data, rotations?.data, mask?.data, cfg), out!.data, 1e-6);
    });
  }
});

describe('lshAttention', () => {
  forEachDevice((device) => {
    const tolerance = device === 'cpu' ? 1e-5 : 1e-4;

    for (const fx of FIXTURES) {
      it(`matches fixture ${fx.name}`, async () => {
        const out = await lshAttention((await fixtureTensor(device, fx, 'qk'))!, (await fixtureTensor(device, fx, 'v'))!, {
          ...fixtureOptions(fx),
          rotations: await fixtureTensor(device, fx, 'rotations'),
          paddingMask: await fixtureTensor(device, fx, 'padding_mask'),
        });
        expect(out.shape).toEqual(fx.tensors.out!.shape);
        expectClose(await out.data() as Float32Array, fx.tensors.out!.data, tolerance);
      });
    }

    it('reproduces the float32 rounding of rows that see only themselves (docs/semantics.md 1.9)', async () => {
      const fx = FIXTURES.find((f) => f.config.causal && f.config.num_hashes > 1 && f.config.path === 'chunked')!;
      const out = (await (await lshAttention((await fixtureTensor(device, fx, 'qk'))!, (await fixtureTensor(device, fx, 'v'))!, {
        ...fixtureOptions(fx), rotations: await fixtureTensor(device, fx, 'rotations'),
        paddingMask: await fixtureTensor(device, fx, 'padding_mask'),
      })).data()) as Float32Array;
      const { D } = fx.config as { D: number };
      const v = fx.tensors.v!.data, expected = fx.tensors.out!.data;
      // Token 0 of every head sees only itself: about 0.998·v, not v.
      expectClose(out.subarray(0, D), expected.subarray(0, D), tolerance);
      expect(Math.abs(out[0]! / v[0]! - 1)).toBeGreaterThan(1e-3);
    });

    for (const cfg of RANDOM_CASES) {
      it(`matches the naive reference: ${cfg.name}`, async () => {
        const { B, H, L, D } = cfg;
        const qk = randn(B * H * L * D, 21, 2), v = randn(B * H * L * D, 22);
        const rotations = rotationsFor(cfg, 23);
        const mask = cfg.padded ? paddingMask(B, L, cfg.padded, 24) : undefined;
        const out = await lshAttention(await tensorOn(device, qk, [B, H, L, D]), await tensorOn(device, v, [B, H, L, D]), {
          nHashes: cfg.nHashes, nBuckets: cfg.nBuckets, chunkLength: cfg.chunkLength, chunksBefore: cfg.chunksBefore,
          chunksAfter: cfg.chunksAfter, causal: cfg.causal,
          rotations: await tensorOn(device, rotations.data, rotations.shape),
          paddingMask: mask && (await tensorOn(device, mask, [B, L])),
        });
        expectClose(await out.data() as Float32Array, referenceLshAttention(qk, v, rotations.data, mask, cfg), tolerance);
      });
    }

    // L = 40, chunkLength 8, 2 rounds: 10 chunks. Up to 10 chunks before or after agree with
    // Hugging Face's look-adjacent (a shift of 10 is the chunk itself); more is a RangeError,
    // and 2^31 - 1 would have overflowed the int32 keys per query chunkLength·(1 + before + after).
    it('takes chunksBefore and chunksAfter up to the number of chunks and rejects more, naming the option', async () => {
      const cfg: LshReferenceConfig = { B: 1, H: 2, L: 40, D: 8, nHashes: 2, nBuckets: 4, chunkLength: 8, chunksBefore: 10, chunksAfter: 3, causal: false };
      const { B, H, L, D } = cfg;
      const qk = randn(B * H * L * D, 25, 2), v = randn(B * H * L * D, 26);
      const rotations = rotationsFor(cfg, 27);
      const inputs = [await tensorOn(device, qk, [B, H, L, D]), await tensorOn(device, v, [B, H, L, D])] as const;
      const options = { nHashes: 2, nBuckets: 4, chunkLength: 8, rotations: await tensorOn(device, rotations.data, rotations.shape) };
      const out = await lshAttention(...inputs, { ...options, chunksBefore: 10, chunksAfter: 3 });
      expectClose(await out.data() as Float32Array, referenceLshAttention(qk, v, rotations.data, undefined, cfg), tolerance);
      for (const [key, value] of [['chunksBefore', 11], ['chunksAfter', 11], ['chunksBefore', 2 ** 31 - 1], ['chunksAfter', 2 ** 31 - 1]] as const) {
        const result = lshAttention(...inputs, { ...options, [key]: value });
        await expect(result).rejects.toThrow(RangeError);
        await expect(result).rejects.toThrow(new RegExp(`opts.${key} must be at most the number of chunks, .* = 10, got ${value}`));
      }
      // L <= chunkLength is full attention: the options are unused, any int32 is accepted.
      const short = [await tensorOn(device, qk.subarray(0, H * 8 * D), [1, H, 8, D]), await tensorOn(device, v.subarray(0, H * 8 * D), [1, H, 8, D])] as const;
      expect((await lshAttention(...short, { nHashes: 2, nBuckets: 4, chunkLength: 8, chunksBefore: 2 ** 31 - 1 })).shape).toEqual([1, H, 8, D]);
    });

    it('draws rotations from the seed with the package generator, deterministically', async () => {
      const [B, H, L, D] = [1, 2, 48, 16];
      const qk = await tensorOn(device, randn(B * H * L * D, 31), [B, H, L, D]);
      const v = await tensorOn(device, randn(B * H * L * D, 32), [B, H, L, D]);
      const opts = { nHashes: 2, nBuckets: 4, chunkLength: 8 };
      const seeded = await (await lshAttention(qk, v, { ...opts, seed: 7 })).data();
      expectEqualArrays(await (await lshAttention(qk, v, { ...opts, seed: 7 })).data(), seeded);
      const rotations = await tensorOn(device, normalFloat32(H * D * 2 * 2, 7), [H, D, 2, 2]);
      expectEqualArrays(await (await lshAttention(qk, v, { ...opts, rotations })).data(), seeded);
      const other = await (await lshAttention(qk, v, { ...opts, seed: 8 })).data();
      expect(Array.from(other)).not.toEqual(Array.from(seeded));
      expectEqualArrays(await (await lshAttention(qk, v, opts)).data(), await (await lshAttention(qk, v, { ...opts, seed: 0 })).data());
    });

    for (const dtype of ['float16', 'bfloat16'] as const) {
      it(`computes ${dtype} inputs in float32 within 1e-2 of the float32 result`, async () => {
        const [B, H, L, D] = [2, 2, 70, 32];
        const convert = dtype === 'float16' ? toFloat16 : toBFloat16;
        const qkBits = convert(randn(B * H * L * D, 41, 2)), vBits = convert(randn(B * H * L * D, 42));
        const rotations = await tensorOn(device, randn(H * D * 3 * 8, 43), [H, D, 3, 8]);
        const mask = await tensorOn(device, paddingMask(B, L, 6, 44), [B, L]);
        const opts = { nHashes: 3, nBuckets: 16, chunkLength: 16, causal: true, rotations, paddingMask: mask };
        const half = async (bits: Uint16Array) => {
          const t = Tensor.from(bits, [B, H, L, D], { dtype });
          return device === 'cpu' ? t : t.to(device);
        };
        const out = await lshAttention(await half(qkBits), await half(vBits), opts);
        expect(out.dtype).toBe(dtype);
        const expected = await lshAttention(
          await tensorOn(device, fromHalf(qkBits, dtype), [B, H, L, D]), await tensorOn(device, fromHalf(vBits, dtype), [B, H, L, D]), opts,
        );
        expectClose(await valuesOf(out), await expected.data() as Float32Array, 1e-2);
      });
    }

    // Half precision at D = 64 and 128 takes the tensor-core chunk kernel on CUDA: partial query
    // and key tiles, several query tiles per chunk, one round (rows straight to the output),
    // the padded length of 1.10, causal masks, padding and the standard path.
    const MMA_CASES: Array<RandomCase & { seed: number }> = [
      { name: 'D=64, L=300 padded to chunks of 64, causal, padding', B: 2, H: 1, L: 300, D: 64, nHashes: 2, nBuckets: 8,
        chunkLength: 64, chunksBefore: 1, chunksAfter: 0, causal: true, padded: 9, seed: 51 },
      { name: 'D=128, chunks of 128, keys before and after', B: 1, H: 2, L: 512, D: 128, nHashes: 4, nBuckets: 16,
        chunkLength: 128, chunksBefore: 1, chunksAfter: 1, causal: false, seed: 52 },
      { name: 'D=64, standard path over 100 tokens', B: 1, H: 2, L: 100, D: 64, nHashes: 2, nBuckets: 4,
        chunkLength: 128, chunksBefore: 1, chunksAfter: 0, causal: true, padded: 5, seed: 53 },
      { name: 'D=64, one round, chunks of 32', B: 1, H: 2, L: 256, D: 64, nHashes: 1, nBuckets: [4, 4],
        chunkLength: 32, chunksBefore: 2, chunksAfter: 0, causal: false, seed: 54 },
    ];
    for (const dtype of ['float16', 'bfloat16'] as const) {
      for (const cfg of MMA_CASES) {
        it(`${dtype}: ${cfg.name} is within 1e-2 of float32 on the same inputs`, async () => {
          const { B, H, L, D } = cfg;
          const convert = dtype === 'float16' ? toFloat16 : toBFloat16;
          const qkBits = convert(randn(B * H * L * D, cfg.seed, 2)), vBits = convert(randn(B * H * L * D, cfg.seed + 1));
          const rotations = rotationsFor(cfg, cfg.seed + 2);
          const opts: LshAttentionOptions = {
            nHashes: cfg.nHashes, nBuckets: cfg.nBuckets, chunkLength: cfg.chunkLength, chunksBefore: cfg.chunksBefore,
            chunksAfter: cfg.chunksAfter, causal: cfg.causal,
            rotations: await tensorOn(device, rotations.data, rotations.shape),
            paddingMask: cfg.padded ? await tensorOn(device, paddingMask(B, L, cfg.padded, cfg.seed + 3), [B, L]) : undefined,
          };
          const half = async (bits: Uint16Array) => {
            const t = Tensor.from(bits, [B, H, L, D], { dtype });
            return device === 'cpu' ? t : t.to(device);
          };
          const out = await lshAttention(await half(qkBits), await half(vBits), opts);
          const expected = await lshAttention(
            await tensorOn(device, fromHalf(qkBits, dtype), [B, H, L, D]), await tensorOn(device, fromHalf(vBits, dtype), [B, H, L, D]), opts,
          );
          expectClose(await valuesOf(out), await expected.data() as Float32Array, 1e-2);
        });
      }
    }
  });

  describe('argument errors', () => {
    const qk = Tensor.from(randn(2 * 2 * 40 * 8, 1), [2, 2, 40, 8]);
    const v = Tensor.from(randn(2 * 2 * 40 * 8, 2), [2, 2, 40, 8]);
    const base = { nHashes: 2, nBuckets: 4, chunkLength: 8 };
    const rotations = (shape: number[]) => Tensor.from(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);

    it('rejects bucket counts that are odd, not integers or not a list of even factors', async () => {
      await expect(lshAttention(qk, v, { ...base, nBuckets: 7 })).rejects.toThrow(/opts.nBuckets must be even, got 7/);
      await expect(lshAttention(qk, v, { ...base, nBuckets: 6.5 })).rejects.toThrow(TypeError);
      await expect(lshAttention(qk, v, { ...base, nBuckets: 0 })).rejects.toThrow(RangeError);
      await expect(lshAttention(qk, v, { ...base, nBuckets: [4, 3] })).rejects.toThrow(/opts.nBuckets\[1\] must be even, got 3/);
      await expect(lshAttention(qk, v, { ...base, nBuckets: [] })).rejects.toThrow(RangeError);
      await expect(lshAttention(qk, v, { ...base, nBuckets: '8' as never })).rejects.toThrow(TypeError);
      await expect(lshAttention(qk, v, { ...base, nBuckets: [2 ** 16, 2 ** 16] })).rejects.toThrow(/product/);
    });

    it('rejects chunk and round counts out of range', async () => {
      await expect(lshAttention(qk, v, { ...base, chunkLength: 0 })).rejects.toThrow(/opts.chunkLength must be in \[1,/);
      await expect(lshAttention(qk, v, { ...base, chunkLength: 1.5 })).rejects.toThrow(TypeError);
      await expect(lshAttention(qk, v, { ...base, nHashes: 0 })).rejects.toThrow(/opts.nHashes/);
      await expect(lshAttention(qk, v, { ...base, chunksBefore: -1 })).rejects.toThrow(/opts.chunksBefore/);
      await expect(lshAttention(qk, v, { ...base, chunksAfter: 0.5 })).rejects.toThrow(/opts.chunksAfter/);
      await expect(lshAttention(qk, v, { nBuckets: 4, chunkLength: 8 } as never)).rejects.toThrow(/opts.nHashes/);
    });

    it('rejects rotations of the wrong shape or dtype, and rotations with a seed', async () => {
      await expect(lshAttention(qk, v, { ...base, rotations: rotations([2, 8, 2, 4]) })).rejects.toThrow(
        /opts.rotations.shape \[2,8,2,4\] must equal \[H,D,nHashes,rotSize\/2\] \[2,8,2,2\]/,
      );
      await expect(lshAttention(qk, v, { ...base, rotations: rotations([2, 8, 3, 2]) })).rejects.toThrow(RangeError);
      await expect(
        lshAttention(qk, v, { ...base, rotations: Tensor.from(new Int32Array(64), [2, 8, 2, 2]) }),
      ).rejects.toThrow(/opts.rotations.dtype/);
      await expect(lshAttention(qk, v, { ...base, rotations: rotations([2, 8, 2, 2]), seed: 1 })).rejects.toThrow(
        /exclusive/,
      );
      await expect(lshAttention(qk, v, { ...base, seed: -1 })).rejects.toThrow(/opts.seed/);
    });

    it('rejects a padding mask of the wrong shape, dtype or values', async () => {
      await expect(lshAttention(qk, v, { ...base, paddingMask: Tensor.from(new Int32Array(40), [1, 40]) })).rejects.toThrow(
        /opts.paddingMask.shape \[1,40\] must equal \[B,L\] of qk \[2,40\]/,
      );
      await expect(lshAttention(qk, v, { ...base, paddingMask: Tensor.from(new Float32Array(80), [2, 40]) })).rejects.toThrow(
        /opts.paddingMask.dtype must be int32/,
      );
      const two = new Int32Array(80).fill(1);
      two[45] = 2;
      await expect(lshAttention(qk, v, { ...base, paddingMask: Tensor.from(two, [2, 40]) })).rejects.toThrow(
        /opts.paddingMask\[1,5\] = 2 must be 0 or 1/,
      );
    });

    it('rejects mismatched inputs, unknown options and bad flags', async () => {
      await expect(lshAttention(qk, Tensor.from(new Float32Array(80), [1, 2, 40, 1]), base)).rejects.toThrow(
        /v.shape \[1,2,40,1\] must equal qk.shape \[2,2,40,8\]/,
      );
      await expect(lshAttention(qk, v, { ...base, causal: 1 as never })).rejects.toThrow(/opts.causal must be a boolean/);
      await expect(lshAttention(qk, v, { ...base, window: 3 } as never)).rejects.toThrow(/unknown option 'window'/);
      await expect(lshAttention(qk, v, undefined as never)).rejects.toThrow(/opts must be an object/);
    });

    it('rejects lshHash arguments the same way', async () => {
      await expect(lshHash(qk, { nBuckets: 4 } as never)).rejects.toThrow(/opts.rotations must be a Tensor/);
      await expect(lshHash(qk, { rotations: rotations([2, 8, 2, 4]), nBuckets: 4 })).rejects.toThrow(
        /opts.rotations.shape \[2,8,2,4\] must equal/,
      );
      await expect(lshHash(qk, { rotations: rotations([2, 8, 0, 2]), nBuckets: 4 })).rejects.toThrow(/at least one hash round/);
      await expect(lshHash(qk, { rotations: rotations([2, 8, 2, 2]), nBuckets: 5 })).rejects.toThrow(/must be even/);
    });

    it('rejects an aborted request before it starts', async () => {
      const controller = new AbortController();
      controller.abort();
      const result = lshAttention(qk, v, { ...base, signal: controller.signal });
      await expect(result).rejects.toBeInstanceOf(AttentionError);
      await expect(result).rejects.toMatchObject({ code: 'ABORTED' });
    });
  });
});

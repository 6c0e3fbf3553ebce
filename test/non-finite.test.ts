// NaN and ±Infinity inside tensor data propagate the way the float64 references (PyTorch's
// softmax(q·kᵀ)·v over the visible keys) propagate them: an output is NaN or infinite
// exactly where the reference is, the other outputs are unaffected, and nothing crashes or
// hangs. In dense and local attention a key hidden by a mask (causal, outside the window,
// padding) never reaches a query, even through a zero weight. LSH attention keeps Reformer's
// semantics, where a masked key's score is replaced by -1e9 and its value still enters the
// weighted sum: NaN there spreads through its chunk window exactly as in Hugging Face's code.
import { describe, expect, it } from 'vitest';
import {
  axialPositionEncoding, denseAttention, fromHalf, localAttention, lshAttention, lshHash, Tensor, toBFloat16, toFloat16,
} from '../lib/index.js';
import { expectClose } from './helpers/compare.js';
import { forEachDevice, tensorOn } from './helpers/devices.js';
import { randn } from './helpers/random.js';
import { denseReference } from './helpers/reference.js';
import { localReference } from './helpers/reference_local.js';
import { referenceBuckets, referenceLshAttention } from './helpers/reference_lsh.js';

/** Same NaN positions, same infinities, and the finite values within `tolerance`. */
function expectSameNonFinite(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  const finiteActual: number[] = [], finiteExpected: number[] = [];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (Number.isFinite(e)) {
      if (!Number.isFinite(a)) expect.fail(`index ${i}: ${a}, expected the finite ${e}`);
      finiteActual.push(a);
      finiteExpected.push(e);
    } else if (!Object.is(a, e)) {
      expect.fail(`index ${i}: ${a}, expected ${e}`);
    }
  }
  if (finiteExpected.length) expectClose(finiteActual, finiteExpected, tolerance);
}

type Poison = { tensor: 'q' | 'k' | 'v'; at: [b: number, h: number, i: number, d: number]; value: number };

const B = 2, H = 2, L = 300, D = 8;
const CASES: Array<[string, Poison[], boolean]> = [
  ['a NaN query element makes only its own row NaN', [{ tensor: 'q', at: [0, 1, 5, 3], value: NaN }], false],
  ['a NaN key element makes every query of its head NaN', [{ tensor: 'k', at: [1, 0, 150, 0], value: NaN }], false],
  ['a NaN value element makes its column NaN for the queries that see it', [{ tensor: 'v', at: [0, 0, 70, 2], value: NaN }], false],
  ['an infinite key gives NaN where the scores overflow, as the reference does', [{ tensor: 'k', at: [0, 1, 3, 4], value: Infinity }], false],
  ['a -Infinity query element gives NaN rows, as the reference does', [{ tensor: 'q', at: [1, 1, 299, 0], value: -Infinity }], false],
  ['an infinite value element gives infinite outputs where visible', [{ tensor: 'v', at: [0, 0, 0, 1], value: Infinity }], false],
  ['a NaN value hidden by the causal mask does not reach earlier queries', [{ tensor: 'v', at: [0, 0, 100, 2], value: NaN }], true],
  ['a NaN key hidden by the causal mask does not reach earlier queries', [{ tensor: 'k', at: [1, 1, 260, 5], value: NaN }], true],
  ['an infinite value at the last position reaches only the last query', [{ tensor: 'v', at: [0, 1, 299, 0], value: -Infinity }], true],
  ['NaNs in several heads stay in their heads', [
    { tensor: 'q', at: [0, 0, 10, 0], value: NaN }, { tensor: 'v', at: [1, 1, 200, 7], value: NaN },
    { tensor: 'k', at: [1, 0, 0, 0], value: Infinity },
  ], true],
];

describe('non-finite inputs', () => {
  forEachDevice((device) => {
    describe('denseAttention', () => {
      for (const [name, poisons, causal] of CASES) {
        it(name, async () => {
          const data = { q: randn(B * H * L * D, 1), k: randn(B * H * L * D, 2), v: randn(B * H * L * D, 3) };
          for (const p of poisons) data[p.tensor][((p.at[0] * H + p.at[1]) * L + p.at[2]) * D + p.at[3]] = p.value;
          const [q, k, v] = await Promise.all([data.q, data.k, data.v].map((x) => tensorOn(device, x, [B, H, L, D])));
          const out = await denseAttention(q!, k!, v!, { causal });
          const expected = denseReference(data.q, data.k, data.v, [B, H, L, L, D], 1 / Math.sqrt(D), causal);
          expectSameNonFinite((await out.data()) as Float32Array, expected, device === 'cpu' ? 1e-5 : 1e-4);
        });
      }

      for (const dtype of ['float16', 'bfloat16'] as const) {
        it(`propagates NaN and infinities through ${dtype}`, async () => {
          const n = 1 * 1 * 40 * 4;
          const convert = dtype === 'float16' ? toFloat16 : toBFloat16;
          const x = { q: randn(n, 4), k: randn(n, 5), v: randn(n, 6) };
          x.q[3 * 4] = NaN;
          x.v[20 * 4 + 1] = Infinity;
          const bits = { q: convert(x.q), k: convert(x.k), v: convert(x.v) };
          const half = async (b: Uint16Array) => {
            const t = Tensor.from(b, [1, 1, 40, 4], { dtype });
            return device === 'cpu' ? t : t.to(device);
          };
          const out = await denseAttention(await half(bits.q), await half(bits.k), await half(bits.v), { causal: true });
          const expected = denseReference(fromHalf(bits.q, dtype), fromHalf(bits.k, dtype), fromHalf(bits.v, dtype), [1, 1, 40, 40, 4], 0.5, true);
          expectSameNonFinite(fromHalf((await out.data()) as Uint16Array, dtype), expected, 1e-2);
        });
      }

      // On CUDA these shapes run on tensor cores, where a masked key's value row is still part of
      // the P·V product (with P = 0): NaN and infinities there must not reach earlier queries.
      for (const dtype of ['float16', 'bfloat16'] as const) {
        for (const D of [64, 128]) {
          it(`a NaN or infinite value hidden by the causal mask does not reach earlier queries (${dtype}, D = ${D})`, async () => {
            const L = 300;
            const convert = dtype === 'float16' ? toFloat16 : toBFloat16;
            const x = { q: randn(L * D, 21), k: randn(L * D, 22), v: randn(L * D, 23) };
            x.v[100 * D + 2] = NaN;
            x.v[200 * D + 5] = -Infinity;
            const bits = { q: convert(x.q), k: convert(x.k), v: convert(x.v) };
            const half = async (b: Uint16Array) => {
              const t = Tensor.from(b, [1, 1, L, D], { dtype });
              return device === 'cpu' ? t : t.to(device);
            };
            const out = await denseAttention(await half(bits.q), await half(bits.k), await half(bits.v), { causal: true });
            const got = fromHalf((await out.data()) as Uint16Array, dtype);
            const expected = denseReference(fromHalf(bits.q, dtype), fromHalf(bits.k, dtype), fromHalf(bits.v, dtype), [1, 1, L, L, D], 1 / Math.sqrt(D), true);
            expect(got.subarray(0, 100 * D).every(Number.isFinite)).toBe(true);
            expectSameNonFinite(got, expected, 1e-2);
          });
        }
      }

      // Key 7's score is about -2000 below the others: its weight is exactly 0 in float32 and
      // float64 alike, and 0 · NaN and 0 · ±Infinity are NaN in softmax(q·kᵀ)·v.
      for (const causal of [false, true]) {
        it(`a visible key whose weight underflows to 0 still passes its NaN or infinite value on${causal ? ' (causal)' : ''}`, async () => {
          const [L, D] = [40, 4];
          const data = { q: new Float32Array(L * D).fill(1), k: randn(L * D, 7), v: randn(L * D, 8) };
          data.k.fill(-1000, 7 * D, 8 * D);
          data.v.set([NaN, Infinity, -Infinity], 7 * D);
          const [q, k, v] = await Promise.all([data.q, data.k, data.v].map((x) => tensorOn(device, x, [1, 1, L, D])));
          const out = (await (await denseAttention(q!, k!, v!, { causal })).data()) as Float32Array;
          const expected = denseReference(data.q, data.k, data.v, [1, 1, L, L, D], 0.5, causal);
          expect(Number.isNaN(expected[7 * D + 1])).toBe(true);
          expectSameNonFinite(out, expected, device === 'cpu' ? 1e-5 : 1e-4);
        });
      }

      // L = 1100 spans several query and key tiles: key 900's NaN value reaches the queries
      // from 900 on and, causal, none before it, whichever tile the diagonal crosses.
      it('a NaN value of a future key reaches no earlier query across key tiles (causal)', async () => {
        const [L, D] = [1100, 8];
        const data = { q: randn(L * D, 14), k: randn(L * D, 15), v: randn(L * D, 16) };
        data.v[900 * D + 3] = NaN;
        const [q, k, v] = await Promise.all([data.q, data.k, data.v].map((x) => tensorOn(device, x, [1, 1, L, D])));
        const out = (await (await denseAttention(q!, k!, v!, { causal: true })).data()) as Float32Array;
        const expected = denseReference(data.q, data.k, data.v, [1, 1, L, L, D], 1 / Math.sqrt(D), true);
        expect(Number.isFinite(expected[899 * D + 3]) && Number.isNaN(expected[900 * D + 3])).toBe(true);
        expectSameNonFinite(out, expected, device === 'cpu' ? 1e-5 : 1e-4);
      });

      // The first 256 keys score -Infinity for every query (q > 0, k[j][0] = -Infinity): their
      // weights are 0, the later keys decide the rows, and key 3's NaN value still reaches every
      // row through its zero weight. Causal rows before 256 see no finite score: NaN.
      for (const causal of [false, true]) {
        it(`keys scoring -Infinity weigh 0 even when a query's first keys all do${causal ? ' (causal: all NaN until a finite score)' : ''}`, async () => {
          const [L, D] = [300, 2];
          const data = { q: new Float32Array(L * D).fill(1), k: randn(L * D, 9), v: randn(L * D, 10) };
          for (let j = 0; j < 256; j++) data.k[j * D] = -Infinity, data.k[j * D + 1] = 0;
          data.v[3 * D + 1] = NaN;
          const [q, k, v] = await Promise.all([data.q, data.k, data.v].map((x) => tensorOn(device, x, [1, 1, L, D])));
          const out = (await (await denseAttention(q!, k!, v!, { causal })).data()) as Float32Array;
          const expected = denseReference(data.q, data.k, data.v, [1, 1, L, L, D], 1 / Math.sqrt(D), causal);
          expect(Number.isFinite(expected[(L - 1) * D])).toBe(true);
          expectSameNonFinite(out, expected, device === 'cpu' ? 1e-5 : 1e-4);
        });
      }

      it('returns all NaN for all-NaN inputs, in the time of an ordinary call', async () => {
        const x = await tensorOn(device, new Float32Array(B * H * L * D).fill(NaN), [B, H, L, D]);
        const out = (await (await denseAttention(x, x, x)).data()) as Float32Array;
        expect(out.every(Number.isNaN)).toBe(true);
      });
    });

    describe('localAttention', () => {
      // L = 200, window 8 each side, a padding token at 150 and global tokens at 20 and 120.
      const [B, H, L, D] = [1, 2, 200, 8];
      const mask = new Int32Array(L);
      mask[150] = -1;
      mask[20] = mask[120] = 1;
      // hidden: the poisoned keys are masked for every row, so the result is that of clean data.
      // (Hugging Face's eager code adds the mask constant to a padding key's score, and NaN plus
      // anything is NaN; the kernels drop masked keys, so garbage in padding reaches nobody.)
      const LOCAL_CASES: Array<[string, Poison[], hidden?: boolean]> = [
        ['a NaN query element of a local token makes only its row NaN', [{ tensor: 'q', at: [0, 0, 60, 1], value: NaN }]],
        ['a NaN key of a local token reaches only the windows that hold it', [{ tensor: 'k', at: [0, 1, 90, 0], value: NaN }]],
        ['a NaN value of a local token reaches only the windows that hold it', [{ tensor: 'v', at: [0, 0, 100, 5], value: NaN }]],
        ['a NaN key of a global token reaches every local row', [{ tensor: 'k', at: [0, 0, 120, 2], value: NaN }]],
        ['NaN and infinity at a padding token reach no row', [
          { tensor: 'k', at: [0, 0, 150, 0], value: NaN }, { tensor: 'v', at: [0, 1, 150, 3], value: Infinity },
        ], true],
        ['an infinite value of a local token gives infinite outputs where visible', [{ tensor: 'v', at: [0, 1, 40, 0], value: -Infinity }]],
      ];
      for (const [name, poisons, hidden] of LOCAL_CASES) {
        it(name, async () => {
          const clean = { q: randn(B * H * L * D, 11), k: randn(B * H * L * D, 12), v: randn(B * H * L * D, 13) };
          const data = { q: clean.q.slice(), k: clean.k.slice(), v: clean.v.slice() };
          for (const p of poisons) data[p.tensor][((p.at[0] * H + p.at[1]) * L + p.at[2]) * D + p.at[3]] = p.value;
          const [q, k, v] = await Promise.all([data.q, data.k, data.v].map((x) => tensorOn(device, x, [B, H, L, D])));
          const out = await localAttention(q!, k!, v!, { window: 8, attentionMask: await tensorOn(device, mask, [B, L]) });
          const seen = hidden ? clean : data;
          const expected = localReference({
            shape: [B, H, L, D], ...seen, qGlobal: seen.q, kGlobal: seen.k, vGlobal: seen.v, mask, left: 8, right: 8,
            scale: 1 / Math.sqrt(D),
          });
          expectSameNonFinite((await out.data()) as Float32Array, expected, device === 'cpu' ? 1e-5 : 1e-4);
        });
      }

      // On CUDA these shapes run on tensor cores, where every key of a band tile is part of the
      // P·V product: padding keys and keys outside a row's window get P = 0 there, and their NaN
      // or infinite values must still reach no row. Padding rows are 0 even when their own query
      // is NaN. L = 300: padding at 150 and 151, global tokens at 20 and 120, window 8.
      for (const dtype of ['float16', 'bfloat16'] as const) {
        for (const D of [64, 128]) {
          it(`NaN and infinities behind padding or outside a window reach no row, padding rows stay 0 (${dtype}, D = ${D})`, async () => {
            const L = 300;
            const padMask = new Int32Array(L);
            padMask[150] = padMask[151] = -1;
            padMask[20] = padMask[120] = 1;
            const convert = dtype === 'float16' ? toFloat16 : toBFloat16;
            const x = { q: randn(L * D, 31), k: randn(L * D, 32), v: randn(L * D, 33) };
            x.v.fill(NaN, 150 * D, 151 * D);    // a padding key inside its neighbours' windows
            x.q[151 * D] = NaN;                 // a padding row's own query
            x.v[200 * D + 3] = NaN;             // seen by rows 192..208 only
            x.v[60 * D + 5] = Infinity;         // seen by rows 52..68 only
            const bits = { q: convert(x.q), k: convert(x.k), v: convert(x.v) };
            const half = async (b: Uint16Array) => {
              const t = Tensor.from(b, [1, 1, L, D], { dtype });
              return device === 'cpu' ? t : t.to(device);
            };
            const out = await localAttention(await half(bits.q), await half(bits.k), await half(bits.v), {
              window: 8, attentionMask: await tensorOn(device, padMask, [1, L]),
            });
            const got = fromHalf((await out.data()) as Uint16Array, dtype);
            const seen = { q: fromHalf(bits.q, dtype), k: fromHalf(bits.k, dtype), v: fromHalf(bits.v, dtype) };
            const expected = localReference({
              shape: [1, 1, L, D], ...seen, qGlobal: seen.q, kGlobal: seen.k, vGlobal: seen.v, mask: padMask, left: 8, right: 8,
              scale: 1 / Math.sqrt(D),
            });
            expect(Array.from(got.subarray(150 * D, 152 * D))).toEqual(new Array(2 * D).fill(0));
            expect(got.subarray(176 * D, 192 * D).every(Number.isFinite)).toBe(true);
            expectSameNonFinite(got, expected, 1e-2);
          });
        }
      }

      // Visible keys whose weight is exactly 0 (a score about -1e30 below the others, or -Infinity)
      // still pass a NaN or infinite value on, as in softmax(q·kᵀ)·v: in the windows that hold
      // them, in the global rows, and through a global column to every local row. q > 0.
      const ZERO_WEIGHT_CASES: Array<[string, (k: Float32Array) => void, Poison[]]> = [
        ['a window key whose weight underflows to 0 passes its NaN and infinities to the windows and global rows that see it',
          (k) => k.fill(-1e30, 100 * D, 101 * D), [
            { tensor: 'v', at: [0, 0, 100, 1], value: NaN }, { tensor: 'v', at: [0, 1, 100, 2], value: Infinity },
          ]],
        ['a global key whose weight underflows to 0 passes its NaN to every local and global row',
          (k) => k.fill(-1e30, 20 * D, 21 * D), [{ tensor: 'v', at: [0, 1, 20, 4], value: NaN }]],
        // On the CPU, row 84's window ends in a key tile [88, 120) where it sees only these keys.
        ['window keys scoring -Infinity pass a NaN value on with their zero weights',
          (k) => { for (let j = 88; j <= 92; j++) k[j * D] = -Infinity; }, [{ tensor: 'v', at: [0, 0, 90, 2], value: NaN }]],
      ];
      for (const [name, shapeKeys, poisons] of ZERO_WEIGHT_CASES) {
        it(name, async () => {
          const data = { q: randn(B * H * L * D, 14).map((x) => Math.abs(x) + 0.1), k: randn(B * H * L * D, 15), v: randn(B * H * L * D, 16) };
          for (let h = 0; h < H; h++) shapeKeys(data.k.subarray(h * L * D, (h + 1) * L * D));
          for (const p of poisons) data[p.tensor][((p.at[0] * H + p.at[1]) * L + p.at[2]) * D + p.at[3]] = p.value;
          const [q, k, v] = await Promise.all([data.q, data.k, data.v].map((x) => tensorOn(device, x, [B, H, L, D])));
          const out = await localAttention(q!, k!, v!, { window: 8, attentionMask: await tensorOn(device, mask, [B, L]) });
          const expected = localReference({
            shape: [B, H, L, D], ...data, qGlobal: data.q, kGlobal: data.k, vGlobal: data.v, mask, left: 8, right: 8,
            scale: 1 / Math.sqrt(D),
          });
          expect(expected.some(Number.isNaN)).toBe(true);
          expectSameNonFinite((await out.data()) as Float32Array, expected, device === 'cpu' ? 1e-5 : 1e-4);
        });
      }
    });

    describe('LSH attention', () => {
      const [B, H, L, D] = [1, 2, 64, 8];
      const cfg = { B, H, L, D, nHashes: 2, nBuckets: 4, chunkLength: 8, chunksBefore: 1, chunksAfter: 0, causal: true };
      const rotations = randn(H * D * 2 * 2, 5);
      const mask = Int32Array.from({ length: L }, (_, i) => (i === 50 ? 0 : 1));
      const LSH_CASES: Array<[string, Poison[]]> = [
        ['a NaN in qk spreads through its chunk windows as in the reference', [{ tensor: 'q', at: [0, 0, 10, 1], value: NaN }]],
        ['a NaN value spreads through its chunk windows as in the reference', [{ tensor: 'v', at: [0, 1, 40, 2], value: NaN }]],
        ['an infinite value gives what the reference gives', [{ tensor: 'v', at: [0, 0, 5, 0], value: Infinity }]],
        ['non-finite values in one head leave the other head as the reference has it', [
          { tensor: 'q', at: [0, 1, 3, 3], value: -Infinity }, { tensor: 'v', at: [0, 1, 60, 7], value: NaN },
        ]],
      ];
      for (const [name, poisons] of LSH_CASES) {
        it(name, async () => {
          const data = { q: randn(B * H * L * D, 1, 2), v: randn(B * H * L * D, 2) };
          for (const p of poisons) (p.tensor === 'v' ? data.v : data.q)[((p.at[0] * H + p.at[1]) * L + p.at[2]) * D + p.at[3]] = p.value;
          const qk = await tensorOn(device, data.q, [B, H, L, D]), v = await tensorOn(device, data.v, [B, H, L, D]);
          const options = { rotations: await tensorOn(device, rotations, [H, D, 2, 2]), paddingMask: await tensorOn(device, mask, [B, L]) };
          const out = await lshAttention(qk, v, { nHashes: 2, nBuckets: 4, chunkLength: 8, causal: true, ...options });
          expectSameNonFinite((await out.data()) as Float32Array, referenceLshAttention(data.q, data.v, rotations, mask, cfg),
            device === 'cpu' ? 1e-5 : 1e-4);
          const buckets = (await (await lshHash(qk, { nBuckets: 4, ...options })).data()) as Int32Array;
          expect(Array.from(buckets)).toEqual(Array.from(referenceBuckets(data.q, rotations, mask, cfg)));
        });
      }
    });

    describe('axialPositionEncoding', () => {
      it('copies NaN payloads and infinities bit for bit', async () => {
        const w0 = new Float32Array([NaN, Infinity, -Infinity, -0]);
        const bits = new Uint32Array(w0.buffer);
        bits[0] = 0x7fc12345; // a NaN with a payload
        const out = await axialPositionEncoding([await tensorOn(device, w0, [2, 2]), await tensorOn(device, new Float32Array([1, 2]), [2, 1])]);
        const got = new Uint32Array(((await out.data()) as Float32Array).slice().buffer);
        expect(Array.from(got.subarray(0, 3))).toEqual([0x7fc12345, 0x7f800000, 0x3f800000]);
        expect(Array.from(got.subarray(6, 9))).toEqual([0xff800000, 0x80000000, 0x3f800000]);
      });
    });
  });
});

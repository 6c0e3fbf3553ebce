// Fuzz of the public API with malformed calls: every one must settle with the error the
// validation convention (surfaces.ts) prescribes, named after the function and the argument,
// must leave no memory behind, and the process must keep serving valid calls.
import { describe, expect, it } from 'vitest';
import { AttentionError, denseAttention, memoryStats, Tensor } from '../../lib/index.js';
import { FUZZ_SEED, fuzzCount, Rand } from '../helpers/fuzz.js';
import {
  disposeMade, malformOption, malformOptionsObject, malformTensor, SURFACES, truncate, type Malformed, type Surface,
} from './surfaces.js';

const CALLS = fuzzCount(12_000);

/** One malformation of a fresh valid call of `s`, or undefined when the one drawn does not apply. */
function malform(r: Rand, s: Surface): Malformed | undefined {
  const args = s.valid(r);
  const kinds: Array<() => Malformed | undefined> = [
    ...s.slots.map((slot) => () => malformTensor(r, s, slot, args)),
    ...s.relations.map((f) => () => f(r, args)),
    ...s.extra.map((f) => () => f(r, args)),
    () => truncate(r, s, args),
  ];
  if (s.options) kinds.push(() => malformOption(r, s, args), () => malformOption(r, s, args), () => malformOptionsObject(r, s, args));
  return r.pick(kinds)();
}

async function settle(s: Surface, m: Malformed): Promise<unknown> {
  let result: unknown;
  try {
    result = s.invoke(m.args);
  } catch (error) {
    if (s.async) throw new Error(`${s.fn} threw synchronously instead of rejecting (${m.what}): ${String(error)}`);
    return error;
  }
  if (s.async && !(result instanceof Promise)) throw new Error(`${s.fn} did not return a Promise (${m.what})`);
  try {
    await result;
  } catch (error) {
    return error;
  }
  return undefined;
}

function matches(error: unknown, m: Malformed): boolean {
  switch (m.expected) {
    case 'TypeError': return error instanceof TypeError;
    case 'RangeError': return error instanceof RangeError;
    default: return error instanceof AttentionError && error.code === m.expected;
  }
}

describe('fuzz: malformed calls of the public API', () => {
  it(`settle ${CALLS.toLocaleString('en')} malformed calls with the right error, and leave no memory behind (seed ${FUZZ_SEED})`, async () => {
    const r = new Rand(FUZZ_SEED);
    const baseline = memoryStats();
    const perFunction: Record<string, number> = {};
    let calls = 0;
    // The ops, with the most to validate, are drawn three times as often as the rest.
    const weighted = SURFACES.flatMap((s) => new Array<Surface>(s.async && s.fn !== 'Tensor.to' ? 3 : 1).fill(s));
    while (calls < CALLS) {
      const s = r.pick(weighted);
      const m = malform(r, s);
      if (!m) continue;
      calls++;
      const error = await settle(s, m);
      const context = `call ${calls} (${s.fn}: ${m.what}) settled with ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
      if (!matches(error, m)) expect.fail(`${context}; expected ${m.expected}`);
      const message = (error as Error).message;
      if (!message.startsWith(`${s.fn}: `) || !message.includes(m.mentions)) expect.fail(`${context}; the message must start with '${s.fn}: ' and mention '${m.mentions}'`);
      perFunction[s.fn] = (perFunction[s.fn] ?? 0) + 1;
      disposeMade();
    }
    expect(memoryStats()).toEqual(baseline);
    expect(Object.keys(perFunction).sort()).toEqual([...new Set(SURFACES.map((s) => s.fn))].sort());
    console.info(`malformed calls per function: ${JSON.stringify(perFunction)}`);
  });

  it('serves valid calls afterwards', async () => {
    const x = Tensor.from(new Float32Array(2 * 3 * 4).fill(1), [1, 2, 3, 4]);
    expect(Array.from(await (await denseAttention(x, x, x)).data())).toEqual(new Array(24).fill(1));
  });
});

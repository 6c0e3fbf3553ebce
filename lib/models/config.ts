// Reading a Hugging Face config.json: each value checked, with Hugging Face's defaults for keys
// the file leaves out, and an error naming the key and the value for anything unsupported.
import { describe } from '../validate.js';
import { CheckpointError } from './errors.js';

export type ConfigValues = Record<string, unknown>;

/** @internal Typed access to one configuration, with the defaults of its Hugging Face class. */
export class ConfigReader {
  constructor(
    private readonly config: ConfigValues,
    private readonly defaults: ConfigValues,
    private readonly owner: string,
  ) {
    if (typeof config !== 'object' || config === null || Array.isArray(config))
      throw new TypeError(`${owner}: config must be the parsed config.json (an object), got ${describe(config)}`);
  }

  raw(key: string): unknown {
    return Object.hasOwn(this.config, key) ? this.config[key] : this.defaults[key];
  }

  unsupported(key: string, value: unknown, expected: string): CheckpointError {
    return new CheckpointError('UNSUPPORTED_CONFIG', `${this.owner}: config.${key} = ${JSON.stringify(value) ?? String(value)} is not supported (${expected})`);
  }

  int(key: string, min = 0): number {
    const v = this.raw(key);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 2 ** 31 - 1)
      throw this.unsupported(key, v, `expected an integer >= ${min}`);
    return v;
  }

  number(key: string): number {
    const v = this.raw(key);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw this.unsupported(key, v, 'expected a finite number');
    return v;
  }

  boolean(key: string): boolean {
    const v = this.raw(key);
    if (typeof v !== 'boolean') throw this.unsupported(key, v, 'expected true or false');
    return v;
  }

  /** An integer or null. */
  optionalInt(key: string, min = 0): number | null {
    const v = this.raw(key);
    return v === null || v === undefined ? null : this.int(key, min);
  }

  /** A list of integers (a tuple in the Python config, a list in the JSON). */
  intList(key: string, length?: number, min = 0): number[] {
    const v = this.raw(key);
    if (!Array.isArray(v) || (length !== undefined && v.length !== length) || !v.every((x) => Number.isInteger(x) && x >= min))
      throw this.unsupported(key, v, `expected a list of ${length ?? 'some'} integers >= ${min}`);
    return v as number[];
  }

  /** One of `allowed`. */
  choice<T extends string>(key: string, allowed: readonly T[]): T {
    const v = this.raw(key);
    if (typeof v !== 'string' || !allowed.includes(v as T)) throw this.unsupported(key, v, `expected one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
    return v as T;
  }
}

/** The activations the dense blocks implement, by ACT2FN's names. */
export type ActivationName = 'gelu' | 'relu' | 'tanh';

/** @internal hidden_act: ACT2FN names with an implementation here ("gelu_python" is the same erf form). */
export function activationOf(c: ConfigReader, key = 'hidden_act'): ActivationName {
  const name = c.choice(key, ['gelu', 'gelu_python', 'relu', 'tanh']);
  return name === 'gelu_python' ? 'gelu' : name;
}

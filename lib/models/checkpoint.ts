// A checkpoint directory as Hugging Face's save_pretrained writes it: config.json and either
// model.safetensors or model.safetensors.index.json with the shards it names.
import { access, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Tensor } from '../tensor.js';
import { describe } from '../validate.js';
import { CheckpointError } from './errors.js';
import { archiveTensors, readSafetensorsFile } from './safetensors.js';

/** config.json parsed: Hugging Face's keys. */
export type ModelConfig = Record<string, unknown>;

export interface Checkpoint {
  dir: string;
  config: ModelConfig;
  /** Every tensor of the weight files, by parameter name, on the CPU. */
  weights: Map<string, Tensor>;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new CheckpointError('MISSING_FILE', `${path}: no such file (${what})`, { cause: error });
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CheckpointError('MALFORMED_FILE', `${path}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** config.json of `dir`, which must be a JSON object. */
export async function readConfig(dir: string): Promise<ModelConfig> {
  const path = join(dir, 'config.json');
  const config = await readJson(path, 'the model configuration');
  if (!isObject(config)) throw new CheckpointError('MALFORMED_FILE', `${path}: must hold a JSON object, got ${describe(config)}`);
  return config;
}

/** The shard of every weight named by model.safetensors.index.json. */
async function readIndex(path: string): Promise<Map<string, string>> {
  const index = await readJson(path, 'the shard index');
  if (!isObject(index) || !isObject(index.weight_map))
    throw new CheckpointError('MALFORMED_FILE', `${path}: must hold an object with a "weight_map" object`);
  const shards = new Map<string, string>();
  for (const [name, file] of Object.entries(index.weight_map)) {
    // Shards live next to the index: a path elsewhere would read files outside the checkpoint.
    if (typeof file !== 'string' || file === '' || basename(file) !== file || file === '..' || file === '.')
      throw new CheckpointError('MALFORMED_FILE', `${path}: weight_map["${name}"] must be a file name in the same directory, got ${describe(file)}`);
    shards.set(name, file);
  }
  return shards;
}

async function loadShards(dir: string, indexPath: string): Promise<Map<string, Tensor>> {
  const shardOf = await readIndex(indexPath);
  const weights = new Map<string, Tensor>();
  for (const file of new Set(shardOf.values())) {
    const path = join(dir, file);
    for (const [name, tensor] of archiveTensors(await readSafetensorsFile(path))) {
      if (weights.has(name)) throw new CheckpointError('MALFORMED_FILE', `${path}: tensor '${name}' is also in another shard`);
      weights.set(name, tensor);
    }
  }
  for (const [name, file] of shardOf)
    if (!weights.has(name))
      throw new CheckpointError('MALFORMED_FILE', `${indexPath}: weight_map puts '${name}' in ${file}, which does not hold it`);
  return weights;
}

/** The weights of a checkpoint directory: model.safetensors, or the shards of its index. */
export async function loadWeights(dir: string): Promise<Map<string, Tensor>> {
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  if (await exists(index)) return loadShards(dir, index);
  if (await exists(single)) return archiveTensors(await readSafetensorsFile(single));
  const pickle = (await exists(join(dir, 'pytorch_model.bin'))) ? ' (pytorch_model.bin is a pickle, which is not read: save the model with safe_serialization=True, or convert it with safetensors)' : '';
  throw new CheckpointError('MISSING_FILE', `${dir}: neither model.safetensors nor model.safetensors.index.json${pickle}`);
}

/** config.json and the weights of a checkpoint directory. */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError(`loadCheckpoint: dir must be a directory path, got ${describe(dir)}`);
  const config = await readConfig(dir);
  return { dir, config, weights: await loadWeights(dir) };
}

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, toBFloat16, type Device } from '../lib/index.js';
import {
  AxialPositionEmbeddings, loadSafetensors, ReformerLocalSelfAttention, ReformerLSHSelfAttention, ReformerModel,
  ReformerModelWithLMHead,
} from '../lib/models/index.js';
import { relativeError } from './helpers/compare.js';
import { forEachDevice, tensorOn, valuesOf } from './helpers/devices.js';
import { modelCasesOfKind, type ModelCase } from './helpers/model_fixtures.js';

const LSH_CASES = modelCasesOfKind('reformer_lsh_self_attention');
const LOCAL_CASES = modelCasesOfKind('reformer_local_self_attention');
const MODEL_CASES = modelCasesOfKind('reformer_model');
const LM_CASES = modelCasesOfKind('reformer_model_with_lm_head');

function report(what: string, error: number): void {
  console.info(`${what}: relative L2 error ${error.toExponential(2)}`);
}

async function input(device: Device, c: ModelCase, name: string): Promise<Tensor | undefined> {
  const t = c.io[name];
  return t && tensorOn(device, t.data, t.shape);
}

/** The recorded rotations of each LSH layer, in layer order. */
async function layerRotations(device: Device, c: ModelCase): Promise<Tensor[]> {
  const lshLayers = (c.config.attn_layers as string[]).flatMap((kind, i) => (kind === 'lsh' ? [i] : []));
  return Promise.all(lshLayers.map(async (i) => (await input(device, c, `rotations.layer${i}`))!));
}

describe('ReformerLSHSelfAttention', () => {
  forEachDevice((device) => {
    for (const c of LSH_CASES) {
      it(`matches Hugging Face within 1e-4 with the recorded rotations: ${c.name}`, async () => {
        const layer = await ReformerLSHSelfAttention.fromWeights(await loadSafetensors(join(c.dir, 'model.safetensors')), { config: c.config, device });
        const out = await layer.forward((await input(device, c, 'hidden_states'))!, {
          paddingMask: await input(device, c, 'attention_mask'), rotations: await input(device, c, 'rotations'),
        });
        expect(out.shape).toEqual(c.io.output!.shape);
        const error = relativeError(await valuesOf(out), c.io.output!.data);
        report(`${device} ${c.name}`, error);
        expect(error).toBeLessThan(1e-4);
        layer.dispose();
      });
    }

    it('draws its rotations from the seed when none are given: deterministic, and distinct per seed', async () => {
      const c = LSH_CASES[0]!;
      const layer = await ReformerLSHSelfAttention.fromWeights(await loadSafetensors(join(c.dir, 'model.safetensors')), { config: c.config, device });
      const hidden = (await input(device, c, 'hidden_states'))!;
      const a = await valuesOf(await layer.forward(hidden));
      const b = await valuesOf(await layer.forward(hidden));
      const other = await valuesOf(await layer.forward(hidden, { seed: 99 }));
      expect(Array.from(a)).toEqual(Array.from(b));
      expect(relativeError(other, a)).toBeGreaterThan(1e-3);
    });
  });

  it('names the missing weight', async () => {
    const c = LSH_CASES[0]!;
    const weights = new Map(await loadSafetensors(join(c.dir, 'model.safetensors')));
    weights.delete('query_key.weight');
    await expect(ReformerLSHSelfAttention.fromWeights(weights, { config: c.config, prefix: '' })).rejects.toMatchObject({ code: 'MISSING_WEIGHT', message: "the weights have no 'query_key.weight' (expected shape [32,32])" });
  });
});

describe('ReformerLocalSelfAttention', () => {
  forEachDevice((device) => {
    for (const c of LOCAL_CASES) {
      it(`matches Hugging Face within 1e-4: ${c.name}`, async () => {
        const layer = await ReformerLocalSelfAttention.fromWeights(await loadSafetensors(join(c.dir, 'model.safetensors')), { config: c.config, device });
        const out = await layer.forward((await input(device, c, 'hidden_states'))!, { paddingMask: await input(device, c, 'attention_mask') });
        const error = relativeError(await valuesOf(out), c.io.output!.data);
        report(`${device} ${c.name}`, error);
        expect(error).toBeLessThan(1e-4);
        layer.dispose();
      });
    }
  });
});

describe('AxialPositionEmbeddings', () => {
  forEachDevice((device) => {
    it('gives concat(w0[p div l1], w1[p mod l1]) from the weights of a model checkpoint', async () => {
      const c = MODEL_CASES[0]!;
      const weights = await loadSafetensors(join(c.dir, 'model.safetensors'));
      const axial = await AxialPositionEmbeddings.fromWeights(weights, { config: c.config, prefix: 'embeddings.position_embeddings.', device });
      const [l0, l1] = c.config.axial_pos_shape as [number, number];
      const [d0, d1] = c.config.axial_pos_embds_dim as [number, number];
      const ids = Int32Array.from([0, 1, l1, l0 * l1 - 1, 5]);
      const out = await valuesOf(await axial.forward({ positionIds: await tensorOn(device, ids, [1, 5]) }));
      const w0 = (await weights.get('embeddings.position_embeddings.weights.0')!.data()) as Float32Array;
      const w1 = (await weights.get('embeddings.position_embeddings.weights.1')!.data()) as Float32Array;
      ids.forEach((p, j) => {
        const row = Array.from(out.subarray(j * (d0 + d1), (j + 1) * (d0 + d1)));
        const r0 = Math.floor(p / l1), r1 = p % l1;
        expect(row).toEqual([...w0.subarray(r0 * d0, (r0 + 1) * d0), ...w1.subarray(r1 * d1, (r1 + 1) * d1)]);
      });
    });
  });

  it('rejects dimensions that do not add up to hidden_size', async () => {
    const c = MODEL_CASES[0]!;
    const weights = await loadSafetensors(join(c.dir, 'model.safetensors'));
    await expect(AxialPositionEmbeddings.fromWeights(weights, { config: { ...c.config, axial_pos_embds_dim: [16, 8] }, prefix: 'embeddings.position_embeddings.' }))
      .rejects.toMatchObject({ code: 'UNSUPPORTED_CONFIG', message: expect.stringContaining('config.axial_pos_embds_dim = [16,8] is not supported (the dimensions must add up to hidden_size (32))') });
  });
});

describe('ReformerModel', () => {
  forEachDevice((device) => {
    for (const c of MODEL_CASES) {
      it(`matches Hugging Face within 1e-4: ${c.name}`, async () => {
        const model = await ReformerModel.fromPretrained(c.dir, { device });
        const { lastHiddenState } = await model.forward({
          inputIds: (await input(device, c, 'input_ids'))!, attentionMask: await input(device, c, 'attention_mask'),
          rotations: await layerRotations(device, c),
        });
        expect(lastHiddenState.shape).toEqual(c.io.last_hidden_state!.shape);
        const error = relativeError(await valuesOf(lastHiddenState), c.io.last_hidden_state!.data);
        report(`${device} ${c.name}`, error);
        expect(error).toBeLessThan(1e-4);
        model.dispose();
      });
    }

    it('pads a length that is not a multiple of the chunks as Hugging Face does, and crops the output', async () => {
      const c = MODEL_CASES[0]!;
      const model = await ReformerModel.fromPretrained(c.dir, { device });
      const ids = (c.io.input_ids!.data as Int32Array).subarray(0, 50);
      const { lastHiddenState } = await model.forward({ inputIds: await tensorOn(device, ids, [1, 50]), rotations: await layerRotations(device, c) });
      expect(lastHiddenState.shape).toEqual([1, 50, 2 * c.config.hidden_size]);
      model.dispose();
    });

    it('runs in bfloat16 within 3e-2', async () => {
      const c = MODEL_CASES[0]!;
      const model = await ReformerModel.fromPretrained(c.dir, { device, dtype: 'bfloat16' });
      const rotations = await Promise.all((await layerRotations('cpu', c)).map(async (r) => {
        const t = Tensor.from(toBFloat16((await r.data()) as Float32Array), r.shape, { dtype: 'bfloat16' });
        return device === 'cpu' ? t : t.to(device);
      }));
      const { lastHiddenState } = await model.forward({ inputIds: (await input(device, c, 'input_ids'))!, rotations });
      expect(lastHiddenState.dtype).toBe('bfloat16');
      const error = relativeError(await valuesOf(lastHiddenState), c.io.last_hidden_state!.data);
      report(`${device} bfloat16 ${c.name}`, error);
      expect(error).toBeLessThan(3e-2);
      model.dispose();
    });
  });

  it('checks the rotations and the configuration', async () => {
    const c = MODEL_CASES[0]!;
    const model = await ReformerModel.fromPretrained(c.dir);
    await expect(model.forward({ inputIds: Tensor.from(c.io.input_ids!.data as Int32Array, c.io.input_ids!.shape), rotations: [] }))
      .rejects.toThrow('ReformerModel.forward: rotations must be an array of 1 tensors, one per LSH layer');
    await expect(model.forward({ inputIds: Tensor.from(new Int32Array(80), [1, 80]) })).rejects.toThrow('ReformerModel.forward: the sequence length 80 exceeds config.max_position_embeddings (64)');
    model.dispose();
    const weights = await loadSafetensors(join(c.dir, 'model.safetensors'));
    await expect(ReformerModel.fromWeights(weights, { config: { ...c.config, attn_layers: ['local', 'global'] } }))
      .rejects.toThrow('ReformerModel.fromWeights: config.attn_layers[1] = "global" is not supported (expected "lsh" or "local")');
    await expect(ReformerModel.fromWeights(weights, { config: { ...c.config, hidden_act: 'gelu_fast' } })).rejects.toMatchObject({ code: 'UNSUPPORTED_CONFIG' });
    await expect(ReformerModel.fromWeights(weights, { config: { ...c.config, feed_forward_size: 65 } }))
      .rejects.toMatchObject({ code: 'WEIGHT_SHAPE', message: "'encoder.layers.0.feed_forward.dense.dense.weight' has shape [64,32], expected [65,32] from the configuration" });
  });
});

describe('ReformerModelWithLMHead', () => {
  forEachDevice((device) => {
    for (const c of LM_CASES) {
      it(`matches Hugging Face's logits within 1e-4: ${c.name}`, async () => {
        const model = await ReformerModelWithLMHead.fromPretrained(c.dir, { device });
        const { logits, lastHiddenState } = await model.forward({ inputIds: (await input(device, c, 'input_ids'))!, rotations: await layerRotations(device, c) });
        expect(logits.shape).toEqual(c.io.logits!.shape);
        const error = relativeError(await valuesOf(logits), c.io.logits!.data);
        const hiddenError = relativeError(await valuesOf(lastHiddenState), c.io.last_hidden_state!.data);
        report(`${device} ${c.name} logits`, error);
        report(`${device} ${c.name} last_hidden_state`, hiddenError);
        expect(error).toBeLessThan(1e-4);
        expect(hiddenError).toBeLessThan(1e-4);
        model.dispose();
      });
    }
  });

  it('requires a decoder configuration, as Hugging Face does', async () => {
    const c = LM_CASES[0]!;
    const weights = await loadSafetensors(join(c.dir, 'model.safetensors'));
    await expect(ReformerModelWithLMHead.fromWeights(weights, { config: { ...c.config, is_decoder: false } })).rejects.toThrow('config.is_decoder = false is not supported');
    await expect(ReformerModelWithLMHead.fromWeights(weights, { config: { ...c.config, local_num_chunks_after: 1 } })).rejects.toThrow('config.local_num_chunks_after = 1 is not supported');
  });
});

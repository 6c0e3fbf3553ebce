import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, toFloat16, type Device } from '../lib/index.js';
import { CheckpointError, loadSafetensors, LongformerModel, LongformerSelfAttention } from '../lib/models/index.js';
import { relativeError } from './helpers/compare.js';
import { forEachDevice, tensorOn, valuesOf } from './helpers/devices.js';
import { modelCasesOfKind, type ModelCase } from './helpers/model_fixtures.js';

const LAYER_CASES = modelCasesOfKind('longformer_self_attention');
const MODEL_CASES = modelCasesOfKind('longformer_model');

/** Errors measured against the fixtures, printed once per run. */
function report(what: string, error: number): void {
  console.info(`${what}: relative L2 error ${error.toExponential(2)}`);
}

async function input(device: Device, c: ModelCase, name: string): Promise<Tensor | undefined> {
  const t = c.io[name];
  return t && tensorOn(device, t.data, t.shape);
}

describe('LongformerSelfAttention', () => {
  forEachDevice((device) => {
    for (const c of LAYER_CASES) {
      it(`matches Hugging Face within 1e-4: ${c.name}`, async () => {
        const weights = await loadSafetensors(join(c.dir, 'model.safetensors'));
        const layer = await LongformerSelfAttention.fromWeights(weights, { config: c.config, device });
        const out = await layer.forward((await input(device, c, 'hidden_states'))!, { attentionMask: await input(device, c, 'attention_mask') });
        expect(out.shape).toEqual(c.io.output!.shape);
        const error = relativeError(await valuesOf(out), c.io.output!.data);
        report(`${device} ${c.name}`, error);
        expect(error).toBeLessThan(1e-4);
        layer.dispose();
      });
    }

    it('runs in float16 within 1e-2', async () => {
      const c = LAYER_CASES[0]!;
      const weights = await loadSafetensors(join(c.dir, 'model.safetensors'));
      const layer = await LongformerSelfAttention.fromWeights(weights, { config: c.config, device, dtype: 'float16' });
      const hidden = Tensor.from(toFloat16(c.io.hidden_states!.data as Float32Array), c.io.hidden_states!.shape, { dtype: 'float16' });
      const out = await layer.forward(device === 'cpu' ? hidden : await hidden.to(device), { attentionMask: await input(device, c, 'attention_mask') });
      expect(out.dtype).toBe('float16');
      const error = relativeError(await valuesOf(out), c.io.output!.data);
      report(`${device} float16 ${c.name}`, error);
      expect(error).toBeLessThan(1e-2);
    });
  });

  it('names a missing or misshaped weight', async () => {
    const c = LAYER_CASES[0]!;
    const weights = await loadSafetensors(join(c.dir, 'model.safetensors'));
    const missing = new Map(weights);
    missing.delete('key_global.bias');
    await expect(LongformerSelfAttention.fromWeights(missing, { config: c.config })).rejects.toMatchObject({ code: 'MISSING_WEIGHT', message: "the weights have no 'key_global.bias' (expected shape [32])" });
    const misshaped = new Map(weights);
    misshaped.set('value.weight', Tensor.from(new Float32Array(32 * 16), [16, 32]));
    await expect(LongformerSelfAttention.fromWeights(misshaped, { config: c.config })).rejects.toMatchObject({ code: 'WEIGHT_SHAPE', message: "'value.weight' has shape [16,32], expected [32,32] from the configuration" });
    await expect(LongformerSelfAttention.fromWeights(weights, { config: c.config, prefix: 'encoder.layer.0.attention.self.' })).rejects.toThrow("the weights have no 'encoder.layer.0.attention.self.query.weight'");
  });

  it('names an unsupported configuration value', async () => {
    const c = LAYER_CASES[0]!;
    const weights = await loadSafetensors(join(c.dir, 'model.safetensors'));
    await expect(LongformerSelfAttention.fromWeights(weights, { config: { ...c.config, attention_window: [7] } })).rejects.toMatchObject({ code: 'UNSUPPORTED_CONFIG', message: expect.stringContaining('config.attention_window = [7] is not supported (every window must be an even number >= 2)') });
    await expect(LongformerSelfAttention.fromWeights(weights, { config: { ...c.config, num_attention_heads: 3 } })).rejects.toThrow('config.hidden_size = 32 is not supported (must be a multiple of num_attention_heads (3))');
    await expect(LongformerSelfAttention.fromWeights(weights, { config: { ...c.config, hidden_size: 64 } })).rejects.toBeInstanceOf(CheckpointError);
  });
});

describe('LongformerModel', () => {
  forEachDevice((device) => {
    for (const c of MODEL_CASES) {
      it(`matches Hugging Face within 1e-4: ${c.name}`, async () => {
        const model = await LongformerModel.fromPretrained(c.dir, { device });
        const { lastHiddenState, poolerOutput } = await model.forward({
          inputIds: (await input(device, c, 'input_ids'))!,
          attentionMask: await input(device, c, 'attention_mask'),
          globalAttentionMask: await input(device, c, 'global_attention_mask'),
        });
        expect(lastHiddenState.shape).toEqual(c.io.last_hidden_state!.shape);
        expect(lastHiddenState.device).toBe(device === 'cpu' ? 'cpu' : 'cuda:0');
        const error = relativeError(await valuesOf(lastHiddenState), c.io.last_hidden_state!.data);
        const poolerError = relativeError(await valuesOf(poolerOutput!), c.io.pooler_output!.data);
        report(`${device} ${c.name} last_hidden_state`, error);
        report(`${device} ${c.name} pooler_output`, poolerError);
        expect(error).toBeLessThan(1e-4);
        expect(poolerError).toBeLessThan(1e-4);
        model.dispose();
      });
    }
  });

  it('rejects an unsupported activation, naming it', async () => {
    const c = MODEL_CASES[0]!;
    const weights = await loadSafetensors(join(c.dir, 'model.safetensors'));
    await expect(LongformerModel.fromWeights(weights, { config: { ...c.config, hidden_act: 'gelu_new' } })).rejects.toThrow('LongformerModel.fromWeights: config.hidden_act = "gelu_new" is not supported (expected one of "gelu", "gelu_python", "relu", "tanh")');
  });
});

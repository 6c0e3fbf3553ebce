// Command-line flags of the demo.

export const USAGE = `usage: npm run demo -- [--length L] [--model-length L] [--checkpoint DIR] [--device cpu|cuda|cuda:N]
                       [--dtype float32|float16|bfloat16]
  --length        tokens in the sequence of the attention ops (default 16384)
  --model-length  tokens the Longformer model reads (default 4096)
  --checkpoint    a Longformer checkpoint directory (config.json + model.safetensors, as
                  save_pretrained writes it) instead of random longformer-base weights
  --device        where to run (default: the first CUDA device if there is one, else the CPU)
  --dtype         element type of the inputs and weights (default float32; accumulation is float32)`;

const DTYPES = ['float32', 'float16', 'bfloat16'];

/** { length, device?, dtype } from argv; throws with the usage on a bad flag. */
export function parseOptions(argv) {
  const options = { length: 16384, modelLength: 4096, checkpoint: undefined, device: undefined, dtype: 'float32' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--help' || flag === '-h') return { help: true };
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    if (flag === '--length') {
      options.length = Number(value);
      if (!Number.isInteger(options.length) || options.length < 1) throw new Error(`--length must be a positive integer, got ${value}`);
    } else if (flag === '--model-length') {
      options.modelLength = Number(value);
      if (!Number.isInteger(options.modelLength) || options.modelLength < 1) throw new Error(`--model-length must be a positive integer, got ${value}`);
    } else if (flag === '--checkpoint') {
      options.checkpoint = value;
    } else if (flag === '--device') {
      if (!/^(cpu|cuda|cuda:\d+)$/.test(value)) throw new Error(`--device must be cpu, cuda or cuda:N, got ${value}`);
      options.device = value;
    } else if (flag === '--dtype') {
      if (!DTYPES.includes(value)) throw new Error(`--dtype must be one of ${DTYPES.join(', ')}, got ${value}`);
      options.dtype = value;
    } else {
      throw new Error(`unknown flag ${flag}\n${USAGE}`);
    }
  }
  return options;
}

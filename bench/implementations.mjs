// The implementations a benchmark compares, each a command that runs one JOB.json in a
// fresh process and prints one JSON line (the protocol of bench/peers/*).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const PYTHON = '/usr/bin/python3';
// OpenBLAS reads these when it loads; set on this machine, they select slower kernels.
const TORCH_ENV_FIX = ['env', '-u', 'OPENBLAS_CORETYPE', '-u', 'OPENBLAS_L2_SIZE'];

/**
 * id: the name in tables and plots; peer: false for this package; ops: what it can run;
 * job: fields added to every job for it; peakIncludesInputs: its peakBytes counts the
 * input tensors (tfjs reports tf.profile's live-tensor peak), which the harness subtracts;
 * accepts: which configurations of its ops it can run (default all); denseScores: the ops on
 * which it computes and holds every query's scores against all keys whatever the window
 * (for budget predictions).
 */
export const IMPLEMENTATIONS = [
  { id: 'ours-cpu', peer: false, device: 'cpu', ops: ['dense', 'local', 'lsh', 'axial', 'linear', 'model'],
    command: ['node', '--expose-gc', 'bench/ours.mjs'], job: { device: 'cpu' } },
  { id: 'ours-cuda', peer: false, device: 'cuda', ops: ['dense', 'local', 'lsh', 'axial', 'linear', 'model'],
    command: ['node', '--expose-gc', 'bench/ours.mjs'], job: { device: 'cuda' } },
  { id: 'torch-cpu', peer: true, device: 'cpu', ops: ['dense', 'local', 'lsh', 'linear', 'model'],
    command: [...TORCH_ENV_FIX, PYTHON, 'bench/peers/torch_peer.py'], job: {},
    accepts: (cfg) => cfg.op !== 'local' || cfg.config.window[0] === cfg.config.window[1] },
  { id: 'tfjs-wasm', peer: true, device: 'cpu', ops: ['dense', 'local', 'lsh'],
    command: ['node', 'bench/peers/tfjs_peer.mjs'], job: { backend: 'wasm' }, peakIncludesInputs: true },
  { id: 'tfjs-cpu', peer: true, device: 'cpu', ops: ['dense', 'local', 'lsh'],
    command: ['node', 'bench/peers/tfjs_peer.mjs'], job: { backend: 'cpu' }, peakIncludesInputs: true },
  { id: 'onnxruntime-cpu', peer: true, device: 'cpu', ops: ['dense', 'local'],
    command: ['node', '--expose-gc', 'bench/peers/onnx_peer.mjs'], job: {}, accepts: isCausalLocalOrDense,
    // GroupQueryAttention on the CPU holds B·H·L² probabilities whatever its window (peak
    // measured at 4k, H 12: 872 MiB, 768 MiB of it those); MultiHeadAttention streams them.
    denseScores: ['local'] },
  { id: 'plain-js', peer: true, device: 'cpu', ops: ['axial'],
    command: ['node', '--expose-gc', 'bench/axial_js.mjs'], job: {} },
];

/** onnxruntime's attention operators: dense, and local attention that is causal without global tokens. */
function isCausalLocalOrDense(cfg) {
  return cfg.op === 'dense' || (cfg.config.window[1] === 0 && !cfg.nGlobal);
}

let torchFound;

/** Whether Debian's python with torch is there (bench/peers/install-torch.sh installs it). */
export function torchAvailable() {
  torchFound ??= existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 }).status === 0;
  return torchFound;
}

/** The PyTorch peer, which also measures the machine's sgemm rate. */
export const TORCH = IMPLEMENTATIONS.find((i) => i.id === 'torch-cpu');

/** Whether every one of `packages` resolves from the repository. */
function resolves(...packages) {
  try {
    for (const name of packages) import.meta.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** Whether the tfjs packages resolve from the repository (they are devDependencies). */
export function tfjsAvailable() {
  return resolves('@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm');
}

/** Whether onnxruntime-node and onnx-proto resolve from the repository (they are devDependencies). */
export function onnxAvailable() {
  return resolves('onnxruntime-node', 'onnx-proto');
}

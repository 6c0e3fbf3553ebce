// The implementations a benchmark compares, each a command that runs one JOB.json in a
// fresh process and prints one JSON line (the protocol of bench/peers/*).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const PYTHON = '/usr/bin/python3';
// The peer sets OpenBLAS' environment itself, from the job's openblasCore (see bench/openblas_cores.mjs).
const TORCH_PEER = [PYTHON, 'bench/peers/torch_peer.py'];

/**
 * id: the name in tables and plots; peer: false for this package; ops: what it can run;
 * job: fields added to every job for it; peakIncludesInputs: its peakBytes counts the
 * input tensors (tfjs reports tf.profile's live-tensor peak), which the harness subtracts;
 * torch: runs on PyTorch (with the run's OpenBLAS core and sgemm thread count).
 */
export const IMPLEMENTATIONS = [
  { id: 'ours-cpu', peer: false, device: 'cpu', ops: ['dense', 'local', 'lsh', 'axial', 'linear', 'model'],
    command: ['node', '--expose-gc', 'bench/ours.mjs'], job: { device: 'cpu' } },
  { id: 'ours-cuda', peer: false, device: 'cuda', ops: ['dense', 'local', 'lsh', 'axial', 'linear', 'model'],
    command: ['node', '--expose-gc', 'bench/ours.mjs'], job: { device: 'cuda' } },
  { id: 'torch-cpu', peer: true, torch: true, device: 'cpu', ops: ['dense', 'local', 'lsh', 'linear', 'model'],
    command: TORCH_PEER, job: {} },
  { id: 'torch-cpu-blocked', peer: true, torch: true, device: 'cpu', ops: ['local', 'lsh'],
    command: TORCH_PEER, job: { algorithm: 'blocked' } },
  { id: 'tfjs-wasm', peer: true, device: 'cpu', ops: ['dense', 'local', 'lsh'],
    command: ['node', 'bench/peers/tfjs_peer.mjs'], job: { backend: 'wasm' }, peakIncludesInputs: true },
  { id: 'tfjs-cpu', peer: true, device: 'cpu', ops: ['dense', 'local', 'lsh'],
    command: ['node', 'bench/peers/tfjs_peer.mjs'], job: { backend: 'cpu' }, peakIncludesInputs: true },
  { id: 'plain-js', peer: true, device: 'cpu', ops: ['axial'],
    command: ['node', '--expose-gc', 'bench/axial_js.mjs'], job: {} },
];

let torchFound;

/** Whether Debian's python with torch is there (bench/peers/install-torch.sh installs it). */
export function torchAvailable() {
  torchFound ??= existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 }).status === 0;
  return torchFound;
}

/** The PyTorch peer, which also measures the machine's sgemm rate. */
export const TORCH = IMPLEMENTATIONS.find((i) => i.id === 'torch-cpu');

/** Whether the tfjs packages resolve from the repository (they are devDependencies). */
export function tfjsAvailable() {
  try {
    import.meta.resolve('@tensorflow/tfjs');
    import.meta.resolve('@tensorflow/tfjs-backend-wasm');
    return true;
  } catch {
    return false;
  }
}

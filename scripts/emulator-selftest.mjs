// The emulated CUDA device's own checks (scripts/test-cuda-emu.sh): test/cuda/emulator_selftest.cu
// built in build-emu/ runs the checks that must pass, then each kernel that must make the
// emulator stop, and its report must name the fault and the kernel.
//
// usage: node scripts/emulator-selftest.mjs <emulator_selftest binary>
import { spawnSync } from 'node:child_process';

const binary = process.argv[2];
const env = { ...process.env, ASAN_OPTIONS: 'detect_leaks=0', SPARSE_ATTENTION_EMU_CHECK_SCHEDULES: '1' };
delete env.LD_PRELOAD;

let passed = 0, failed = 0;
const run = (args) => spawnSync(binary, args, { env, encoding: 'utf8' });

const main = run([]);
process.stdout.write(main.stdout);
const summary = /(\d+) passed, (\d+) failed/.exec(main.stdout);
if (main.status === 0 && summary && summary[2] === '0') passed += Number(summary[1]);
else failed += 1 + Number(summary?.[2] ?? 0);

const faults = [
  ['early-exit-barrier', /earlyExitBarrierKernel.*deadlock: of 64 threads, 63 wait at __syncthreads.*1 have returned/],
  ['divergent-shuffle', /divergentShuffleKernel.*32 wait at a warp operation.*waits at __shfl_xor_sync/],
  ['shared-overflow', /heap-buffer-overflow[\s\S]*in sharedOverflowKernel/],
  ['global-overflow', /heap-buffer-overflow[\s\S]*in globalOverflowKernel/],
  ['racy-schedule', /racyNeighbourKernel wrote different results under two schedules/],
];
for (const [fault, expected] of faults) {
  const r = run([fault]);
  const ok = r.status !== 0 && expected.test(r.stderr);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${fault} stops the emulator${ok ? '' : `: status ${r.status}\n${r.stdout}${r.stderr}`}`);
  ok ? passed++ : failed++;
}
console.log(`emulator self-test: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

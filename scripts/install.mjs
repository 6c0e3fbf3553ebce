// npm's install step. The package ships a prebuilt binary for linux-x64 (glibc) in
// prebuilds/<platform>-<arch>/; when it loads here, there is nothing to build. Otherwise (another
// platform, an older glibc, musl...) the addon is built from source with cmake-js, after one
// line saying why. SPARSE_ATTENTION_BUILD_FROM_SOURCE=1 always builds from source.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

// Loads the prebuilt binary in a child process (a binary that does not fit this machine must
// not take the install down with it) and asks it what it has. Returns why it cannot be used,
// or undefined when it can.
function prebuiltProblem() {
  if (process.env.SPARSE_ATTENTION_BUILD_FROM_SOURCE === '1') return 'SPARSE_ATTENTION_BUILD_FROM_SOURCE=1';
  const probe = `
    const path = require('node-gyp-build').resolve(process.argv[1]);
    const info = require(path).backendInfo();
    console.log(JSON.stringify({ path, info }));`;
  // PREBUILDS_ONLY: node-gyp-build looks at prebuilds/ only, not at an earlier build/. The
  // binary is judged with its own choice of CPU kernels, whatever SPARSE_ATTENTION_CPU says.
  const env = { ...process.env, PREBUILDS_ONLY: '1' };
  delete env.SPARSE_ATTENTION_CPU;
  const r = spawnSync(process.execPath, ['-e', probe, root], { cwd: root, encoding: 'utf8', env });
  if (r.status === 0) {
    const { path, info } = JSON.parse(r.stdout);
    console.log(`sparse-attention: using the prebuilt binary ${path.slice(root.length + 1)} ` +
      `(CUDA ${info.compiledWithCuda ? info.cudaRuntimeVersion : 'not compiled in'}, CPU kernels ${info.cpuKernels})`);
    return undefined;
  }
  if (r.signal) return `the prebuilt binary crashed the process that loaded it (${r.signal})`;
  const error = (r.stderr || r.error?.message || `exit status ${r.status}`).split('\n');
  const message = error.find((l) => /Error: /.test(l)) ?? error.find((l) => l.trim()) ?? '';
  return message.replace(/^.*?Error: /, '').trim();
}

const problem = prebuiltProblem();
if (problem === undefined) process.exit(0);

console.log(`sparse-attention: building from source (${problem})`);
const steps = [
  [require.resolve('cmake-js/bin/cmake-js'), 'compile', '--log-level', 'error'],
  [join(root, 'scripts/build-ts.mjs')],
];
for (const args of steps) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// Loads the native addon the way node-gyp-build does: build/Release/ when the addon was built
// from source (the install's fallback, or a checkout), else the prebuilt binary of this platform
// in prebuilds/<platform>-<arch>/. SPARSE_ATTENTION_ADDON names a .node file to load instead
// (the sanitizer builds of `npm run test:asan` and the benchmarks load this way).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Binding } from '../binding.js';

const requireHere = createRequire(import.meta.url);

// dist/{esm,cjs}/native.js when installed; lib/native.ts when the tests run the sources.
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const root of [join(here, '..'), join(here, '../..')]) {
    const manifest = join(root, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'sparse-attention') return root;
  }
  throw new Error(`sparse-attention: no package.json of sparse-attention above ${here}`);
}

function addonPath(): string {
  const override = process.env.SPARSE_ATTENTION_ADDON;
  if (override) return resolve(override);
  const nodeGypBuild = requireHere('node-gyp-build') as { resolve(dir: string): string };
  try {
    return nodeGypBuild.resolve(packageRoot());
  } catch (error) {
    throw new Error(
      `sparse-attention: no native addon for ${process.platform}-${process.arch}: the package has no prebuilt ` +
        'binary for it and none was built from source. Build it with `npm rebuild sparse-attention` ' +
        '(needs CMake >= 3.18 and a C++17 compiler; see the README\'s requirements).\n' +
        (error as Error).message.split('\n')[0],
    );
  }
}

/** @internal The .node file this process loaded. */
export const nativePath: string = addonPath();

function load(path: string): Binding {
  try {
    return requireHere(path) as Binding;
  } catch (error) {
    const message = (error as Error).message;
    // The addon's own refusals (an unusable SPARSE_ATTENTION_CPU) already say what to do.
    if (message.startsWith('sparse-attention:')) throw error;
    throw new Error(
      `sparse-attention: the native addon ${path} failed to load: ${message.split('\n')[0]}\n` +
        'Build it for this machine with `SPARSE_ATTENTION_BUILD_FROM_SOURCE=1 npm rebuild sparse-attention` ' +
        '(needs CMake >= 3.18 and a C++17 compiler).',
    );
  }
}

/** @internal */
export const native: Binding = load(nativePath);

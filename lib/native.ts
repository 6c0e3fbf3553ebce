// Loads the addon built by cmake-js at install time.
import { createRequire } from 'node:module';
import type { Binding } from '../binding.js';

function load(): Binding {
  const requireAddon = createRequire(import.meta.url);
  // dist/{esm,cjs}/native.js when installed; lib/native.ts when the tests run the sources.
  const candidates = ['../../build/Release/sparse_attention.node', '../build/Release/sparse_attention.node'];
  const failures: string[] = [];
  for (const path of candidates) {
    try {
      return requireAddon(path) as Binding;
    } catch (error) {
      failures.push(`${path}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(
    'sparse-attention: the native addon is not built or failed to load. ' +
      'Rebuild it with `npm rebuild sparse-attention` (needs cmake >= 3.18 and a C++17 compiler).\n' +
      failures.join('\n'),
  );
}

/** @internal */
export const native: Binding = load();

// Loads the addon built by cmake-js at install time, or the one SPARSE_ATTENTION_ADDON names
// (the path of a .node file: the sanitizer builds of `npm run test:asan` load this way).
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { Binding } from '../binding.js';

function candidates(): string[] {
  const override = process.env.SPARSE_ATTENTION_ADDON;
  if (override) return [resolve(override)];
  // dist/{esm,cjs}/native.js when installed; lib/native.ts when the tests run the sources.
  return ['../../build/Release/sparse_attention.node', '../build/Release/sparse_attention.node'];
}

function load(): Binding {
  const requireAddon = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const path of candidates()) {
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

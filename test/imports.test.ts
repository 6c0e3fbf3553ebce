// lib/ is a tree of modules without import cycles: a cycle makes the order in which modules
// initialise depend on which one a user imports first (a class may be undefined when another
// module's top level runs). Type-only imports are erased and do not count.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const lib = fileURLToPath(new URL('../lib', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

/** The lib/ modules `file` imports (or re-exports) at run time. */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'(\.[^']+)'/gms)) {
    if (m[1]) continue;
    const target = resolve(dirname(file), m[2].replace(/\.js$/, '.ts'));
    if (target.startsWith(lib)) found.push(target);
  }
  return found;
}

function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('lib/ imports', () => {
  const graph = new Map(sources(lib).map((f) => [f, runtimeImports(f)]));

  it('are read from every module (the scan sees the imports)', () => {
    expect(graph.get(join(lib, 'tensor.ts'))).toContain(join(lib, 'arguments.ts'));
    expect(graph.get(join(lib, 'validate.ts'))).toContain(join(lib, 'tensor.ts'));
  });

  it('form no cycle', () => {
    const cycle = findCycle(graph);
    expect(cycle?.map((f) => relative(lib, f)).join(' -> ')).toBeUndefined();
  });

  it('the cycle check finds a cycle when there is one', () => {
    expect(findCycle(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]]))).toEqual(['a', 'b', 'c', 'a']);
    expect(findCycle(new Map([['a', ['b']], ['b', []], ['c', ['a', 'b']]]))).toBeUndefined();
  });
});

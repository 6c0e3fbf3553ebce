// Compiles lib/ to dist/esm (ES modules) and derives dist/cjs (CommonJS) from it.
// An installed tarball ships dist/ built (and no lib/ sources): nothing to do there.
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
if (!existsSync(join(root, 'tsconfig.json'))) process.exit(0);
let ts;
try {
  ts = require('typescript');
} catch {
  if (existsSync(join(root, 'dist/esm/index.js'))) process.exit(0);
  console.error('sparse-attention: TypeScript is needed to build lib/ (npm install typescript)');
  process.exit(1);
}

execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], {
  stdio: 'inherit',
});

// CommonJS: transpile each emitted ES module; import.meta.url becomes the file's own URL.
function toCommonJs(esmDir, cjsDir) {
  mkdirSync(cjsDir, { recursive: true });
  for (const entry of readdirSync(esmDir, { withFileTypes: true })) {
    const from = join(esmDir, entry.name), to = join(cjsDir, entry.name);
    if (entry.isDirectory()) toCommonJs(from, to);
    else if (entry.name.endsWith('.d.ts')) copyFileSync(from, to);
    else if (entry.name.endsWith('.js')) {
      const source = readFileSync(from, 'utf8').replaceAll(
        'import.meta.url',
        "require('node:url').pathToFileURL(__filename).href",
      );
      const out = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      });
      writeFileSync(to, out.outputText);
    }
  }
}
toCommonJs(join(root, 'dist/esm'), join(root, 'dist/cjs'));
writeFileSync(join(root, 'dist/cjs/package.json'), '{ "type": "commonjs" }\n');
// dist/{esm,cjs}/native.d.ts refer to the binding's types one folder up.
copyFileSync(join(root, 'binding.d.ts'), join(root, 'dist/binding.d.ts'));

// Reads the logs of a sanitizer run (scripts/test-asan.sh) and fails on what concerns this
// package: any AddressSanitizer or UndefinedBehaviorSanitizer error, and any leak whose
// allocation stack passes through the addon (its own code or the node-addon-api code compiled
// into it). Leaks with no such frame belong to V8 and Node, which keep memory until exit by
// design: they are counted and ignored.
//
// usage: node scripts/sanitizer-report.mjs <log folder>
// The folder holds ASan's asan.<pid> files, UBSan's ubsan.<pid> files and the test output
// (UBSan may print there when it stops a process).
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const folder = process.argv[2];
if (!folder) {
  console.error('usage: node scripts/sanitizer-report.mjs <log folder>');
  process.exit(2);
}
const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
// Frames of the addon or its sources; other native modules under node_modules (vitest's own
// bindings) are not ours even though they live below the repository root.
const ours = (frame) =>
  frame.includes('sparse_attention.node') || / sa::/.test(frame) || (frame.includes(root) && !frame.includes('/node_modules/'));

const errors = [], ourLeaks = [];
let otherLeaks = 0, otherLeakBytes = 0, processes = 0;

for (const file of readdirSync(folder).sort()) {
  const text = readFileSync(join(folder, file), 'utf8');
  processes++;
  if (file.startsWith('ubsan')) {
    if (text.includes('runtime error')) errors.push(`${file}:\n${text}`);
    continue;
  }
  for (const report of text.split(/\n(?===\d+==ERROR: )/)) {
    if (/==\d+==ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer)/.test(report) || report.includes('runtime error:')) {
      errors.push(`${file}:\n${report}`);
      continue;
    }
    if (!report.includes('LeakSanitizer: detected memory leaks')) continue;
    for (const block of report.split(/\n(?=(?:Direct|Indirect) leak of)/).slice(1)) {
      const frames = block.split('\n').filter((line) => /^\s+#\d+ /.test(line));
      if (frames.some(ours)) ourLeaks.push(`${file}:\n${block.split('\n\n')[0].trim()}`);
      else {
        otherLeaks++;
        otherLeakBytes += Number(/leak of (\d+) byte/.exec(block)?.[1] ?? 0);
      }
    }
  }
}

for (const e of errors) console.error(`\n${e}`);
for (const l of ourLeaks) console.error(`\nleak in sparse-attention, ${l}`);
console.log(`sanitizer report: ${processes} log files, ${errors.length} ASan/UBSan errors, ${ourLeaks.length} leaks in ` +
  `sparse-attention, ${otherLeaks} leaks in V8/Node ignored (${otherLeakBytes} bytes)`);
process.exit(errors.length || ourLeaks.length ? 1 : 0);

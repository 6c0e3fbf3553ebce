// Checks that the instructions of an x86-64 addon fit where they are: AVX-512 only in the
// avx512 copy of the CPU kernels, AVX2/FMA/BMI (VEX) only in the avx2 and avx512 copies,
// nothing beyond SSE2 anywhere else in this package's code. A function that breaks this would
// fault (SIGILL) on an older CPU however the dispatcher chooses, e.g. an out-of-line template
// instance compiled in the AVX-512 copy and called from the baseline one.
//
// Usage: node scripts/check-cpu-isolation.mjs ADDON.node LINKER.map
// The linker map (the build writes <build>/sparse_attention.map) says which object each piece
// of .text comes from. Code from other libraries linked in (libstdc++, libgcc, the CUDA runtime)
// is counted and not judged: what it runs is up to its own checks of the CPU.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [addon, mapFile] = process.argv.slice(2);
if (!addon || !mapFile) {
  console.error('usage: node scripts/check-cpu-isolation.mjs ADDON.node LINKER.map');
  process.exit(2);
}

const LEVELS = ['baseline', 'sse3+', 'avx2', 'avx512'];
const rank = (level) => LEVELS.indexOf(level);

// Input sections of executable code: [start, end, object]; a long section name puts the
// address, size and object on the next line.
function codeSections(map) {
  const sections = [];
  const lines = map.split('\n');
  const at = /^\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\S.*)$/;
  for (let i = 0; i < lines.length; i++) {
    const head = /^ (\.text\S*|\.init|\.fini|\.plt\S*)(?:\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\S.*))?$/.exec(lines[i]);
    if (!head) continue;
    let start, size, object;
    if (head[2]) [start, size, object] = [head[2], head[3], head[4]];
    else {
      const next = at.exec(lines[i + 1] ?? '');
      if (!next) continue;
      [start, size, object] = [next[1], next[2], next[3]];
      i++;
    }
    const s = Number(start), n = Number(size);
    if (n > 0 && s > 0) sections.push({ start: s, end: s + n, object: object.trim() });
  }
  return sections.sort((a, b) => a.start - b.start);
}

// The most an object's code may use: a kernel copy its own level, the rest of this package
// the baseline; undefined for code of other libraries.
function allowed(object) {
  const copy = /sa_cpu_(\w+)\.o\)?$/.exec(object);
  if (copy) return copy[1] === 'native' ? 'avx512' : copy[1];
  if (/(^|\/)CMakeFiles\/|libsa_kernels\.a|libsa_cuda\.a/.test(object)) return 'baseline';
  return undefined;
}

// SSE3, SSSE3, SSE4.1/4.2, POPCNT, LZCNT, TZCNT, MOVBE, CRC32: the x86-64-v2/v3 instructions
// that need no VEX prefix. (pminub/pmaxub/pminsw/pmaxsw and pextrw/pinsrw are SSE2.)
const beyondSse2 = new RegExp(
  '^(popcnt|lzcnt|tzcnt|movbe|crc32|pshufb|palignr|pabs[bwd]|psign[bwd]|ph(add|sub)[swd]|pmaddubsw|pmulhrsw|' +
    'ptest|pblend|blendv?p[sd]|round[sp][sd]|dpp[sd]|insertps|extractps|pextr[bdq]|pinsr[bdq]|pmov[sz]x|' +
    'pmuldq|pmulld|pmin(s[bd]|u[wd])|pmax(s[bd]|u[wd])|pcmp(eq|gt)q|packusdw|movntdqa|mpsadbw|phminposuw|' +
    'pcmp[ei]str|h(add|sub)p[sd]|addsubp[sd]|movddup|movs[hl]dup|lddqu)',
);

function level(bytes, mnemonic) {
  let i = 0;
  while (i < bytes.length && /^(67|2e|3e|26|36|64|65)$/.test(bytes[i])) i++;
  if (bytes[i] === '62') return 'avx512';
  if (bytes[i] === 'c4' || bytes[i] === 'c5') return 'avx2';
  return beyondSse2.test(mnemonic) ? 'sse3+' : 'baseline';
}

const sections = codeSections(readFileSync(mapFile, 'utf8'));
function objectAt(address) {
  let lo = 0, hi = sections.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1, s = sections[mid];
    if (address < s.start) hi = mid - 1;
    else if (address >= s.end) lo = mid + 1;
    else return s.object;
  }
  return undefined;
}

const objdump = spawn('objdump', ['-d', '-w', addon], { stdio: ['ignore', 'pipe', 'inherit'] });
const counts = new Map();  // object kind -> level -> instructions
const violations = [];
let unattributed = 0, fn = '';
const insn = /^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*\t(\S+)\s*(.*)$/;
for await (const line of createInterface({ input: objdump.stdout })) {
  const label = /^[0-9a-f]+ <(.+)>:$/.exec(line);
  if (label) fn = label[1];
  const m = insn.exec(line);
  if (!m) continue;
  const address = parseInt(m[1], 16);
  const used = level(m[2].trim().split(' '), m[3]);
  const object = objectAt(address);
  if (object === undefined) {
    unattributed++;
    continue;
  }
  const limit = allowed(object);
  const kind = limit === undefined ? 'other libraries' : /sa_cpu_/.test(object) ? `kernels (${limit})` : 'package, shared';
  const perLevel = counts.get(kind) ?? new Map();
  perLevel.set(used, (perLevel.get(used) ?? 0) + 1);
  counts.set(kind, perLevel);
  if (limit !== undefined && rank(used) > rank(limit) && violations.length < 20)
    violations.push(`${m[1]} ${used} in ${object} (${fn}): ${m[3]} ${m[4]}`);
}
const status = await new Promise((done) => objdump.on('close', done));
if (status !== 0) {
  console.error(`check-cpu-isolation: objdump exited with ${status}`);
  process.exit(2);
}
if (sections.length === 0 || counts.size === 0) {
  console.error(`check-cpu-isolation: no code attributed from ${mapFile}: is it the map of ${addon}?`);
  process.exit(2);
}
for (const [kind, perLevel] of [...counts].sort()) {
  const parts = LEVELS.filter((l) => perLevel.has(l)).map((l) => `${l} ${perLevel.get(l)}`);
  console.log(`  ${kind.padEnd(20)} ${parts.join(', ')}`);
}
if (unattributed) console.log(`  (${unattributed} instructions outside the map's code sections)`);
if (violations.length) {
  console.error(`check-cpu-isolation: instructions beyond what their code may use:\n  ${violations.join('\n  ')}`);
  process.exit(1);
}
console.log('check-cpu-isolation: every instruction fits its code\'s level');

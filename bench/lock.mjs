// One benchmark run at a time per checkout: two runs side by side would share the CPUs and
// skew each other's figures (and each one's timings would be wrong without saying so).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** Takes `dir`/run.lock for this process, or throws naming the run that holds it. */
export function acquireRunLock(dir) {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'run.lock');
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch (e) {
    if (e.code !== 'EEXIST') throw e;
    const holder = Number(readFileSync(file, 'utf8'));
    if (holder && holder !== process.pid && alive(holder))
      throw new Error(`another benchmark run (pid ${holder}) is in progress; runs must not overlap, wait for it to finish`);
    writeFileSync(file, String(process.pid));
  }
  process.on('exit', () => rmSync(file, { force: true }));
}

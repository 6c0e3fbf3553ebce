// Runs one implementation on one job in a fresh child process and returns its JSON line.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';

/**
 * Spawns `command JOB.json` in `cwd`, waits at most `timeoutMs`, and returns the last JSON
 * line it printed, or {ok: false, error} saying why there is none (timeout, crash, no line).
 */
export function runJob(command, job, jobFile, { cwd, timeoutMs }) {
  writeFileSync(jobFile, JSON.stringify(job, null, 1));
  return new Promise((resolve) => {
    const child = spawn(command[0], [...command.slice(1), jobFile], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    // Keep only the end of stderr: a failing run can print a lot.
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, error: `could not start ${command[0]}: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return resolve({ ok: false, error: `timeout: killed after ${Math.round(timeoutMs / 1000)} s` });
      const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (line) {
        try {
          return resolve(JSON.parse(line));
        } catch {
          // fall through: not JSON after all
        }
      }
      const why = signal ? `killed by ${signal}` : `exit status ${code}`;
      const lastError = stderr.trim().split('\n').slice(-3).join(' | ');
      resolve({ ok: false, error: `${why}, no result line${lastError ? `: ${lastError}` : ''}` });
    });
  });
}

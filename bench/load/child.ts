// Runs a load generator as a separate process on the load generator's core and collects its
// JSON report (the line starting with MARKER).
import { spawn } from 'node:child_process';
import { pinned, type Machine } from '../lib/machine.ts';
import { REPO_ROOT } from '../lib/servers.ts';

export const MARKER = 'BENCH_JSON ';

export function runPinned(pinning: Machine['pinning'], cmd: string, args: string[], timeoutMs: number): Promise<{ json: unknown; stdout: string; stderr: string }> {
  const [c, a] = pinned(pinning, 'loader', cmd, args);
  return new Promise((resolve, reject) => {
    const child = spawn(c, a, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(MARKER));
      if (!line) return reject(new Error(`${cmd} ended (${code ?? signal}) without a report:\n${stderr.slice(-2000)}\n${stdout.slice(-2000)}`));
      try {
        resolve({ json: JSON.parse(line.slice(MARKER.length)), stdout, stderr });
      } catch (err) {
        reject(new Error(`${cmd} report does not parse: ${(err as Error).message}: ${line.slice(0, 500)}`));
      }
    });
  });
}

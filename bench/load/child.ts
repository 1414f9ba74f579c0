// Runs a load generator as a separate process on the load generator's core and collects its
// JSON report (the line starting with MARKER), and the progress lines (WINDOW_MARKER) as they come.
import { spawn } from 'node:child_process';
import { pinned, type Machine } from '../lib/machine.ts';
import { REPO_ROOT } from '../lib/servers.ts';

export const MARKER = 'BENCH_JSON ';
/** A line of progress (one window of a long load) printed while the load runs. */
export const WINDOW_MARKER = 'BENCH_WINDOW ';

export function runPinned(
  pinning: Machine['pinning'],
  cmd: string,
  args: string[],
  timeoutMs: number,
  onWindow?: (json: unknown) => void,
): Promise<{ json: unknown; stdout: string; stderr: string }> {
  const [c, a] = pinned(pinning, 'loader', cmd, args);
  return new Promise((resolve, reject) => {
    const child = spawn(c, a, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (!onWindow) return;
      const lines = (pending + d).split('\n');
      pending = lines.pop()!;
      for (const l of lines) {
        if (!l.startsWith(WINDOW_MARKER)) continue;
        try {
          onWindow(JSON.parse(l.slice(WINDOW_MARKER.length)));
        } catch (err) {
          stderr += `window report failed: ${(err as Error).message}: ${l.slice(0, 200)}\n`;
        }
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(MARKER));
      if (!line)
        return reject(
          new Error(
            `${cmd} ended (${code ?? signal}) without a report:\n${stderr.slice(-2000)}\n${stdout.slice(-2000)}`,
          ),
        );
      try {
        resolve({ json: JSON.parse(line.slice(MARKER.length)), stdout, stderr });
      } catch (err) {
        reject(new Error(`${cmd} report does not parse: ${(err as Error).message}: ${line.slice(0, 500)}`));
      }
    });
  });
}

// What the benchmark ran on, and whether servers and load generators can be pinned to cores.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  loader: string;
  loaderVersion: string;
  pinning: { applied: boolean; serverCore?: number; loaderCore?: number; reason: string };
  clockTicks: number;
  /** 1, 5 and 15 minute load averages when the run started: anything else running skews results. */
  loadAverage: number[];
  /** Filesystem of the temporary directory that holds Tessera's SQLite database. */
  tempFilesystem: string;
  /** Where Tessera keeps its state (--storage): SQLite, or PostgreSQL + Redis. */
  storage: string;
  /** The Tessera source measured. */
  tessera: { commit: string; srcModified: boolean };
  /** node-oidc-provider's version. */
  oidcProvider: string;
}

export function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch {
    /* not Linux */
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

export function memoryGiB(): number {
  try {
    const m = /^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Math.round((Number(m[1]) / 1024 / 1024) * 10) / 10;
  } catch {
    /* not Linux */
  }
  return Math.round((os.totalmem() / 2 ** 30) * 10) / 10;
}

/** The Tessera source that was measured: the commit, and whether src/ had uncommitted changes. */
export function tesseraRevision(repoRoot: string): { commit: string; srcModified: boolean } {
  const head = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: repoRoot, encoding: 'utf8' });
  return {
    commit: head.status === 0 ? head.stdout.trim() : 'unknown',
    srcModified: dirty.status === 0 && dirty.stdout.trim() !== '',
  };
}

export function filesystemType(dir: string): string {
  const r = spawnSync('findmnt', ['-n', '-o', 'FSTYPE', '-T', dir], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  const s = spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' });
  return s.status === 0 ? s.stdout.trim() : 'unknown';
}

export function hasWrk(): boolean {
  return spawnSync('wrk', ['-v'], { encoding: 'utf8' }).error === undefined;
}

export function wrkVersion(): string {
  const r = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  return /wrk\s+(\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
}

export function packageVersion(name: string): string {
  try {
    const pkg = JSON.parse(
      readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8'),
    ) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

/**
 * Pinning: servers on core 0, load generators (and this process) on core 1, when taskset works and there are 2+ cores.
 */
export function pinningPlan(wanted: boolean): Machine['pinning'] {
  if (!wanted) return { applied: false, reason: 'disabled by --no-pin' };
  if (os.availableParallelism() < 2) return { applied: false, reason: 'fewer than 2 cores' };
  const r = spawnSync('taskset', ['-c', '0', 'true']);
  if (r.error || r.status !== 0) return { applied: false, reason: 'taskset is missing or refused' };
  return {
    applied: true,
    serverCore: 0,
    loaderCore: 1,
    reason: 'taskset -c 0 for servers, -c 1 for load generators and the harness',
  };
}

/** Prefixes a command with `taskset -c CORE` when pinning is applied. */
export function pinned(
  pinning: Machine['pinning'],
  role: 'server' | 'loader',
  cmd: string,
  args: string[],
): [string, string[]] {
  if (!pinning.applied) return [cmd, args];
  const core = role === 'server' ? pinning.serverCore! : pinning.loaderCore!;
  return ['taskset', ['-c', String(core), cmd, ...args]];
}

/** Moves every thread of this process to the load generator's core, off the server's. */
export function pinSelf(pinning: Machine['pinning']): void {
  if (!pinning.applied) return;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(pinning.loaderCore), String(process.pid)], { stdio: 'ignore' });
  } catch {
    /* best effort */
  }
}

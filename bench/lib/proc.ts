// Server-side resource accounting from /proc: CPU time (all threads of the process, and of its
// worker processes in cluster mode) and RSS.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

let clkTck: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`; 100 on Linux almost always). */
export function clockTicks(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/**
 * The fields of /proc/<pid>/stat after "(comm)": [0] is field 3 (state), [1] the ppid, [11] utime, [12] stime, [13]
 * cutime, [14] cstime.
 */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

const ticksToMicros = (...ticks: (string | undefined)[]) =>
  (ticks.reduce((n, t) => n + Number(t), 0) * 1_000_000) / clockTicks();

/** User + system CPU time of a process (all its threads), in microseconds. */
export function cpuMicros(pid: number): number {
  const fields = statFields(pid);
  return ticksToMicros(fields[11], fields[12]);
}

/**
 * CPU time of the reaped children of a process (cutime + cstime), microseconds: after a load
 * generator child has exited, its CPU time shows here.
 */
export function childrenCpuMicros(pid: number): number {
  const fields = statFields(pid);
  return ticksToMicros(fields[13], fields[14]);
}

/**
 * The live child processes of `pid`: /proc/<pid>/task/<tid>/children when the kernel has it, else a scan of every
 * /proc/<n>/stat for the ppid.
 */
function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  } catch {
    /* no CONFIG_PROC_CHILDREN: scan */
  }
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (Number(statFields(Number(name))[1]) === pid) out.push(Number(name));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/**
 * CPU time of a process and everything below it, microseconds: its own threads, its reaped
 * children, and every live descendant (a cluster primary and its workers).
 */
export function treeCpuMicros(pid: number): number {
  let total = cpuMicros(pid) + childrenCpuMicros(pid);
  for (const child of childPids(pid)) {
    try {
      total += treeCpuMicros(child);
    } catch {
      /* exited meanwhile: its time moves to our cutime */
    }
  }
  return total;
}

function statusField(pid: number, name: string): number | undefined {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : undefined;
}

/** Peak resident set size (VmHWM), bytes. */
export function peakRss(pid: number): number | undefined {
  return statusField(pid, 'VmHWM');
}

/** Current resident set size (VmRSS), bytes. */
export function currentRss(pid: number): number | undefined {
  return statusField(pid, 'VmRSS');
}

/** Resets VmHWM to the current RSS (Linux 4.0+: write 5 to clear_refs). Returns whether it worked. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Busy and total time of one core since boot, microseconds (from /proc/stat). */
export interface CoreTimes {
  busy: number;
  total: number;
}

/** Per-core times, indexed by core number. */
export function coreTimes(): Map<number, CoreTimes> {
  const out = new Map<number, CoreTimes>();
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    // user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user)
    const [user, nice, system, idle, iowait, irq, softirq, steal] = m[2]!.split(/\s+/).map(Number);
    const busy = user! + nice! + system! + irq! + softirq! + steal!;
    const scale = 1_000_000 / clockTicks();
    out.set(Number(m[1]), { busy: busy * scale, total: (busy + idle! + iowait!) * scale });
  }
  return out;
}

/**
 * CPU time that processes other than `ownMicros` took on one core between two coreTimes()
 * readings, percent of that core's time; undefined when the core is not in both.
 */
export function otherCpuPct(
  before: Map<number, CoreTimes>,
  after: Map<number, CoreTimes>,
  core: number,
  ownMicros: number,
): number | undefined {
  const a = before.get(core);
  const b = after.get(core);
  if (!a || !b || b.total <= a.total) return undefined;
  return Math.max(0, (100 * (b.busy - a.busy - ownMicros)) / (b.total - a.total));
}

/** Share of all cores busy over `ms` milliseconds, percent (0-100). */
export async function machineBusyPct(ms: number): Promise<number> {
  const sum = (m: Map<number, CoreTimes>) =>
    [...m.values()].reduce((a, c) => ({ busy: a.busy + c.busy, total: a.total + c.total }), { busy: 0, total: 0 });
  const a = sum(coreTimes());
  await new Promise((r) => setTimeout(r, ms));
  const b = sum(coreTimes());
  return b.total > a.total ? (100 * (b.busy - a.busy)) / (b.total - a.total) : 0;
}

/**
 * Waits, at most `maxWaitS` seconds, until the machine is quiet (under `thresholdPct` busy while
 * the benchmark itself is idle). Returns the last busy share seen.
 */
export async function waitForQuiet(maxWaitS: number, thresholdPct = 10): Promise<{ busyPct: number; waitedS: number }> {
  const start = Date.now();
  let busyPct = await machineBusyPct(500);
  while (busyPct > thresholdPct && Date.now() - start < maxWaitS * 1000) busyPct = await machineBusyPct(1000);
  return { busyPct, waitedS: (Date.now() - start) / 1000 };
}

/** A process and its live descendants (a cluster primary and its workers). */
export function treePids(pid: number): number[] {
  const out = [pid];
  for (const child of childPids(pid)) {
    try {
      out.push(...treePids(child));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** A status figure summed over a process tree; undefined when the root cannot be read. */
function treeStatus(pid: number, name: string): number | undefined {
  const root = statusField(pid, name);
  if (root === undefined) return undefined;
  let total = root;
  for (const p of treePids(pid).slice(1)) {
    try {
      total += statusField(p, name) ?? 0;
    } catch {
      /* exited meanwhile */
    }
  }
  return total;
}

/** Current RSS of a process tree (the sum of every process's VmRSS), bytes. */
export const treeRss = (pid: number) => treeStatus(pid, 'VmRSS');

/**
 * Peak RSS of a process tree: the sum of every process's VmHWM, bytes. The processes need not
 * have peaked at the same moment, so with workers this is an upper bound of the tree's peak.
 */
export const treePeakRss = (pid: number) => treeStatus(pid, 'VmHWM');

/** resetPeakRss for every process of a tree; whether it worked for all. */
export function resetTreePeakRss(pid: number): boolean {
  return treePids(pid).map(resetPeakRss).every(Boolean);
}

/**
 * A meter of the CPU time of the machine's database services, microseconds since its first
 * reading: redis-server (all threads) and the PostgreSQL server's processes (found by command name
 * in /proc), leaving out the client backends of other databases than `database()` (named in their
 * command line). Each reading adds what every process used since the one before (a process that
 * appeared since counts whole), so the total never goes back when a backend exits; what a backend
 * used between the last reading and its exit is lost (an undercount). The services are shared, so
 * anything else using them while the bench runs counts too: approximate.
 */
export function serviceCpuMeter(database: () => string | undefined): () => number {
  const last = new Map<number, number>();
  let total = 0;
  let first = true;
  return () => {
    const db = database();
    const seen = new Set<number>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const comm = readFileSync(`/proc/${name}/comm`, 'utf8').trim();
        if (comm === 'postgres' || comm === 'postmaster') {
          // A client backend: "postgres: [cluster: ]user database host(port) state".
          const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
          const backend = /\s(\S+)\s(\S+)\s(?:\S+\(\d+\)|\[local\])/.exec(cmd);
          if (backend && backend[2] !== db) continue;
        } else if (comm !== 'redis-server') continue;
        const pid = Number(name);
        const cpu = cpuMicros(pid);
        const before = last.get(pid);
        if (before !== undefined) total += Math.max(0, cpu - before);
        else if (!first) total += cpu;
        last.set(pid, cpu);
        seen.add(pid);
      } catch {
        /* exited meanwhile, or not ours to read */
      }
    }
    for (const pid of last.keys()) if (!seen.has(pid)) last.delete(pid);
    first = false;
    return total;
  };
}

// The open-loop generator's process (started pinned by open-loop.ts). Request i is due at a fixed
// time on the schedule, whatever happened to the requests before it; it goes out on an idle
// keep-alive connection, or on a new one when all are busy, so the connections never hold the
// rate back. Its latency is the time from when it was due to its answer: a server that stalls
// shows as latency of every request due during the stall, not as fewer requests sent (coordinated
// omission). Prints one JSON report (MARKER). Argument: a JSON file of OpenLoopJob.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { MARKER } from './child.ts';
import { LogHistogram } from './open-histogram.ts';
import type { OpenLoopJob, OpenLoopResult } from './open-loop.ts';

const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as OpenLoopJob;
const { workload: w, rate, rampS, durationS, timeoutMs, maxConnections } = job;
const url = new URL(w.url);
const port = Number(url.port || 80);
const body = w.body ?? '';
const REQUEST = Buffer.from(
  `${w.method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n` +
    Object.entries(w.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('') +
    (w.method === 'POST' ? `content-length: ${Buffer.byteLength(body)}\r\n` : '') +
    `\r\n${body}`,
);

// The schedule, in ms from t0: the rate rises linearly over the ramp (due(i) = sqrt(2 T i / r)),
// then holds: requests from `firstMeasured` on are measured.
const perMs = rate / 1000;
const rampMs = rampS * 1000;
const rampRequests = (perMs * rampMs) / 2;
const firstMeasured = Math.ceil(rampRequests);
const total = firstMeasured + Math.round(rate * durationS);
const scheduled = total - firstMeasured;
const due = (i: number) =>
  i < rampRequests ? Math.sqrt((2 * rampMs * i) / perMs) : rampMs + (i - rampRequests) / perMs;

interface Req {
  i: number;
  dueMs: number;
  /** When the generator got to it (dueMs plus its lag). */
  sentMs: number;
}
interface Conn {
  socket: Socket;
  req?: Req;
  buf?: Buffer;
  idleSince: number;
}

const latency = new LogHistogram();
const lag = new LogHistogram();
const fromSend = new LogHistogram();
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
const errors = { status: 0, socket: 0, timeout: 0 };
let firstError: string | undefined;
let ok = 0;
let slow = 0;
let rampErrors = 0;
let dispatched = 0;
let lastDispatchMs = 0;
let inFlight = 0;
let opened = 0;
let peakBusy = 0;
let peakOpen = 0;
let capReached = false;
let peakQueued = 0;
let stoppedEarlyS: number | undefined;
const conns = new Set<Conn>();
const idle: Conn[] = [];
const queue: Req[] = [];
let queueHead = 0;
let t0 = 0;
let next = 0;
let done = false;

const now = () => performance.now() - t0;
const measured = (r: Req) => r.i >= firstMeasured;

function finish(r: Req, error: string | undefined, kind: keyof typeof errors = 'status'): void {
  inFlight--;
  if (!measured(r)) {
    if (error) rampErrors++;
    return;
  }
  const t = now();
  const ms = t - r.dueMs;
  latency.record(ms * 1000);
  fromSend.record((t - r.sentMs) * 1000);
  if (ms >= (job.stopWhenFailedMs ?? Infinity)) slow++;
  if (error === undefined) ok++;
  else {
    errors[kind]++;
    firstError ??= error;
  }
}

function send(c: Conn, r: Req): void {
  c.req = r;
  c.socket.write(REQUEST);
}

function release(c: Conn): void {
  if (queueHead < queue.length) {
    send(c, queue[queueHead++]!);
    if (queueHead > 1024 && queueHead * 2 > queue.length) {
      queue.splice(0, queueHead);
      queueHead = 0;
    }
  } else {
    c.idleSince = now();
    idle.push(c);
  }
}

function drop(c: Conn, why: string, kind: keyof typeof errors): void {
  if (!conns.delete(c)) return;
  const i = idle.indexOf(c);
  if (i >= 0) idle.splice(i, 1);
  c.socket.destroy();
  if (c.req) {
    const r = c.req;
    c.req = undefined;
    finish(r, why, kind);
  }
}

/** The end of a chunked body starting at `pos`, or -1 while incomplete (trailers are not expected). */
function chunkedEnd(buf: Buffer, pos: number): number {
  for (;;) {
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) return -1;
    const size = Number.parseInt(buf.toString('latin1', pos, eol), 16);
    if (size === 0) return buf.length >= eol + 4 ? eol + 4 : -1;
    pos = eol + 2 + size + 2;
    if (pos > buf.length) return -1;
  }
}

function onData(c: Conn, chunk: Buffer): void {
  const buf = c.buf ? Buffer.concat([c.buf, chunk]) : chunk;
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return void (c.buf = buf);
  const head = buf.toString('latin1', 0, headEnd);
  const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
  const end = length
    ? headEnd + 4 + Number(length[1])
    : /\r\ntransfer-encoding:[ \t]*chunked/i.test(head)
      ? chunkedEnd(buf, headEnd + 4)
      : headEnd + 4;
  if (end < 0 || buf.length < end) return void (c.buf = buf);
  c.buf = undefined;
  const r = c.req;
  if (!r || buf.length > end) return drop(c, 'unexpected bytes from the server', 'socket');
  c.req = undefined;
  const status = Number(head.slice(9, 12));
  finish(
    r,
    status === w.expectStatus
      ? undefined
      : `${status} ${buf.toString('utf8', headEnd + 4, Math.min(end, headEnd + 204))}`,
  );
  if (/\r\nconnection:[ \t]*close/i.test(head)) drop(c, 'closed', 'socket');
  else release(c);
}

function openConn(first?: Req): Conn {
  const socket = connect({ host: url.hostname, port, noDelay: true });
  const c: Conn = { socket, idleSince: 0 };
  conns.add(c);
  opened++;
  peakOpen = Math.max(peakOpen, conns.size);
  if (first) c.req = first;
  socket.on('connect', () => {
    if (c.req) socket.write(REQUEST);
    else release(c);
  });
  socket.on('data', (chunk: Buffer) => onData(c, chunk));
  socket.on('error', (err) => drop(c, `socket: ${err.message}`, 'socket'));
  socket.on('close', () => drop(c, 'socket closed by the server', 'socket'));
  return c;
}

function dispatch(r: Req): void {
  inFlight++;
  const c = idle.pop();
  if (c) send(c, r);
  else if (conns.size < maxConnections) openConn(r);
  else {
    capReached = true;
    queue.push(r);
    peakQueued = Math.max(peakQueued, queue.length - queueHead);
  }
  peakBusy = Math.max(peakBusy, conns.size - idle.length);
}

/**
 * Sends whatever is due, then sleeps until the next is due (at least 1 ms: timers are no finer). Spinning instead
 * would send each request closer to its time, but a process that never sleeps loses its core in slices of
 * milliseconds to anything else runnable there, which made the lag worse on a shared machine, and it hides the
 * generator's real load.
 */
function tick(): void {
  if (done) return;
  while (next < total) {
    const d = due(next);
    const t = now();
    if (d > t) break;
    const r: Req = { i: next++, dueMs: d, sentMs: t };
    if (measured(r)) {
      lag.record((t - d) * 1000);
      dispatched++;
      lastDispatchMs = t;
    }
    dispatch(r);
  }
  if (next >= total) return;
  const wait = due(next) - now();
  setTimeout(tick, Math.max(1, Math.floor(wait)));
}

/**
 * A connection idle this long is closed by the generator, before any server's keep-alive timeout (Node's default is
 * 5 s) could close it just as a request goes out on it, which would count as an error of the server.
 */
const IDLE_CLOSE_MS = 2000;

/** Times out old requests, stops a step that can no longer pass, and ends when all is answered. */
function sweep(): void {
  const t = now();
  // The idle stack is used from its top: its bottom holds the longest idle.
  while (idle.length && t - idle[0]!.idleSince > IDLE_CLOSE_MS) drop(idle[0]!, 'idle', 'socket');
  for (const c of [...conns]) if (c.req && t - c.req.dueMs > timeoutMs) drop(c, `timeout (${timeoutMs} ms)`, 'timeout');
  while (queueHead < queue.length && t - queue[queueHead]!.dueMs > timeoutMs)
    finish(queue[queueHead++]!, `timeout (${timeoutMs} ms) waiting for a connection`, 'timeout');
  if (job.stopWhenFailedMs !== undefined && t > rampMs) {
    const limit = job.stopWhenFailedMs;
    const waiting = [...conns].map((c) => c.req).concat(queue.slice(queueHead));
    const late = waiting.filter((r): r is Req => !!r && measured(r) && t - r.dueMs >= limit).length;
    const errorCount = errors.status + errors.socket + errors.timeout;
    if (errorCount > 0 || slow + late > scheduled - Math.ceil(0.99 * scheduled)) {
      stoppedEarlyS = Math.max(0, (t - rampMs) / 1000);
      // What is still unanswered counts with the age it has now: a lower bound of its latency.
      for (const r of waiting)
        if (r && measured(r)) {
          latency.record((t - r.dueMs) * 1000);
          fromSend.record((t - r.sentMs) * 1000);
        }
      return end();
    }
  }
  if (next >= total && inFlight === 0) end();
}

let sweeper: NodeJS.Timeout | undefined;
const cpu0 = process.cpuUsage();
const wall0 = performance.now();

function end(): void {
  if (done) return;
  done = true;
  clearInterval(sweeper);
  loopDelay.disable();
  for (const c of conns) c.socket.destroy();
  const cpu = process.cpuUsage(cpu0);
  const measuredS = stoppedEarlyS ?? durationS;
  const result: OpenLoopResult = {
    rate,
    durationS,
    scheduled,
    dispatched,
    ok,
    errors,
    firstError,
    // On schedule, the last request goes out 1/rate before the end of the measured part.
    achievedRate: dispatched / Math.max(measuredS, (lastDispatchMs - rampMs) / 1000 + 1 / rate),
    okRate: ok / Math.max(1e-3, measuredS),
    latency: latency.summary(),
    lag: lag.summary(),
    fromSend: fromSend.summary(),
    loopDelayP99Ms: Math.round(loopDelay.percentile(99) / 1e3) / 1e3,
    connections: { initial: initialConnections, opened, peakOpen, peakBusy, capReached },
    peakQueued,
    rampErrors,
    stoppedEarlyS,
    cpuPct: Math.round((100 * (cpu.user + cpu.system)) / 1e3 / (performance.now() - wall0)),
  };
  process.stdout.write(`${MARKER}${JSON.stringify(result)}\n`);
  process.exit(0);
}

// Enough connections for ~10 ms of requests open before t0, so the first ones do not all wait for
// a handshake; more are opened whenever every one is busy.
const initialConnections = Math.min(maxConnections, Math.max(4, Math.ceil(rate / 100)));
await Promise.all(
  Array.from(
    { length: initialConnections },
    () =>
      new Promise<void>((resolve, reject) => {
        const c = openConn();
        c.socket.once('connect', () => resolve());
        c.socket.once('error', reject);
      }),
  ),
);
loopDelay.enable();
t0 = performance.now() + 5;
for (const c of idle) c.idleSince = 0;
sweeper = setInterval(sweep, 20);
setTimeout(tick, 5);

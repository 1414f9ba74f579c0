// wrk driver: one thread on the load generator's core; a generated Lua script counts any status
// other than the expected one as a failure and, for refresh rotation, keeps per-thread chains of
// refresh tokens (each request presents a token returned by an earlier response, never twice).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Machine } from '../lib/machine.ts';
import { MARKER, runPinned } from './child.ts';
import type { HttpWorkload, LoadDriver, LoadOptions, LoadResult, RefreshWorkload, Workload } from './types.ts';

const THREADS = 1;

/** A Lua string literal for printable ASCII (JSON escapes of such text are valid Lua escapes). */
function lua(s: string): string {
  if (!/^[\x20-\x7e]*$/.test(s)) throw new Error('wrk script values must be printable ASCII');
  return JSON.stringify(s);
}

function luaTable(h: Record<string, string>): string {
  return `{ ${Object.entries(h)
    .map(([k, v]) => `[${lua(k)}] = ${lua(v)}`)
    .join(', ')} }`;
}

const COMMON = `
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  if assign then assign(thread, #threads) end
end

local function clean(s)
  return (string.gsub(string.sub(s or "", 1, 200), '[^%w%s%.,:;=_/%-%+%(%)%[%]{}]', '?'))
end

function fail(status, body)
  bad = bad + 1
  if first_bad == nil then first_bad = status .. " " .. clean(body) end
end

function done(summary, latency, requests)
  local bad_total, first = 0, ""
  for _, t in ipairs(threads) do
    bad_total = bad_total + (t:get("bad") or 0)
    local fb = t:get("first_bad")
    if fb and first == "" then first = fb end
  end
  local e = summary.errors
  io.write(string.format('${MARKER}{"requests":%d,"duration_us":%d,"bad":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"first_bad":"%s"}\\n',
    summary.requests, summary.duration, bad_total, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), string.gsub(first, '"', "'")))
end
`;

function staticScript(w: HttpWorkload): string {
  return `
wrk.method = ${lua(w.method)}
wrk.headers = ${luaTable(w.headers)}
${w.body !== undefined ? `wrk.body = ${lua(w.body)}` : ''}
local expect = ${w.expectStatus}

function init(args)
  bad = 0
end

function response(status, headers, body)
  if status ~= expect then fail(status, body) end
end
${COMMON}`;
}

function refreshScript(w: RefreshWorkload, connections: number): string {
  const perThread = Math.ceil(connections / THREADS);
  return `
local pool = { ${w.tokens.map(lua).join(', ')} }
local path = ${lua(new URL(w.url).pathname)}
local headers = ${luaTable(w.headers)}
local prefix = ${lua(w.bodyPrefix ?? '')}

function assign(thread, n)
  local share = {}
  for i = (n - 1) * ${perThread} + 1, math.min(#pool, n * ${perThread}) do share[#share + 1] = pool[i] end
  thread:set("seed", table.concat(share, " "))
  -- wrk calls request() once on the first thread's state right after init() to count the
  -- requests it returns, and never sends that one: it must not take a token from the chain.
  thread:set("probe", n == 1)
end

function init(args)
  bad = 0
  queue = {}
  for t in string.gmatch(seed or "", "%S+") do queue[#queue + 1] = t end
end

function request()
  if probe then
    probe = false
    return wrk.format("POST", path, headers, prefix .. "grant_type=refresh_token&refresh_token=probe")
  end
  local token = table.remove(queue, 1) or "exhausted"
  return wrk.format("POST", path, headers, prefix .. "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, hdrs, body)
  if status ~= 200 then return fail(status, body) end
  local rt = string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
  if rt then queue[#queue + 1] = rt else fail(status, body) end
end
${COMMON}`;
}

interface WrkReport {
  requests: number;
  duration_us: number;
  bad: number;
  connect: number;
  read: number;
  write: number;
  timeout: number;
  p50_us: number;
  p99_us: number;
  first_bad: string;
}

export function wrkDriver(pinning: Machine['pinning']): LoadDriver {
  return {
    name: 'wrk',
    async run(w: Workload, o: LoadOptions): Promise<LoadResult> {
      if (w.kind === 'flow') throw new Error('wrk does not run flows');
      if (o.rate !== undefined || o.windowS !== undefined)
        throw new Error('wrk holds no constant rate and reports no windows: use autocannon');
      if (w.kind === 'refresh' && w.tokens.length < o.connections)
        throw new Error(`refresh needs ${o.connections} tokens, got ${w.tokens.length}`);
      const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-wrk-'));
      try {
        const script = join(dir, 'script.lua');
        writeFileSync(script, w.kind === 'http' ? staticScript(w) : refreshScript(w, o.connections));
        // wrk takes whole seconds only.
        const args = [
          '-t',
          String(THREADS),
          '-c',
          String(o.connections),
          '-d',
          `${Math.max(1, Math.round(o.durationS))}s`,
          '--timeout',
          '10s',
          '-s',
          script,
          w.url,
        ];
        const { json } = await runPinned(pinning, 'wrk', args, (o.durationS + 60) * 1000);
        const r = json as WrkReport;
        const socketErrors = r.connect + r.read + r.write + r.timeout;
        return {
          ok: Math.max(0, r.requests - r.bad),
          failed: r.bad + socketErrors,
          durationS: r.duration_us / 1e6,
          p50Ms: r.p50_us / 1000,
          p99Ms: r.p99_us / 1000,
          firstError:
            r.first_bad ||
            (socketErrors
              ? `socket errors: connect ${r.connect}, read ${r.read}, write ${r.write}, timeout ${r.timeout}`
              : undefined),
        };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

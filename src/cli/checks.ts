// The rows of `tessera mcp doctor` and `tessera selftest`: each check is one row (MUST or SHOULD,
// pass, fail or skip, the spec section and a one-line reason), printed as a table or as JSON. The
// exit code is 1 when a MUST row failed. Also the small HTTP helper both commands probe with.
import { print, table, warn } from './cli.ts';

export type Level = 'MUST' | 'SHOULD';
export type Outcome = 'pass' | 'fail' | 'skip';

export interface Row {
  /** Stable identifier of the check (e.g. `prm-resource`), for scripts and tests. */
  id: string;
  level: Level;
  outcome: Outcome;
  /** Where the requirement comes from: the MCP section and/or the RFC section. */
  section: string;
  /** One line: what was seen, or why the check could not be made. */
  reason: string;
}

const MAX_REASON = 400;

/** One line, and short: reasons quote what servers sent. */
function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_REASON ? `${line.slice(0, MAX_REASON - 1)}…` : line;
}

/** The rows of one run, in order. */
export class Report {
  readonly rows: Row[] = [];
  /** What went wrong beside the checks (e.g. a token the run could not revoke); never a secret. */
  readonly warnings: string[] = [];

  warn(text: string): void {
    this.warnings.push(oneLine(text));
  }

  add(id: string, level: Level, section: string, outcome: Outcome, reason: string): Row {
    const row = { id, level, outcome, section, reason: oneLine(reason) };
    this.rows.push(row);
    return row;
  }

  /** pass when `ok`, else fail; the reason says what was seen either way. */
  check(id: string, level: Level, section: string, ok: boolean, reason: string): boolean {
    this.add(id, level, section, ok ? 'pass' : 'fail', reason);
    return ok;
  }

  skip(id: string, level: Level, section: string, reason: string): void {
    this.add(id, level, section, 'skip', reason);
  }

  /** 0 when every MUST row passed or was skipped, 1 otherwise. */
  exitCode(): number {
    return this.rows.some((r) => r.level === 'MUST' && r.outcome === 'fail') ? 1 : 0;
  }

  /** The counts of the summary line. */
  summary(): string {
    const n = (level: Level, outcome: Outcome) =>
      this.rows.filter((r) => r.level === level && r.outcome === outcome).length;
    const verdict = this.exitCode() === 0 ? 'every MUST passed' : 'a MUST failed';
    return (
      `${verdict}: MUST ${n('MUST', 'pass')} pass, ${n('MUST', 'fail')} fail, ${n('MUST', 'skip')} skip; ` +
      `SHOULD ${n('SHOULD', 'pass')} pass, ${n('SHOULD', 'fail')} fail, ${n('SHOULD', 'skip')} skip`
    );
  }

  /**
   * Prints the rows (a table, or JSON with `json`) and the summary; returns the exit code. Warnings
   * are `warning:` lines on standard error, or the `warnings` member of the JSON when there are any.
   */
  print(title: string, json: boolean): number {
    if (json) {
      const warnings = this.warnings.length ? { warnings: this.warnings } : {};
      print(JSON.stringify({ title, exit_code: this.exitCode(), rows: this.rows, ...warnings }, null, 2));
      return this.exitCode();
    }
    print(title);
    print(
      table([
        ['RESULT', 'LEVEL', 'CHECK', 'SECTION', 'REASON'],
        ...this.rows.map((r) => [r.outcome.toUpperCase(), r.level, r.id, r.section, r.reason]),
      ]),
    );
    print(this.summary());
    for (const w of this.warnings) warn(`warning: ${w}`);
    return this.exitCode();
  }
}

/** One HTTP exchange as the checks see it; `error` when no response came (refused, timeout, TLS). */
export interface Probe {
  url: string;
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, when it is JSON. */
  json: unknown;
  error?: string;
}

export interface ProbeInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

const MAX_BODY = 256 * 1024;

/** Fetches without following redirects, with a timeout; never throws. */
export async function probe(url: string, init: ProbeInit = {}): Promise<Probe> {
  try {
    const res = await fetch(url, {
      method: init.method ?? 'GET',
      headers: init.headers,
      body: init.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
    });
    let text = await res.text();
    if (text.length > MAX_BODY) text = text.slice(0, MAX_BODY);
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { url, status: res.status, headers: res.headers, text, json };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const error = cause?.code ?? cause?.message ?? (err as Error).message;
    return { url, status: 0, headers: new Headers(), text: '', json: undefined, error };
  }
}

/** `status 400` or `no response (ECONNREFUSED)`, for reasons. */
export function seen(p: Probe): string {
  return p.error ? `no response from ${p.url} (${p.error})` : `HTTP ${p.status}`;
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The `error` member of an OAuth JSON error body, if any. */
export function oauthError(p: Probe): string | undefined {
  return isObject(p.json) && typeof p.json.error === 'string' ? p.json.error : undefined;
}

/** application/x-www-form-urlencoded body. */
export function form(fields: Record<string, string | undefined>): string {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) body.set(k, v);
  return body.toString();
}

/** The payload of a JWT (not verified: only to read `aud`); undefined for an opaque token. */
export function jwtPayload(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    return isObject(payload) ? payload : undefined;
  } catch {
    return undefined;
  }
}

/** The audiences of a JWT payload as a list. */
export function audiences(payload: Record<string, unknown>): string[] {
  const aud = payload.aud;
  return typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a) => typeof a === 'string') : [];
}

/**
 * The parameters of the first challenge of a WWW-Authenticate value with the given scheme
 * (RFC 9110 §11.6.1 auth-params, quoted or token values); undefined when no such challenge.
 */
export function challengeParams(header: string | null, scheme: string): Record<string, string> | undefined {
  if (!header) return undefined;
  const re = new RegExp(`(?:^|,)\\s*${scheme}(?:\\s+|\\s*$|\\s*,)`, 'i');
  const m = re.exec(header);
  if (!m) return undefined;
  const rest = header.slice(m.index + m[0].length);
  const params: Record<string, string> = {};
  const param = /\s*([A-Za-z0-9_!#$%&'*+.^`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(,|$)/y;
  let at = 0;
  while (at < rest.length) {
    param.lastIndex = at;
    const p = param.exec(rest);
    if (!p) break; // the next challenge (another scheme) starts here
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
    at = param.lastIndex;
  }
  return params;
}

/** An http(s) URL in the canonical form compared here: lowercase scheme and host, no fragment, no lone `/` path. */
export function canonicalUrl(raw: string): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return undefined;
  u.hash = '';
  const s = u.href;
  return u.pathname === '/' && !u.search ? s.replace(/\/$/, '') : s;
}

/** The path-aware well-known URL (RFC 8414 §3.1, RFC 9728 §3.1): /.well-known/NAME inserted before the path. */
export function wellKnown(base: string, name: string): string {
  const u = new URL(base);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
  return `${u.origin}/.well-known/${name}${path}`;
}

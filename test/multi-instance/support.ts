/**
 * Shared pieces of the multi-instance and fault suites: Tessera instances that share one issuer
 * (as behind a load balancer) and one database, a user agent that signs in over plain HTTP,
 * openid-client configured against one chosen instance, and a bounded request load whose every
 * outcome is recorded.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as client from 'openid-client';
import { sql } from 'kysely';
import { openDatabase } from '../../src/adapters/sql/database.ts';
import { timeOrderedKey } from '../../src/protocol/hash.ts';
import { startServer, type RunningServer } from '../fixtures/server.ts';

/** The one public issuer of every instance (the load balancer's URL); tests address instances directly. */
export const ISSUER = 'http://localhost:49999';
export const REDIRECT = 'https://app.example/cb';
export const SVC_SECRET = 'multi-instance-service-secret-0123456789';
export const WEB_SECRET = 'multi-instance-web-client-secret-0123456789';
export const PASSWORD = 'correct horse battery staple';

export const BOOTSTRAP = {
  clients: [
    {
      client_id: 'svc',
      client_secret: SVC_SECRET,
      grant_types: ['client_credentials'],
      scope: 'api',
      redirect_uris: [],
    },
    {
      client_id: 'web',
      client_secret: WEB_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      scope: 'openid profile offline_access',
      skip_consent: true,
    },
  ],
  users: [{ username: 'alice', password: PASSWORD, name: 'Alice' }],
};

/** A Tessera process on `databaseUrl` with the shared issuer and bootstrap file. */
export function startInstance(databaseUrl: string, env: Record<string, string> = {}): Promise<RunningServer> {
  // The load loops send far more than the default per-address limits allow from one address:
  // these suites are about storage and faults, so rate limiting is off (its own suites test it).
  return startServer({
    databaseUrl,
    bootstrap: BOOTSTRAP,
    env: { TESSERA_ISSUER: ISSUER, TESSERA_KEY_RELOAD_SECONDS: '1', TESSERA_RATE_LIMITING: 'false', ...env },
  });
}

export const base = (s: RunningServer) => `http://127.0.0.1:${s.port}`;
const toBase = (url: string, b: string) => (url.startsWith(ISSUER) ? b + url.slice(ISSUER.length) : url);

export interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

const basicOf = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
export const SVC_AUTH = basicOf('svc', SVC_SECRET);
export const WEB_AUTH = basicOf('web', WEB_SECRET);

/** POSTs a form; a request that takes longer than `timeoutMs` throws (a hang is a failure). */
export async function post(
  b: string,
  path: string,
  params: Record<string, string>,
  authorization?: string,
  timeoutMs = 15_000,
): Promise<Answer> {
  const res = await fetch(b + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
    body: new URLSearchParams(params).toString(),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text);
  } catch {
    body = { raw: text.slice(0, 200) };
  }
  return { status: res.status, headers: res.headers, body };
}

export const clientCredentials = (b: string) => post(b, '/token', { grant_type: 'client_credentials' }, SVC_AUTH);
export const refresh = (b: string, rt: string) =>
  post(b, '/token', { grant_type: 'refresh_token', refresh_token: rt }, WEB_AUTH);
export const introspect = (b: string, token: string) => post(b, '/introspect', { token }, SVC_AUTH);

// ---- a user agent over plain HTTP ----------------------------------------------------------------

/** A cookie jar and the redirects of a browser, without the browser. */
export class Agent {
  cookies = new Map<string, string>();
  private take(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i);
      const value = pair!.slice(i + 1);
      if (value === '' || /Max-Age=0/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      signal: AbortSignal.timeout(15_000),
      headers: {
        ...(init.headers as Record<string, string>),
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      },
    });
    this.take(res);
    return res;
  }
}

export interface Pkce {
  verifier: string;
  challenge: string;
  state: string;
}
export async function pkce(): Promise<Pkce> {
  const verifier = client.randomPKCECodeVerifier();
  return { verifier, challenge: await client.calculatePKCECodeChallenge(verifier), state: client.randomState() };
}

/**
 * Sends the agent to /authorize on instance `b`, signs in when the login page shows, and returns
 * the redirect to the client (whatever it carries: a code or an error).
 */
export async function authorize(b: string, agent: Agent, p: Pkce, extra: Record<string, string> = {}): Promise<URL> {
  const q = new URLSearchParams({
    client_id: 'web',
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid profile offline_access',
    state: p.state,
    code_challenge: p.challenge,
    code_challenge_method: 'S256',
    ...extra,
  });
  let res = await agent.request(`${b}/authorize?${q}`);
  for (let i = 0; i < 4; i++) {
    if (res.status !== 303)
      throw new Error(`expected a redirect, got ${res.status}: ${(await res.text()).slice(0, 300)}`);
    const location = res.headers.get('location')!;
    if (!location.startsWith(`${ISSUER}/interaction/`)) return new URL(location);
    const pageUrl = toBase(location, b);
    const page = await (await agent.request(pageUrl)).text();
    const csrf = /name="csrf"[^>]*value="([^"]+)"/.exec(page)?.[1];
    if (!csrf) throw new Error(`no form on the interaction page: ${page.slice(0, 300)}`);
    const step = page.includes('name="password"') ? 'login' : 'consent';
    const fields: Record<string, string> =
      step === 'login' ? { username: 'alice', password: PASSWORD, csrf } : { decision: 'allow', csrf };
    res = await agent.request(`${pageUrl}/${step}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }
  throw new Error('too many interaction steps');
}

/** openid-client's view of the server, with every endpoint on instance `b` (the issuer stays the shared one). */
export async function rp(b: string): Promise<client.Configuration> {
  const doc = (await (await fetch(`${b}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  const meta = Object.fromEntries(
    Object.entries(doc).map(([k, v]) => [k, k !== 'issuer' && typeof v === 'string' ? toBase(v, b) : v]),
  );
  const config = new client.Configuration(
    meta as client.ServerMetadata,
    'web',
    {},
    client.ClientSecretBasic(WEB_SECRET),
  );
  client.allowInsecureRequests(config);
  return config;
}

/** A code from instance `codeFrom`, redeemed with openid-client on instance `redeemAt`. */
export async function login(
  codeFrom: string,
  redeemAt: string,
  agent = new Agent(),
): Promise<client.TokenEndpointResponse & client.TokenEndpointResponseHelpers> {
  const p = await pkce();
  const callback = await authorize(codeFrom, agent, p);
  return client.authorizationCodeGrant(await rp(redeemAt), callback, {
    pkceCodeVerifier: p.verifier,
    expectedState: p.state,
  });
}

// ---- a bounded load ------------------------------------------------------------------------------

export type Kind = 'client_credentials' | 'refresh' | 'introspect';
export interface Outcome {
  kind: Kind;
  at: number;
  /**
   * 'ok' (200, as expected), 'unavailable' (503 temporarily_unavailable with Retry-After), 'network' (no answer),
   * 'other'.
   */
  result: 'ok' | 'unavailable' | 'network' | 'other';
  detail?: string;
  /** Refresh: the grant was refused right after a request on the same token got no answer (see Chain). */
  ambiguous?: boolean;
}

/** One refresh-token family driven by one worker: the token it holds now and what it has seen. */
export interface Chain {
  rt: string;
  /** The last refresh token answered with 200 (or the first one). */
  lastConfirmed: string;
  /**
   * True after a refresh that got no answer (503 or a dropped connection) was then refused with
   * invalid_grant on retry: that refresh had rotated the token and its answer was lost, so the
   * retry was a replay and the family was revoked, as reuse detection does by design.
   */
  lostRotation: boolean;
  accessTokens: string[];
}

export interface LoadReport {
  outcomes: Outcome[];
  ccTokens: string[];
  chains: Chain[];
}

function classify(kind: Kind, a: Answer, expectActive = false): Outcome {
  const at = Date.now();
  if (a.status === 200) {
    if (expectActive && a.body.active !== true)
      return { kind, at, result: 'other', detail: `introspection: ${JSON.stringify(a.body)}` };
    return { kind, at, result: 'ok' };
  }
  if (
    a.status === 503 &&
    a.body.error === 'temporarily_unavailable' &&
    a.headers.get('retry-after') &&
    a.headers.get('content-type')?.startsWith('application/json')
  ) {
    return { kind, at, result: 'unavailable' };
  }
  return { kind, at, result: 'other', detail: `${a.status} ${JSON.stringify(a.body)}` };
}

/**
 * Runs `workers` loops per kind against the instances in `bases` (round robin) until stop():
 * client_credentials tokens, refreshes along each chain, introspection of tokens already issued.
 */
export function startLoad(bases: () => string[], chains: Chain[], workers = 2): { stop(): Promise<LoadReport> } {
  const outcomes: Outcome[] = [];
  const ccTokens: string[] = [];
  let running = true;
  let turn = 0;
  const pick = () => {
    const list = bases();
    return list[turn++ % list.length]!;
  };
  const pause = () => new Promise((r) => setTimeout(r, 5));
  const attempt = async (kind: Kind, f: () => Promise<Answer>, expectActive = false): Promise<Answer | undefined> => {
    try {
      const a = await f();
      outcomes.push(classify(kind, a, expectActive));
      return a;
    } catch (err) {
      outcomes.push({ kind, at: Date.now(), result: 'network', detail: String((err as Error).cause ?? err) });
      await new Promise((r) => setTimeout(r, 50));
      return undefined;
    }
  };
  const loops: Promise<void>[] = [];
  for (let w = 0; w < workers; w++) {
    loops.push(
      (async () => {
        while (running) {
          const a = await attempt('client_credentials', () => clientCredentials(pick()));
          if (a?.status === 200) ccTokens.push(a.body.access_token as string);
          await pause();
        }
      })(),
    );
    loops.push(
      (async () => {
        while (running) {
          const pool = ccTokens.length ? ccTokens : chains.flatMap((c) => c.accessTokens);
          if (pool.length)
            await attempt('introspect', () => introspect(pick(), pool[Math.floor(Math.random() * pool.length)]!), true);
          await pause();
        }
      })(),
    );
  }
  for (const chain of chains) {
    loops.push(
      (async () => {
        let unanswered = false;
        while (running && !chain.lostRotation) {
          const a = await attempt('refresh', () => refresh(pick(), chain.rt));
          if (a?.status === 200) {
            chain.rt = chain.lastConfirmed = a.body.refresh_token as string;
            chain.accessTokens.push(a.body.access_token as string);
            unanswered = false;
          } else if (a?.status === 400 && a.body.error === 'invalid_grant' && unanswered) {
            chain.lostRotation = true;
            outcomes[outcomes.length - 1] = { ...outcomes[outcomes.length - 1]!, ambiguous: true };
          } else if (!a || a.status === 503) {
            unanswered = true;
          }
          await pause();
        }
      })(),
    );
  }
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return { outcomes, ccTokens, chains };
    },
  };
}

/** Fresh refresh-token chains: one login, then silent authorizations (prompt=none) on the same session. */
export async function makeChains(b: string, n: number): Promise<{ chains: Chain[]; agent: Agent }> {
  const agent = new Agent();
  const config = await rp(b);
  const chains: Chain[] = [];
  for (let i = 0; i < n; i++) {
    const p = await pkce();
    const callback = await authorize(b, agent, p, i === 0 ? {} : { prompt: 'none' });
    const t = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: p.verifier,
      expectedState: p.state,
    });
    chains.push({
      rt: t.refresh_token!,
      lastConfirmed: t.refresh_token!,
      lostRotation: false,
      accessTokens: [t.access_token],
    });
  }
  return { chains, agent };
}

export { until } from '../fixtures/until.ts';

/**
 * What the database holds for a refresh token (by its hash): nothing, or its state and whether
 * its family is still valid with an unused token in it.
 */
export async function refreshTokenRecord(
  databaseUrl: string,
  rt: string,
): Promise<{ found: boolean; used: boolean; familyRevoked: boolean; familyHasUnused: boolean }> {
  const handle = await openDatabase(databaseUrl);
  try {
    const row = await handle.db
      .selectFrom('refresh_tokens')
      .selectAll()
      .where('token_hash', '=', timeOrderedKey(rt))
      .executeTakeFirst();
    if (!row) return { found: false, used: false, familyRevoked: false, familyHasUnused: false };
    const grant = await handle.db
      .selectFrom('grants')
      .select('revoked_at')
      .where('id', '=', row.grant_id)
      .executeTakeFirstOrThrow();
    const unused = await handle.db
      .selectFrom('refresh_tokens')
      .select(sql<number>`count(*)`.as('n'))
      .where('grant_id', '=', row.grant_id)
      .where('used_at', 'is', null)
      .executeTakeFirstOrThrow();
    return {
      found: true,
      used: row.used_at !== null,
      familyRevoked: grant.revoked_at !== null,
      familyHasUnused: Number(unused.n) > 0,
    };
  } finally {
    await handle.close();
  }
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the tessera CLI on `databaseUrl` (development mode: the same built-in key-encryption key as the instances). */
export function runCli(args: string[], databaseUrl: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', TESSERA_ENV: 'development', DATABASE_URL: databaseUrl },
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.on('error', reject).on('close', (code) => resolve({ code, out }));
  });
}

// The CLI's remote mode: `tessera login --remote URL` signs a person in to another Tessera with the
// device flow (RFC 8628) as the built-in public client `tessera-cli`, asking for every admin scope for
// the admin audience (the server grants what the person's admin role holds), and keeps the token in a
// file only the user can read; commands run with --remote (or TESSERA_REMOTE_URL) then call that
// Tessera's admin API through openapi-fetch, typed by the paths and operations generated from its
// OpenAPI document (admin-api.d.ts, `npm run openapi`). No refresh token: when the token expires the
// person signs in again.
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import createClient from 'openapi-fetch';
import { ActionRefused, type AdminAction } from '../admin/action.ts';
import { AdminError } from '../admin/errors.ts';
import { ADMIN_SCOPES, adminAudience } from '../protocol/admin-scopes.ts';
import type { paths } from './admin-api.d.ts';
import { print, progress, warn } from './cli.ts';

/** What an action answered, here or through the admin API. */
export interface Answer<T = unknown> {
  result: T;
  etag?: string;
  status: number;
}

/** The built-in public client of the CLI's device flow (provisioned by the server). */
export const CLI_CLIENT_ID = 'tessera-cli';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** A person's sign-in to one Tessera, as kept in the credentials file. */
export interface RemoteLogin {
  issuer: string;
  access_token: string;
  token_type: string;
  /** Epoch seconds. */
  expires_at: number;
  scope: string;
  client_id: string;
}

interface CredentialsFile {
  /** The Tessera `--remote` means when TESSERA_REMOTE_URL does not say. */
  current?: string;
  logins: Record<string, RemoteLogin>;
}

/** $XDG_CONFIG_HOME/tessera/credentials.json (else ~/.config/tessera/credentials.json). */
export function credentialsPath(): string {
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'tessera', 'credentials.json');
}

function readCredentials(): CredentialsFile {
  const path = credentialsPath();
  let text: string;
  try {
    // A token file others can read is refused, as ssh refuses such a key: they could have taken the token.
    if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0)
      throw new AdminError(`${path} may be read by other users: remove it (tessera logout --remote) and log in again`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { logins: {} };
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as CredentialsFile;
    return { ...parsed, logins: parsed.logins ?? {} };
  } catch {
    throw new AdminError(`${path} is not valid JSON: remove it and log in again`);
  }
}

/** Writes the file readable by its owner only (0600, in a 0700 folder), replacing it whole. */
function writeCredentials(file: CredentialsFile): void {
  const path = credentialsPath();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** An issuer URL as given (no trailing slash); https, or http to this machine only. */
export function issuerUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AdminError(`${text} is not a URL (give the issuer, e.g. https://id.example.com)`);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw new AdminError(`${text}: the admin API is reached over https only (http to this machine's loopback aside)`);
  if (url.search || url.hash || url.username || url.password)
    throw new AdminError(`${text}: an issuer has no query, fragment or credentials`);
  return url.href.replace(/\/+$/, '');
}

/** The Tessera and token commands use in remote mode, or why there is none. */
export function remoteTarget(): { issuer: string; token: string } {
  const env = process.env.TESSERA_REMOTE_URL;
  const envToken = process.env.TESSERA_REMOTE_TOKEN;
  // An automation's token (client_credentials) or the break-glass token, given with the URL.
  if (env && envToken) return { issuer: issuerUrl(env), token: envToken };
  const file = readCredentials();
  const issuer = env ? issuerUrl(env) : file.current;
  if (!issuer) throw new AdminError('not logged in to a remote Tessera: run tessera login --remote ISSUER-URL');
  const login = file.logins[issuer];
  if (!login) throw new AdminError(`not logged in to ${issuer}: run tessera login --remote ${issuer}`);
  if (login.expires_at <= Math.floor(Date.now() / 1000))
    throw new AdminError(`your admin token for ${issuer} has expired: run tessera login --remote ${issuer} again`);
  return { issuer, token: login.access_token };
}

/** A problem answer of the admin API (RFC 9457) as the CLI reports it. */
function problemError(issuer: string, status: number, problem: { code?: string; detail?: string } | undefined) {
  const detail = problem?.detail ?? `the admin API answered ${status}`;
  if (status === 401 && problem?.code !== 'reauthentication_required')
    return new AdminError(
      `${issuer} no longer accepts your admin token (${detail}): run tessera login --remote ${issuer} again`,
    );
  if (status === 401) return new AdminError(`${detail} Run tessera login --remote ${issuer} again.`);
  if (status === 400 && problem?.code === 'invalid_input') return new ActionRefused(400, 'invalid_input', detail);
  return new AdminError(detail);
}

/**
 * Runs an action through the admin API: path parameters from the input, the rest as the query (GET,
 * DELETE) or the JSON body, as the OpenAPI document (http/admin-openapi.ts) splits them.
 */
export async function remoteExecute<T>(
  action: AdminAction,
  input: Record<string, unknown>,
  opts: { ifMatch?: string } = {},
): Promise<Answer<T>> {
  if (!action.http)
    throw new AdminError(`${action.name} is not served by the admin API (${action.consoleOnly ?? 'console only'})`);
  const { issuer, token } = remoteTarget();
  const client = createClient<paths>({
    baseUrl: `${issuer}/admin/api/v1`,
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    // The API never redirects: a redirect would be someone else's answer, and must not get the token.
    redirect: 'error',
  });
  const inPath = [...action.http.path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!);
  const path: Record<string, string> = {};
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) {
    if (inPath.includes(k)) path[k] = String(v);
    else if (v !== undefined) rest[k] = v;
  }
  for (const k of inPath) if (path[k] === undefined) throw new ActionRefused(400, 'invalid_input', `${k}: Required`);
  const method = action.http.method;
  const inQuery = method === 'GET' || method === 'DELETE';
  const query = inQuery
    ? Object.fromEntries(
        Object.entries(rest).map(([k, v]) => [k, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)]),
      )
    : undefined;
  // The operation is chosen at run time from the table: its path and method are those the generated types have
  // (OperationName in admin.ts); the request's shape is the document's.
  const request = client.request as unknown as (
    m: string,
    url: string,
    init: Record<string, unknown>,
  ) => Promise<{ data?: string; error?: unknown; response: Response }>;
  const show = progress();
  show.update(`${method} ${issuer}/admin/api/v1${action.http.path}...`);
  let answer: { data?: string; error?: unknown; response: Response };
  try {
    answer = await request(method.toLowerCase(), action.http.path, {
      params: { path, ...(query && Object.keys(query).length ? { query } : {}) },
      ...(!inQuery && Object.keys(rest).length ? { body: rest } : {}),
      ...(opts.ifMatch !== undefined ? { headers: { 'if-match': opts.ifMatch } } : {}),
      parseAs: 'text',
    });
  } catch (err) {
    throw new AdminError(`cannot reach ${issuer}: ${(err as Error).cause ?? (err as Error).message}`);
  } finally {
    show.done();
  }
  const { response } = answer;
  const type = response.headers.get('content-type') ?? '';
  if (!response.ok) {
    // openapi-fetch read the problem (JSON, else its text).
    const problem =
      typeof answer.error === 'object' && answer.error !== null
        ? (answer.error as { code?: string; detail?: string })
        : undefined;
    throw problemError(issuer, response.status, problem);
  }
  const text = answer.data ?? '';
  const etag = response.headers.get('etag') ?? undefined;
  let result: unknown;
  if (response.status === 204 || text === '') result = undefined;
  else if (/^application\/json/i.test(type)) result = JSON.parse(text);
  else result = { contentType: type, body: text };
  return { result: result as T, status: response.status, ...(etag ? { etag } : {}) };
}

// ---- the device flow ----------------------------------------------------------------------------------------

async function postForm(
  url: string,
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form),
      redirect: 'error',
    });
  } catch (err) {
    throw new AdminError(`cannot reach ${url}: ${(err as Error).cause ?? (err as Error).message}`);
  }
  let body: Record<string, unknown> = {};
  try {
    body = (await res.json()) as Record<string, unknown>;
  } catch {
    body = {};
  }
  return { status: res.status, body };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The server's endpoints, from its discovery document (its issuer must be the one asked for). */
async function endpoints(issuer: string): Promise<{ device: string; token: string }> {
  let meta: Record<string, unknown>;
  try {
    const res = await fetch(`${issuer}/.well-known/openid-configuration`, { redirect: 'error' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    meta = (await res.json()) as Record<string, unknown>;
  } catch (err) {
    throw new AdminError(
      `cannot read the discovery document of ${issuer}: ${(err as Error).cause ?? (err as Error).message}`,
    );
  }
  if (meta.issuer !== issuer)
    throw new AdminError(`${issuer} says its issuer is ${String(meta.issuer)}: log in with that URL`);
  const device = meta.device_authorization_endpoint;
  const token = meta.token_endpoint;
  if (typeof device !== 'string')
    throw new AdminError(`${issuer} does not offer the device flow (its TESSERA_FEATURES turn device_flow off)`);
  if (typeof token !== 'string') throw new AdminError(`${issuer} names no token endpoint`);
  for (const u of [device, token])
    if (new URL(u).origin !== new URL(issuer).origin)
      throw new AdminError(`${issuer} names an endpoint of another origin (${u}): refusing to send it a token request`);
  return { device, token };
}

/** `tessera login --remote URL`: the device flow, then the token kept for the CLI's remote mode. */
export async function login(issuerText: string, clientId = CLI_CLIENT_ID): Promise<RemoteLogin> {
  const issuer = issuerUrl(issuerText);
  const { device, token } = await endpoints(issuer);
  const started = await postForm(device, {
    client_id: clientId,
    scope: ADMIN_SCOPES.join(' '),
    resource: adminAudience(issuer),
  });
  if (started.status !== 200) {
    const e = started.body;
    throw new AdminError(
      `${issuer} refused to start the sign-in: ${String(e.error ?? started.status)}${e.error_description ? ` (${String(e.error_description)})` : ''}`,
    );
  }
  const d = started.body as {
    device_code?: string;
    user_code?: string;
    verification_uri?: string;
    verification_uri_complete?: string;
    expires_in?: number;
    interval?: number;
  };
  if (!d.device_code || !d.user_code || !d.verification_uri)
    throw new AdminError(`${issuer} answered the device authorization without a code`);
  print(
    `To sign in, open ${d.verification_uri} and enter the code ${d.user_code}` +
      (d.verification_uri_complete ? `\n(or open ${d.verification_uri_complete})` : ''),
  );
  let interval = Math.max(1, d.interval ?? 5);
  const deadline = Date.now() + (d.expires_in ?? 600) * 1000;
  const show = progress();
  try {
    for (;;) {
      const left = Math.round((deadline - Date.now()) / 1000);
      if (left <= 0) throw new AdminError('the code expired before the sign-in was approved: run tessera login again');
      show.update(`waiting for the sign-in to be approved (${left}s left)...`);
      await sleep(interval * 1000);
      const r = await postForm(token, { grant_type: DEVICE_GRANT, device_code: d.device_code, client_id: clientId });
      if (r.status === 200) {
        const t = r.body as { access_token?: string; token_type?: string; expires_in?: number; scope?: string };
        if (typeof t.access_token !== 'string') throw new AdminError(`${issuer} answered without an access token`);
        const saved: RemoteLogin = {
          issuer,
          access_token: t.access_token,
          token_type: t.token_type ?? 'Bearer',
          expires_at: Math.floor(Date.now() / 1000) + (t.expires_in ?? 300),
          scope: t.scope ?? '',
          client_id: clientId,
        };
        const file = readCredentials();
        file.logins[issuer] = saved;
        file.current = issuer;
        writeCredentials(file);
        return saved;
      }
      const error = String(r.body.error ?? '');
      if (error === 'authorization_pending') continue;
      if (error === 'slow_down') {
        interval += 5;
        continue;
      }
      if (error === 'access_denied') throw new AdminError('the sign-in was refused');
      if (error === 'expired_token')
        throw new AdminError('the code expired before the sign-in was approved: run tessera login again');
      throw new AdminError(
        `${issuer} refused the token: ${error || r.status}${r.body.error_description ? ` (${String(r.body.error_description)})` : ''}`,
      );
    }
  } finally {
    show.done();
  }
}

/** `tessera logout --remote [URL]`: forgets the token of that Tessera (the current one when none is named). */
export function logout(issuerText?: string): string | undefined {
  const file = readCredentials();
  const env = process.env.TESSERA_REMOTE_URL;
  const issuer = issuerText ? issuerUrl(issuerText) : env ? issuerUrl(env) : file.current;
  if (!issuer || !file.logins[issuer]) return undefined;
  delete file.logins[issuer];
  if (file.current === issuer) delete file.current;
  if (Object.keys(file.logins).length) writeCredentials(file);
  else rmSync(credentialsPath(), { force: true });
  return issuer;
}

/** For `tessera login --remote URL`: what was granted. */
export function describeLogin(l: RemoteLogin): string {
  const scopes = l.scope.split(' ').filter(Boolean);
  const until = new Date(l.expires_at * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  if (!scopes.length) warn('warning: the token holds no admin scope: your account has no admin role there');
  return `logged in to ${l.issuer} until ${until} with ${scopes.length} admin scope(s): ${scopes.join(' ')}\nthe token is kept in ${credentialsPath()} (readable by you only)`;
}

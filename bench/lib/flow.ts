// One complete authorization-code + PKCE flow as a browser without JavaScript would do it:
// authorize, follow redirects, fill in the login form (password), allow on the consent page,
// read the code from the redirect to the client, redeem it at the token endpoint. Cookies are
// kept per flow; forms are parsed for their action and hidden fields (csrf, uid, ...).
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { basicAuth, type BenchClient } from './fixtures.ts';
import { passkeyAnswer, passkeyForm, type BenchPasskey } from './passkey.ts';

export interface FlowTarget {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  client: BenchClient;
  redirectUri: string;
  user: { username: string; password: string };
  /** Sign in with this passkey (the login page's passkey form) instead of the password. */
  passkey?: BenchPasskey;
}

export interface FlowResult {
  /** The parsed token response. */
  tokens: {
    access_token: string;
    refresh_token?: string;
    id_token?: string;
    token_type: string;
    expires_in?: number;
    scope?: string;
  };
  nonce: string;
  /** HTTP requests the flow made. */
  requests: number;
}

export class FlowError extends Error {
  constructor(step: string, detail: string) {
    super(`${step}: ${detail}`);
    this.name = 'FlowError';
  }
}

/** Cookies of one browser for one host; paths are ignored (every flow is short and on one server). */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';');
      const i = pair!.indexOf('=');
      if (i <= 0) continue;
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      const expired = attrs.some((a) => {
        const [k, v] = a.split('=').map((s) => s.trim());
        if (k!.toLowerCase() === 'max-age') return Number(v) <= 0;
        if (k!.toLowerCase() === 'expires') return Date.parse(v ?? '') <= Date.now();
        return false;
      });
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#')
      return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

export function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  return m ? decodeEntities(m[1] ?? m[2] ?? m[3] ?? '') : undefined;
}

export interface ParsedForm {
  action: string;
  hidden: Record<string, string>;
  hasPassword: boolean;
  /** Values of submit buttons named "decision" (consent pages). */
  decisions: string[];
}

/**
 * The first POST form of a page: its action, hidden inputs, whether it asks for a password, and its decision buttons.
 */
export function parseForm(html: string): ParsedForm | undefined {
  const m = /<form\b[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!m) return undefined;
  const formTag = /<form\b[^>]*>/i.exec(m[0])![0];
  const hidden: Record<string, string> = {};
  let hasPassword = false;
  const decisions: string[] = [];
  for (const tag of m[1]!.match(/<(input|button)\b[^>]*>/gi) ?? []) {
    const type = (attr(tag, 'type') ?? (tag.toLowerCase().startsWith('<button') ? 'submit' : 'text')).toLowerCase();
    const name = attr(tag, 'name');
    if (type === 'hidden' && name) hidden[name] = attr(tag, 'value') ?? '';
    if (type === 'password') hasPassword = true;
    if (type === 'submit' && name === 'decision') decisions.push(attr(tag, 'value') ?? '');
  }
  return { action: attr(formTag, 'action') ?? '', hidden, hasPassword, decisions };
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

const FORM = 'application/x-www-form-urlencoded';

/**
 * The browsers' HTTP client: undici's request API over keep-alive connections. The load
 * generator must outrun the servers it measures on one core; fetch() costs several times more
 * per request (WHATWG streams and headers), which capped the single sign-on scenario at the
 * driver's speed rather than the servers'.
 */
const agent = new Agent({ keepAliveTimeout: 30_000, connections: 64 });

interface Answer {
  status: number;
  location: string | undefined;
  setCookies: string[];
  text(): Promise<string>;
  discard(): Promise<void>;
}

async function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  const res = await request(url, { method: method as 'GET' | 'POST', headers, body, dispatcher: agent });
  const h = res.headers;
  const cookies = h['set-cookie'];
  const location = h.location;
  return {
    status: res.statusCode,
    location: Array.isArray(location) ? location[0] : location,
    setCookies: cookies === undefined ? [] : Array.isArray(cookies) ? cookies : [cookies],
    text: () => res.body.text(),
    discard: () => res.body.dump(),
  };
}

/**
 * How a flow runs. `jar`: the browser's cookies (a new browser without it). `sso`: the browser is
 * signed in and has consented already (a flow with `jar` did both), so the flow must go straight
 * from /authorize to the client with a code: any page shown on the way is an error.
 */
export interface FlowOptions {
  resource?: string;
  jar?: CookieJar;
  sso?: boolean;
}

/** Runs one flow; throws a FlowError naming the failing step. */
export async function codeFlow(t: FlowTarget, scope: string, opts: FlowOptions = {}): Promise<FlowResult> {
  const jar = opts.jar ?? new CookieJar();
  const { verifier, challenge } = pkce();
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const auth = new URL(t.authorizationEndpoint);
  const q: Record<string, string> = {
    response_type: 'code',
    client_id: t.client.id,
    redirect_uri: t.redirectUri,
    scope,
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  };
  // OIDC: offline_access needs prompt=consent; both servers then show login and consent. A single
  // sign-on flow sends no prompt: the session and the remembered consent answer at once.
  if (!opts.sso) q.prompt = 'consent';
  if (opts.resource) q.resource = opts.resource;
  for (const [k, v] of Object.entries(q)) auth.searchParams.set(k, v);

  let url = auth.href;
  let method = 'GET';
  let body: string | undefined;
  let requests = 0;
  let loggedIn = false;
  let consented = false;
  let callback: URL | undefined;
  for (let hop = 0; hop < 16 && !callback; hop++) {
    const headers: Record<string, string> = {};
    const cookie = jar.header();
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) headers['content-type'] = FORM;
    const res = await send(url, method, headers, body);
    requests++;
    jar.store(res.setCookies);
    const step = `${method} ${new URL(url).pathname}`;
    if (res.status >= 300 && res.status < 400) {
      await res.discard();
      const location = res.location;
      if (!location) throw new FlowError(step, `${res.status} without Location`);
      const next = new URL(location, url);
      if (next.href.startsWith(t.redirectUri)) callback = next;
      url = next.href;
      method = 'GET';
      body = undefined;
      continue;
    }
    const text = await res.text();
    if (res.status !== 200)
      throw new FlowError(step, `status ${res.status}: ${text.slice(0, 200).replace(/\s+/g, ' ')}`);
    if (opts.sso) throw new FlowError(step, 'a page was shown to a signed-in browser that had consented');
    const form = parseForm(text);
    if (!form) throw new FlowError(step, 'page without a form');
    let fields = new URLSearchParams(form.hidden);
    if (form.hasPassword && t.passkey) {
      if (loggedIn) throw new FlowError(step, 'login form shown again (passkey refused?)');
      const pk = passkeyForm(text, 'login');
      if (!pk) throw new FlowError(step, 'login page without a passkey form');
      fields = new URLSearchParams({ ...pk.hidden, response: passkeyAnswer(t.passkey, pk.options) });
      form.action = pk.action;
      loggedIn = true;
    } else if (form.hasPassword) {
      if (loggedIn) throw new FlowError(step, 'login form shown again (wrong password?)');
      fields.set('username', t.user.username);
      fields.set('password', t.user.password);
      loggedIn = true;
    } else if (form.decisions.includes('allow')) {
      if (consented) throw new FlowError(step, 'consent form shown again');
      fields.set('decision', 'allow');
      consented = true;
    } else {
      throw new FlowError(step, 'neither a login nor a consent form');
    }
    url = new URL(form.action || url, url).href;
    method = 'POST';
    body = fields.toString();
  }
  if (!callback) throw new FlowError('authorize', 'too many redirects');
  if (!opts.sso && (!loggedIn || !consented))
    throw new FlowError('authorize', `code issued without ${loggedIn ? 'consent' : 'login'}`);
  const p = callback.searchParams;
  if (p.get('error')) throw new FlowError('callback', `${p.get('error')}: ${p.get('error_description')}`);
  if (p.get('state') !== state) throw new FlowError('callback', 'state does not match');
  if (p.has('iss') && p.get('iss') !== t.issuer)
    throw new FlowError('callback', `iss ${p.get('iss')} is not ${t.issuer}`);
  const code = p.get('code');
  if (!code) throw new FlowError('callback', 'no code');

  // A public client (no secret) names itself in the body instead of authenticating.
  const pub = t.client.secret === '';
  const res = await send(
    t.tokenEndpoint,
    'POST',
    pub ? { 'content-type': FORM } : { authorization: basicAuth(t.client), 'content-type': FORM },
    new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: t.redirectUri,
      code_verifier: verifier,
      ...(pub ? { client_id: t.client.id } : {}),
    }).toString(),
  );
  requests++;
  const text = await res.text();
  if (res.status !== 200) throw new FlowError('token', `status ${res.status}: ${text.slice(0, 200)}`);
  const tokens = JSON.parse(text) as FlowResult['tokens'];
  if (typeof tokens.access_token !== 'string' || !tokens.access_token) throw new FlowError('token', 'no access_token');
  if (scope.split(' ').includes('offline_access') && typeof tokens.refresh_token !== 'string')
    throw new FlowError('token', 'no refresh_token');
  if (scope.split(' ').includes('openid') && typeof tokens.id_token !== 'string')
    throw new FlowError('token', 'no id_token');
  return { tokens, nonce, requests };
}

/** Runs `n` flows, `concurrency` at a time. */
export async function codeFlows(t: FlowTarget, scope: string, n: number, concurrency = 4): Promise<FlowResult[]> {
  const out: FlowResult[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      out.push(await codeFlow(t, scope));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return out;
}

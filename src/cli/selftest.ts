// `tessera selftest`: checks a running Tessera from outside (discovery consistent with behaviour,
// the RFC 9700 rules that can be seen from outside, TLS and cookies, /ready) and, when this CLI has
// the server's configuration, from inside (database and Redis reachability, signing key ages).
// Nothing is changed: only error paths are probed, and the authorization requests it starts expire.
import { createHash, randomBytes } from 'node:crypto';
import { checkServerIdentity, connect, type PeerCertificate } from 'node:tls';
import { openRedis } from '../adapters/redis/client.ts';
import type { Config } from '../config/config.ts';
import type { ClientRecord } from '../ports/clients.ts';
import type { SigningKeyRecord } from '../ports/keys.ts';
import { canonicalUrl, form, isObject, oauthError, probe, Report, seen, wellKnown, type Probe } from './checks.ts';
import { UsageError, type Command, type Ctx } from './cli.ts';
import { isLoopbackHost } from '../protocol/redirect-uri.ts';

/** What the CLI knows from inside, when its configuration is the server's. */
export interface Inside {
  config: Config;
  ping(): Promise<void>;
  keys(): Promise<SigningKeyRecord[]>;
  now(): number;
  /** Pings Redis (REDIS_URL); throws when unreachable. */
  redisPing?(): Promise<void>;
}

export interface SelftestOptions {
  issuer: string;
  inside?: Inside;
  /** A client that may use the authorization code flow, for the authorization endpoint's checks. */
  client?: { id: string; redirectUri: string; public: boolean; scope: string };
  /** A refresh token of a public client, to check rotation (it is used up). */
  refresh?: { token: string; clientId: string };
  timeoutMs?: number;
}

const isLoopback = (u: URL) => isLoopbackHost(u.hostname);
/** A key may be this late for its rotation (the schedule runs in every process, within minutes). */
const ROTATION_SLACK_S = 86_400;

/** The Set-Cookie lines of a response. */
const setCookies = (p: Probe): string[] => p.headers.getSetCookie();

/** A certificate this close to its end should have been renewed already. */
const RENEWAL_DAYS = 5;

/** The issuer's TLS certificate as a client sees it: trusted (chain and name) or why not, and its end. */
function peerCertificate(url: URL, timeoutMs: number): Promise<{ error?: string; validTo?: number; subject?: string }> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const ip = /^[\d.]+$|:/.test(host);
  return new Promise((resolve) => {
    const socket = connect({
      host,
      port: Number(url.port || 443),
      ...(ip ? {} : { servername: host }),
      rejectUnauthorized: false,
      timeout: timeoutMs,
    });
    const done = (v: { error?: string; validTo?: number; subject?: string }) => {
      socket.destroy();
      resolve(v);
    };
    socket.once('secureConnect', () => {
      const cert: PeerCertificate = socket.getPeerCertificate();
      const validTo = cert.valid_to ? Date.parse(cert.valid_to) : undefined;
      const subject = cert.subject?.CN ? String(cert.subject.CN) : undefined;
      if (!socket.authorized) return done({ error: String(socket.authorizationError), validTo, subject });
      const mismatch = checkServerIdentity(host, cert);
      done({ error: mismatch?.message, validTo, subject });
    });
    socket.once('timeout', () => done({ error: 'timeout' }));
    socket.once('error', (err: NodeJS.ErrnoException) => done({ error: err.code ?? err.message }));
  });
}

/** A random PKCE pair (RFC 7636 §4.1). */
function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export async function selftest(o: SelftestOptions): Promise<Report> {
  const r = new Report();
  const t = o.timeoutMs;
  const issuer = canonicalUrl(o.issuer)!;
  const issuerUrl = new URL(issuer);
  const https = issuerUrl.protocol === 'https:';
  const production = o.inside?.config.env === 'production';

  // ---- TLS
  const tlsSection = 'OAuth 2.1 §1.5; RFC 9700 §2.6';
  if (https) r.check('https-issuer', 'MUST', tlsSection, true, `${issuer} is https`);
  else if (isLoopback(issuerUrl) && !production)
    r.skip('https-issuer', 'MUST', tlsSection, `${issuer} is http on loopback (development only)`);
  else r.check('https-issuer', 'MUST', tlsSection, false, `${issuer} is not https`);

  if (https) {
    const tls = await peerCertificate(issuerUrl, t ?? 10_000);
    const days = tls.validTo !== undefined ? (tls.validTo - Date.now()) / 86_400_000 : undefined;
    r.check(
      'tls-certificate',
      'MUST',
      'RFC 9325 §3; RFC 9110 §4.3.4',
      !tls.error,
      tls.error
        ? `the certificate of ${issuerUrl.host} is not trusted: ${tls.error}`
        : `a trusted certificate for ${issuerUrl.hostname}, valid for ${Math.floor(days ?? 0)} more day(s)`,
    );
    if (!tls.error && days !== undefined)
      r.check(
        'tls-certificate-renewal',
        'SHOULD',
        'RFC 9325 §3',
        days > RENEWAL_DAYS,
        days > RENEWAL_DAYS
          ? `expires in ${Math.floor(days)} days`
          : `expires in ${Math.max(0, Math.floor(days * 24))} hours: renew it`,
      );
  }

  // ---- Discovery
  const discoveryUrl = `${issuer}/.well-known/openid-configuration`;
  const disco = await probe(discoveryUrl, { timeoutMs: t });
  const meta = disco.status === 200 && isObject(disco.json) ? disco.json : undefined;
  const sameIssuer = meta !== undefined && typeof meta.issuer === 'string' && canonicalUrl(meta.issuer) === issuer;
  r.check(
    'discovery',
    'MUST',
    'OpenID Connect Discovery §4; RFC 8414 §3.3',
    sameIssuer,
    sameIssuer
      ? `${discoveryUrl} names the issuer`
      : meta
        ? `${discoveryUrl} names the issuer ${JSON.stringify(meta.issuer)}, not ${issuer}`
        : `${discoveryUrl}: ${seen(disco)}`,
  );
  const hsts = disco.headers.get('strict-transport-security');
  if (https && !hsts && o.inside && !production)
    r.skip(
      'hsts',
      'SHOULD',
      'RFC 6797 §6.1; RFC 9700 §2.6',
      'no Strict-Transport-Security: development mode sends none',
    );
  else if (https) {
    r.check(
      'hsts',
      'SHOULD',
      'RFC 6797 §6.1; RFC 9700 §2.6',
      !!hsts && /max-age=\d+/i.test(hsts),
      hsts ? `Strict-Transport-Security: ${hsts}` : 'no Strict-Transport-Security header',
    );
  }
  const oauthUrl = wellKnown(issuer, 'oauth-authorization-server');
  const oauthMeta = await probe(oauthUrl, { timeoutMs: t });
  const oauthSame =
    oauthMeta.status === 200 && isObject(oauthMeta.json) && canonicalUrl(String(oauthMeta.json.issuer)) === issuer;
  r.check(
    'discovery-rfc8414',
    'SHOULD',
    'RFC 8414 §3',
    oauthSame,
    oauthSame ? `${oauthUrl} names the issuer` : `${oauthUrl}: ${seen(oauthMeta)}`,
  );
  const m: Record<string, unknown> = meta ?? {};
  const list = (k: string): string[] =>
    Array.isArray(m[k]) ? (m[k] as unknown[]).filter((v): v is string => typeof v === 'string') : [];
  const endpoint = (k: string) => (typeof m[k] === 'string' ? (m[k] as string) : undefined);

  // ---- Every advertised endpoint answers (an error for an empty request, never a 404 or a 5xx).
  const answers = (p: Probe, expected: number[]) => p.status !== 0 && expected.includes(p.status);
  const empty = (url: string) =>
    probe(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
      timeoutMs: t,
    });
  const endpoints: [string, (url: string) => Promise<Probe>, number[]][] = [
    ['authorization_endpoint', (u) => probe(u, { timeoutMs: t }), [400]],
    ['token_endpoint', (u) => empty(u), [400, 401]],
    ['userinfo_endpoint', (u) => probe(u, { timeoutMs: t }), [401]],
    ['jwks_uri', (u) => probe(u, { timeoutMs: t }), [200]],
    ['introspection_endpoint', (u) => empty(u), [400, 401]],
    ['revocation_endpoint', (u) => empty(u), [400, 401]],
    ['pushed_authorization_request_endpoint', (u) => empty(u), [400, 401]],
    ['device_authorization_endpoint', (u) => empty(u), [400, 401]],
    // A body no registration can come from (redirect_uris must be a list), so nothing is stored.
    [
      'registration_endpoint',
      (u) =>
        probe(u, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ redirect_uris: 'selftest:not-a-list' }),
          timeoutMs: t,
        }),
      [400, 401, 403],
    ],
    ['end_session_endpoint', (u) => probe(u, { timeoutMs: t }), [200, 400]],
  ];
  let jwks: Probe | undefined;
  for (const [name, call, expected] of endpoints) {
    const url = endpoint(name);
    const id = `endpoint-${name.replace(/_endpoint$|_uri$/, '').replace(/_/g, '-')}`;
    if (!url) {
      r.skip(id, 'MUST', 'RFC 8414 §2', `${name} is not advertised`);
      continue;
    }
    const p = await call(url);
    if (name === 'jwks_uri') jwks = p;
    const sameOrigin = new URL(url).origin === issuerUrl.origin;
    r.check(
      id,
      'MUST',
      'RFC 8414 §2; OpenID Connect Discovery §3',
      answers(p, expected) && sameOrigin,
      !sameOrigin
        ? `${name} ${url} is not on the issuer's origin`
        : answers(p, expected)
          ? `${url} answers an empty request with HTTP ${p.status}`
          : `${url}: ${seen(p)}, expected ${expected.join(' or ')}`,
    );
  }

  // ---- The key set: public keys only, one for each advertised signing algorithm.
  const jwksSection = 'RFC 7517 §5; RFC 8414 §2 (jwks_uri)';
  if (!jwks || jwks.status !== 200) r.skip('jwks-keys', 'MUST', jwksSection, 'no key set');
  else {
    const keys = isObject(jwks.json) && Array.isArray(jwks.json.keys) ? jwks.json.keys.filter(isObject) : [];
    const secret = keys.filter((k) => ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((f) => f in k));
    const algs = list('id_token_signing_alg_values_supported').filter((a) => a !== 'none');
    const missing = algs.filter((a) => !keys.some((k) => k.alg === a && (k.use === undefined || k.use === 'sig')));
    r.check(
      'jwks-keys',
      'MUST',
      jwksSection,
      keys.length > 0 && secret.length === 0 && missing.length === 0,
      secret.length
        ? `${secret.length} key(s) with private or symmetric members in the JWKS`
        : !keys.length
          ? 'the JWKS has no keys'
          : missing.length
            ? `no published key for ${missing.join(', ')} (advertised for ID tokens)`
            : `${keys.length} public key(s), covering ${algs.join(', ')}`,
    );
  }

  // ---- RFC 9700 from outside: grants.
  const token = endpoint('token_endpoint');
  const grants = list('grant_types_supported');
  const tokenCall = (fields: Record<string, string>) =>
    probe(token!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form(fields),
      timeoutMs: t,
    });
  if (!token) {
    r.skip('grant-unknown', 'MUST', 'RFC 6749 §5.2', 'no token endpoint');
    r.skip('no-ropc', 'MUST', 'RFC 9700 §2.4', 'no token endpoint');
  } else {
    const unknown = await tokenCall({ grant_type: 'urn:tessera:selftest:unknown-grant', client_id: 'selftest' });
    r.check(
      'grant-unknown',
      'MUST',
      'RFC 6749 §5.2',
      unknown.status === 400 && oauthError(unknown) === 'unsupported_grant_type',
      `an unknown grant type got ${seen(unknown)} ${oauthError(unknown) ?? ''}`,
    );
    const ropc = await tokenCall({
      grant_type: 'password',
      username: 'selftest',
      password: 'selftest',
      client_id: 'selftest',
    });
    const refused = ropc.status === 400 && oauthError(ropc) === 'unsupported_grant_type';
    r.check(
      'no-ropc',
      'MUST',
      'RFC 9700 §2.4',
      refused && !grants.includes('password'),
      grants.includes('password')
        ? 'grant_types_supported lists password'
        : `the password grant got ${seen(ropc)} ${oauthError(ropc) ?? ''}`,
    );
  }
  // Every advertised grant type is understood (an error about the request or the client, never
  // unsupported_grant_type), and an unknown client is refused as RFC 6749 §5.2 says.
  if (token) {
    const misfits: string[] = [];
    for (const g of grants.filter((g) => g !== 'password')) {
      const p = await tokenCall({ grant_type: g, client_id: 'selftest-unknown-client' });
      if (p.status === 200 || p.status === 0 || p.status >= 500 || oauthError(p) === 'unsupported_grant_type')
        misfits.push(`${g}: ${seen(p)} ${oauthError(p) ?? ''}`.trim());
    }
    r.check(
      'grant-types-advertised',
      'MUST',
      'RFC 8414 §2 (grant_types_supported); RFC 6749 §5.2',
      grants.length > 0 && misfits.length === 0,
      misfits.length
        ? `an advertised grant type does not behave: ${misfits[0]}`
        : grants.length
          ? `${grants.length} advertised grant type(s), each understood`
          : 'no grant_types_supported advertised',
    );
    const basic = await probe(token, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('selftest-unknown-client:wrong').toString('base64')}`,
      },
      body: form({ grant_type: 'client_credentials' }),
      timeoutMs: t,
    });
    const challenged = /^Basic\b/i.test(basic.headers.get('www-authenticate') ?? '');
    r.check(
      'client-auth-unknown',
      'MUST',
      'RFC 6749 §5.2 (invalid_client)',
      basic.status === 401 && oauthError(basic) === 'invalid_client' && challenged,
      `an unknown client with HTTP Basic got ${seen(basic)}${oauthError(basic) ? ` ${oauthError(basic)}` : ''}` +
        (challenged ? ' with a Basic challenge' : ', no Basic challenge'),
    );
  }
  const responseTypes = list('response_types_supported');
  const implicit = responseTypes.filter((t) => t.split(' ').includes('token'));
  const methods = list('code_challenge_methods_supported');

  // ---- RFC 9700 from outside: the authorization endpoint, with a real client.
  const authz = endpoint('authorization_endpoint');
  const c = o.client;
  const authorize = (params: Record<string, string | undefined>) =>
    probe(
      `${authz}?${form({ client_id: c!.id, redirect_uri: c!.redirectUri, scope: c!.scope, state: 'selftest', ...params })}`,
      {
        timeoutMs: t,
      },
    );
  /** The parameters of a redirect to the client's redirect URI, or undefined when not redirected there. */
  const redirected = (p: Probe): URLSearchParams | undefined => {
    const loc = p.headers.get('location');
    if (p.status < 300 || p.status > 399 || !loc) return undefined;
    const u = new URL(loc, p.url);
    if (`${u.origin}${u.pathname}` !== c!.redirectUri.replace(/[?#].*$/, '')) return undefined;
    return new URLSearchParams(u.search);
  };
  const implicitSection = 'RFC 9700 §2.1.2';
  const pkceSection = 'RFC 9700 §2.1.1; OAuth 2.1 §4.1.1';
  const exactSection = 'RFC 9700 §2.1, §4.1.3';
  const issSection = 'RFC 9207 §2; RFC 9700 §4.4.2';
  if (!authz || !c) {
    const why = !authz ? 'no authorization endpoint' : 'needs a client: --client-id and --redirect-uri';
    r.check(
      'no-implicit',
      'MUST',
      implicitSection,
      implicit.length === 0,
      implicit.length
        ? `response_types_supported lists ${implicit.join(', ')}`
        : `no token response type advertised (${why})`,
    );
    r.check(
      'pkce-plain-refused',
      'MUST',
      pkceSection,
      methods.length > 0 && !methods.includes('plain'),
      methods.includes('plain')
        ? 'code_challenge_methods_supported lists plain'
        : `code_challenge_methods_supported: ${JSON.stringify(methods)} (${why})`,
    );
    r.skip('pkce-required', 'MUST', pkceSection, why);
    r.skip('redirect-uri-exact', 'MUST', exactSection, why);
    r.skip('iss-in-response', 'MUST', issSection, why);
  } else {
    const { challenge } = pkce();
    const asToken = await authorize({
      response_type: 'token',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const tokenErr = redirected(asToken)?.get('error');
    const tokenRefused = asToken.status === 400 || tokenErr === 'unsupported_response_type';
    r.check(
      'no-implicit',
      'MUST',
      implicitSection,
      implicit.length === 0 && tokenRefused && !redirected(asToken)?.has('access_token'),
      implicit.length
        ? `response_types_supported lists ${implicit.join(', ')}`
        : tokenRefused
          ? `response_type=token is refused (${tokenErr ?? `HTTP ${asToken.status}`})`
          : `response_type=token got ${seen(asToken)}`,
    );
    const plain = await authorize({ response_type: 'code', code_challenge: challenge, code_challenge_method: 'plain' });
    const plainErr = redirected(plain)?.get('error');
    r.check(
      'pkce-plain-refused',
      'MUST',
      pkceSection,
      !methods.includes('plain') && plainErr === 'invalid_request',
      methods.includes('plain')
        ? 'code_challenge_methods_supported lists plain'
        : plainErr
          ? `code_challenge_method=plain is refused (${plainErr})`
          : `code_challenge_method=plain got ${seen(plain)} without an error redirect`,
    );
    const without = await authorize({ response_type: 'code' });
    const withoutParams = redirected(without);
    const withoutErr = withoutParams?.get('error');
    if (!c.public) r.skip('pkce-required', 'MUST', pkceSection, `${c.id} is not a public client`);
    else
      r.check(
        'pkce-required',
        'MUST',
        pkceSection,
        withoutErr === 'invalid_request',
        withoutErr
          ? `a request without code_challenge is refused (${withoutErr})`
          : `a request without code_challenge got ${seen(without)} without an error redirect`,
      );
    const errorRedirect = [withoutParams, redirected(plain)].find((p) => p?.has('error'));
    if (!errorRedirect) r.skip('iss-in-response', 'MUST', issSection, 'no error redirect to look at');
    else {
      const iss = errorRedirect.get('iss');
      r.check(
        'iss-in-response',
        m.authorization_response_iss_parameter_supported === true ? 'MUST' : 'SHOULD',
        issSection,
        iss !== null && canonicalUrl(iss) === issuer,
        iss === null ? 'an authorization error response has no iss' : `iss=${iss}`,
      );
    }
    // An altered redirect URI: shown an error page, never redirected to.
    const altered = new URL(c.redirectUri);
    altered.pathname = `${altered.pathname.replace(/\/$/, '')}/selftest-altered`;
    const variants = [altered.href, `${c.redirectUri}${c.redirectUri.includes('?') ? '&' : '?'}selftest=1`];
    const leaks: string[] = [];
    for (const v of variants) {
      const p = await probe(
        `${authz}?${form({ client_id: c.id, redirect_uri: v, scope: c.scope, response_type: 'code', state: 'selftest', code_challenge: challenge, code_challenge_method: 'S256' })}`,
        { timeoutMs: t },
      );
      const loc = p.headers.get('location');
      if (p.status !== 400 || (loc && loc.startsWith(v))) leaks.push(`${v}: ${seen(p)}${loc ? ` to ${loc}` : ''}`);
    }
    r.check(
      'redirect-uri-exact',
      'MUST',
      exactSection,
      leaks.length === 0,
      leaks.length
        ? `an altered redirect_uri was not refused on an error page: ${leaks[0]}`
        : 'altered redirect URIs get an error page (400), no redirect',
    );
  }

  // ---- Refresh tokens of public clients are rotated (RFC 9700 §4.14.2).
  const refreshSection = 'RFC 9700 §4.14.2; OAuth 2.1 §4.3.1';
  if (!o.refresh || !token)
    r.skip('refresh-rotation', 'MUST', refreshSection, 'needs --refresh-token and --client-id of a public client');
  else {
    const first = await tokenCall({
      grant_type: 'refresh_token',
      refresh_token: o.refresh.token,
      client_id: o.refresh.clientId,
    });
    const next = isObject(first.json) ? first.json.refresh_token : undefined;
    if (first.status !== 200)
      r.check(
        'refresh-rotation',
        'MUST',
        refreshSection,
        false,
        `the refresh token was refused: ${seen(first)} ${oauthError(first) ?? ''}`,
      );
    else
      r.check(
        'refresh-rotation',
        'MUST',
        refreshSection,
        typeof next === 'string' && next !== o.refresh.token,
        typeof next !== 'string'
          ? 'a refresh gave no new refresh token'
          : next === o.refresh.token
            ? 'a refresh gave the same refresh token back'
            : 'a refresh gave a new refresh token',
      );
  }

  // ---- Cookies (the account page sets its login cookie; the login page its interaction cookies).
  const cookieSection = 'RFC 6265bis §4.1.3.2 (__Host-); RFC 9700 §4.16';
  const cookiePages: Probe[] = [await probe(`${issuer}/account`, { timeoutMs: t })];
  if (authz && c) {
    const { challenge } = pkce();
    const start = await authorize({
      response_type: 'code',
      scope: 'openid',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    cookiePages.push(start);
    const loc = start.headers.get('location');
    if (start.status >= 300 && start.status < 400 && loc && new URL(loc, start.url).origin === issuerUrl.origin) {
      const cookie = setCookies(start)
        .map((s) => s.split(';')[0])
        .join('; ');
      cookiePages.push(await probe(new URL(loc, start.url).href, { headers: cookie ? { cookie } : {}, timeoutMs: t }));
    }
  }
  const cookies = cookiePages.flatMap(setCookies);
  if (!cookies.length)
    r.skip('cookies-secure', 'MUST', cookieSection, 'no cookie was set by the account or login page');
  else if (!https && isLoopback(issuerUrl) && !production)
    r.skip(
      'cookies-secure',
      'MUST',
      cookieSection,
      `${cookies.length} cookie(s), not Secure: http on loopback (development only)`,
    );
  else {
    const bad = cookies.filter((s) => {
      const [name] = s.split('=');
      const attrs = s.split(';').map((a) => a.trim().toLowerCase());
      return (
        !name!.startsWith('__Host-') ||
        !attrs.includes('secure') ||
        !attrs.includes('path=/') ||
        attrs.some((a) => a.startsWith('domain='))
      );
    });
    r.check(
      'cookies-secure',
      'MUST',
      cookieSection,
      bad.length === 0,
      bad.length
        ? `not a Secure __Host- cookie: ${bad[0]!.split('=')[0]}`
        : `${cookies.length} cookie(s), all Secure __Host- with Path=/`,
    );
  }
  if (cookies.length) {
    const loose = cookies.filter((s) => {
      const attrs = s.split(';').map((a) => a.trim().toLowerCase());
      return !attrs.includes('httponly') || !attrs.some((a) => a.startsWith('samesite='));
    });
    r.check(
      'cookies-httponly-samesite',
      'SHOULD',
      'RFC 6265bis §4.1.2.6, §4.1.2.7',
      loose.length === 0,
      loose.length
        ? `without HttpOnly or SameSite: ${loose[0]!.split('=')[0]}`
        : 'every cookie is HttpOnly with SameSite',
    );
  }

  // ---- Readiness, from outside and from inside.
  const ready = await probe(`${issuer}/ready`, { timeoutMs: t });
  const checks = isObject(ready.json) && isObject(ready.json.checks) ? ready.json.checks : {};
  const failing = Object.entries(checks).filter(([, v]) => v !== 'ok');
  r.check(
    'ready',
    'MUST',
    'docs/production.md (readiness)',
    ready.status === 200 && failing.length === 0,
    ready.status === 200
      ? `ready: ${Object.keys(checks).join(', ') || 'no checks listed'}`
      : `${seen(ready)}${failing.length ? `: ${failing.map(([k, v]) => `${k} ${String(v)}`).join(', ')}` : ''}`,
  );
  const inside = o.inside;
  const insideWhy = "this CLI has no configuration for this issuer (run it with the server's settings)";
  if (!inside) {
    r.skip('database', 'MUST', 'docs/production.md', insideWhy);
    r.skip('redis', 'MUST', 'docs/production.md', insideWhy);
    r.skip('key-age', 'SHOULD', 'RFC 7517 §8; docs/security.md (key rotation)', insideWhy);
    return r;
  }
  try {
    await inside.ping();
    r.check('database', 'MUST', 'docs/production.md', true, 'the database answers');
  } catch (err) {
    r.check('database', 'MUST', 'docs/production.md', false, `the database is unreachable: ${(err as Error).message}`);
  }
  if (!inside.redisPing) r.skip('redis', 'MUST', 'docs/production.md', 'REDIS_URL is not set');
  else
    try {
      await inside.redisPing();
      r.check('redis', 'MUST', 'docs/production.md', true, 'Redis answers PING');
    } catch (err) {
      r.check('redis', 'MUST', 'docs/production.md', false, `Redis is unreachable: ${(err as Error).message}`);
    }
  const keySection = 'RFC 7517 §8; docs/security.md (key rotation)';
  const days = inside.config.keyRotationDays;
  try {
    const keys = await inside.keys();
    const now = inside.now();
    const active = keys.filter((k) => k.state === 'active');
    const stale = active.filter((k) => now - (k.activatesAt ?? k.createdAt) > days * 86_400 + ROTATION_SLACK_S);
    const noKey = inside.config.signingAlgs.filter((a) => !active.some((k) => k.alg === a));
    r.check(
      'key-age',
      'SHOULD',
      keySection,
      days > 0 && stale.length === 0 && noKey.length === 0,
      days === 0
        ? 'scheduled key rotation is off (TESSERA_KEY_ROTATION_DAYS=0)'
        : noKey.length
          ? `no active key for ${noKey.join(', ')}`
          : stale.length
            ? `active key ${stale[0]!.kid} (${stale[0]!.alg}) has signed for ${Math.floor((now - (stale[0]!.activatesAt ?? stale[0]!.createdAt)) / 86_400)} days, past the ${days}-day schedule`
            : `${active.length} active key(s), each younger than the ${days}-day schedule`,
    );
  } catch (err) {
    r.check('key-age', 'SHOULD', keySection, false, `the key store could not be read: ${(err as Error).message}`);
  }
  return r;
}

/** The first enabled public client with the code grant and a redirect URI (for the authorization endpoint's checks). */
export function probeClient(clients: ClientRecord[]): SelftestOptions['client'] {
  const c = clients.find(
    (c) =>
      !c.disabled &&
      c.tokenEndpointAuthMethod === 'none' &&
      c.grantTypes.includes('authorization_code') &&
      c.redirectUris.length > 0,
  );
  if (!c) return undefined;
  const scope = c.scopes.includes('openid') ? 'openid' : (c.scopes[0] ?? 'openid');
  return { id: c.clientId, redirectUri: c.redirectUris[0]!, public: true, scope };
}

async function run(ctx: Ctx): Promise<number> {
  let config: Config | undefined;
  try {
    config = ctx.config();
  } catch {
    config = undefined;
  }
  const given = ctx.str('url');
  const issuer = canonicalUrl(given ?? config?.issuer ?? '');
  if (!issuer)
    throw new UsageError(given ? '--url must be an http(s) URL' : 'give --url ISSUER (no configuration here)');
  // The local configuration speaks for the server only when it names the same issuer.
  const ours = config && canonicalUrl(config.issuer) === issuer ? config : undefined;
  let inside: Inside | undefined;
  let closeRedis: (() => Promise<void>) | undefined;
  if (ours) {
    // Opening the database may fail (that is a finding, reported in its row, not a crash).
    const db = ctx.db();
    db.catch(() => {});
    inside = {
      config: ours,
      ping: async () => (await db).stores.ping(),
      keys: async () => (await db).stores.keys.list(),
      now: () => Math.floor(Date.now() / 1000),
    };
    if (ours.redisUrl) {
      const url = ours.redisUrl;
      inside.redisPing = async () => {
        const silent = { info() {}, warn() {} };
        const redis = await openRedis(
          { url, cluster: ours.redisCluster, prefix: ours.redisPrefix, timeout: ours.redisTimeout },
          silent,
          2000,
        );
        closeRedis = () => redis.close();
        await redis.ping();
      };
    }
  }
  let client: SelftestOptions['client'];
  const clientId = ctx.str('client-id');
  const redirectUri = ctx.str('redirect-uri');
  if (redirectUri !== undefined && clientId === undefined) throw new UsageError('--redirect-uri needs --client-id');
  if (clientId !== undefined && redirectUri !== undefined)
    client = { id: clientId, redirectUri, public: !ctx.flag('confidential'), scope: ctx.str('scope') ?? 'openid' };
  else if (clientId === undefined && inside)
    client = await ctx
      .db()
      .then(async (db) => probeClient(await db.stores.clients.list()))
      .catch(() => undefined);
  const refreshToken = ctx.str('refresh-token');
  if (refreshToken !== undefined && clientId === undefined) throw new UsageError('--refresh-token needs --client-id');
  try {
    const report = await selftest({
      issuer,
      inside,
      client,
      refresh: refreshToken !== undefined ? { token: refreshToken, clientId: clientId! } : undefined,
    });
    return report.print(
      `tessera selftest: ${issuer}${inside ? ' (with its configuration)' : ' (from outside only)'}${client ? `, probing with client ${client.id}` : ''}`,
      ctx.flag('json'),
    );
  } finally {
    await closeRedis?.();
  }
}

export const selftestCommand: Command = {
  synopsis:
    '[--url ISSUER] [--client-id ID [--redirect-uri URI] [--scope S] [--confidential]] [--refresh-token T] [--json]',
  summary:
    'Check a running Tessera from outside and from its configuration (discovery against behaviour, RFC 9700, TLS and cookies, keys, database and Redis), row by row; exit code 1 when a MUST fails.',
  options: {
    url: { type: 'string' },
    'client-id': { type: 'string' },
    'redirect-uri': { type: 'string' },
    confidential: { type: 'boolean' },
    scope: { type: 'string' },
    'refresh-token': { type: 'string' },
    json: { type: 'boolean' },
  },
  run,
};

// `tessera mcp doctor`: checks a live MCP server and this Tessera against an MCP authorization
// revision, from outside, row by row (checks.ts): the 401 challenge, the protected resource metadata
// (RFC 9728), the authorization server metadata (RFC 8414, OpenID discovery), the audience round trip
// with a real token (RFC 8707), invalid_target, and the CORS preflights browser-based clients need.
// The MCP server under test may be a third party: it is shown only tokens whose audience is the
// resource itself or a canary under it (never one valid anywhere else), and every token the doctor
// obtained is revoked (RFC 7009) before the run ends.
import {
  audiences,
  canonicalUrl,
  challengeParams,
  form,
  isObject,
  jwtPayload,
  oauthError,
  probe,
  Report,
  seen,
  wellKnown,
  type Level,
  type Probe,
} from './checks.ts';
import { readStdinLine, UsageError, warn, type Command, type Ctx } from './cli.ts';
import { isLoopbackHost } from '../protocol/redirect-uri.ts';

/** The MCP revisions Tessera knows (2025-03-26 is not supported: it predates RFC 9728 discovery). */
export const REVISIONS = ['2025-06-18', '2025-11-25', '2026-07-28'] as const;
export type Revision = (typeof REVISIONS)[number];
export const LATEST: Revision = '2026-07-28';

/** The revision of a --profile value or of TESSERA_MCP_PROFILE; undefined when unknown. */
export function revision(value: string): Revision | undefined {
  if (value === 'latest') return LATEST;
  return (REVISIONS as readonly string[]).includes(value) ? (value as Revision) : undefined;
}

export interface DoctorOptions {
  /** The MCP server's URL (its canonical resource identifier). */
  resource: string;
  /** Tessera's issuer; default: the first of the protected resource metadata's authorization_servers. */
  issuer?: string;
  revision: Revision;
  /** An access token for the resource, used as given. */
  token?: string;
  /** Client credentials for client_credentials tokens (the audience round trip and invalid_target). */
  client?: { id: string; secret: string };
  scope?: string;
  /** The Origin of the CORS preflights. */
  origin: string;
  timeoutMs?: number;
}

/** A JSON-RPC initialize request, as an MCP client's first POST (Streamable HTTP). */
const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'tessera-mcp-doctor', version: '1' },
  },
});

const UNKNOWN_RESOURCE = 'https://unknown-resource.mcp-doctor.invalid/mcp';

/** The last path segment of the canary audience (see canaryResource). */
export const CANARY_SEGMENT = 'tessera-doctor-canary';

/**
 * The audience of the token the MCP server must refuse (rs-refuses-other-audience): a URL under the
 * resource, on the MCP server's own origin, that is not the resource. Such a token is worth nothing
 * anywhere else, so showing it to the MCP server leaks nothing; it also catches a server that checks
 * `aud` by prefix. Tessera issues it only to a client allowed that resource.
 */
export function canaryResource(resource: string): string {
  const u = new URL(resource);
  u.search = '';
  u.hash = '';
  u.pathname = `${u.pathname.replace(/\/$/, '')}/${CANARY_SEGMENT}`;
  return u.href;
}

/** Whether a JWT's audiences are exactly `target` (canonical), so that it is good for nothing else. */
function onlyFor(aud: string[], target: string): boolean {
  return aud.length > 0 && aud.every((a) => canonicalUrl(a) === target);
}

/** The tokens a run obtained itself, revoked (RFC 7009) as soon as they are no longer needed. */
class ObtainedTokens {
  /** Each live token with what it is, for warnings (which never show the token). */
  private readonly live = new Map<string, string>();
  /** The revocation endpoint and the client's Basic credentials, once known. */
  revocation?: { endpoint: string; authorization: string };

  private readonly timeoutMs: number | undefined;

  constructor(timeoutMs: number | undefined) {
    this.timeoutMs = timeoutMs;
  }

  add(token: string, what: string): void {
    this.live.set(token, what);
  }

  /** Revokes `token` if this run obtained it and has not revoked it yet; a failure is a warning. */
  async revoke(r: Report, token: string | undefined): Promise<void> {
    const what = token === undefined ? undefined : this.live.get(token);
    if (token === undefined || what === undefined) return;
    this.live.delete(token);
    const exp = jwtPayload(token)?.exp;
    const until =
      typeof exp === 'number' && Number.isFinite(exp) && Math.abs(exp) < 1e11
        ? `until it expires (${new Date(exp * 1000).toISOString()})`
        : 'until it expires';
    if (!this.revocation) {
      r.warn(`${what} was not revoked (no revocation_endpoint in the metadata): it stays valid ${until}`);
      return;
    }
    const p = await probe(this.revocation.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: this.revocation.authorization,
      },
      body: form({ token, token_type_hint: 'access_token' }),
      timeoutMs: this.timeoutMs,
    });
    if (p.status !== 200) {
      const code = oauthError(p);
      r.warn(
        `revoking ${what} at ${this.revocation.endpoint} got ${seen(p)}${code ? ` ${code}` : ''}: it stays valid ${until}`,
      );
    }
  }

  async revokeAll(r: Report): Promise<void> {
    for (const token of [...this.live.keys()]) await this.revoke(r, token);
  }
}

const isLoopback = (u: URL) => isLoopbackHost(u.hostname);

/**
 * Runs every check; never throws for what a server does. Every token it obtained is revoked before it
 * returns, whatever happened; one it could not revoke is a warning of the report.
 */
export async function mcpDoctor(o: DoctorOptions): Promise<Report> {
  const r = new Report();
  const tokens = new ObtainedTokens(o.timeoutMs);
  try {
    await checks(o, r, tokens);
  } finally {
    await tokens.revokeAll(r);
  }
  return r;
}

async function checks(o: DoctorOptions, r: Report, tokens: ObtainedTokens): Promise<void> {
  const rev = o.revision;
  const mcp = (section: string, rfc?: string) => `MCP ${rev} "${section}"${rfc ? `; ${rfc}` : ''}`;
  const later = rev !== '2025-06-18';
  const t = o.timeoutMs;
  const resource = canonicalUrl(o.resource)!;
  const resourceUrl = new URL(resource);

  r.check(
    'resource-url',
    'MUST',
    mcp(later ? 'Canonical Server URI' : 'Resource Parameter Implementation', 'RFC 8707 §2'),
    resourceUrl.protocol === 'https:' || isLoopback(resourceUrl),
    resourceUrl.protocol === 'https:'
      ? `${resource} is an https URL without fragment`
      : isLoopback(resourceUrl)
        ? `${resource} is http on loopback (development only)`
        : `${resource} is not https`,
  );

  // ---- 1. The unauthenticated request and its challenge.
  const mcpPost = (headers: Record<string, string> = {}) =>
    probe(resource, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
        ...headers,
      },
      body: INITIALIZE,
      timeoutMs: t,
    });
  const anonymous = await mcpPost();
  const challenge = challengeParams(anonymous.headers.get('www-authenticate'), 'Bearer');
  r.check(
    'challenge-401',
    'MUST',
    mcp(later ? 'Protected Resource Metadata Discovery Requirements' : 'Authorization Server Location', 'RFC 6750 §3'),
    anonymous.status === 401 && challenge !== undefined,
    anonymous.status !== 401
      ? `a request without a token got ${seen(anonymous)}, not 401`
      : challenge
        ? '401 with a WWW-Authenticate: Bearer challenge'
        : `401 without a Bearer challenge (WWW-Authenticate: ${anonymous.headers.get('www-authenticate') ?? 'absent'})`,
  );
  const metadataUrl = challenge?.resource_metadata;
  const metadataOk = metadataUrl !== undefined && canonicalUrl(metadataUrl) !== undefined;
  r.check(
    'challenge-resource-metadata',
    later ? 'SHOULD' : 'MUST',
    mcp(
      later ? 'Protected Resource Metadata Discovery Requirements' : 'Authorization Server Location',
      'RFC 9728 §5.1',
    ),
    metadataOk,
    metadataOk
      ? `resource_metadata="${metadataUrl}"`
      : metadataUrl === undefined
        ? 'the challenge has no resource_metadata parameter'
        : `resource_metadata is not an http(s) URL: ${metadataUrl}`,
  );

  // ---- 2. The protected resource metadata.
  const wellKnownUrl = wellKnown(resource, 'oauth-protected-resource');
  const atWellKnown = await probe(wellKnownUrl, { timeoutMs: t });
  const documentUrl = metadataOk ? metadataUrl : wellKnownUrl;
  const document = documentUrl === wellKnownUrl ? atWellKnown : await probe(documentUrl, { timeoutMs: t });
  const validDocument = (p: Probe) => p.status === 200 && isObject(p.json);
  r.check(
    'prm-well-known',
    later && !metadataOk ? 'MUST' : 'SHOULD',
    mcp(
      later ? 'Protected Resource Metadata Discovery Requirements' : 'Authorization Server Location',
      'RFC 9728 §3.1',
    ),
    validDocument(atWellKnown),
    validDocument(atWellKnown)
      ? `${wellKnownUrl} serves a JSON object`
      : `${wellKnownUrl}: ${seen(atWellKnown)}${atWellKnown.status === 200 ? ' but not a JSON object' : ''}`,
  );
  const prm = validDocument(document) ? (document.json as Record<string, unknown>) : undefined;
  r.check(
    'prm-document',
    'MUST',
    mcp('Authorization Server Location', 'RFC 9728 §3.2'),
    prm !== undefined,
    prm
      ? `${documentUrl} is a JSON object`
      : `${documentUrl}: ${seen(document)}${document.status === 200 ? ' but not a JSON object' : ''}`,
  );
  const prmSection = mcp('Authorization Server Location', 'RFC 9728 §3.3');
  if (!prm) {
    r.skip('prm-resource', 'MUST', prmSection, 'no protected resource metadata');
    r.skip('prm-authorization-servers', 'MUST', mcp('Authorization Server Location', 'RFC 9728 §2'), 'no metadata');
  } else {
    const declared = typeof prm.resource === 'string' ? canonicalUrl(prm.resource) : undefined;
    r.check(
      'prm-resource',
      'MUST',
      prmSection,
      declared === resource,
      declared === resource
        ? `resource is ${resource}`
        : `resource is ${JSON.stringify(prm.resource) ?? 'absent'}, not the canonical ${resource}`,
    );
  }
  const servers =
    prm && Array.isArray(prm.authorization_servers)
      ? prm.authorization_servers.filter((s): s is string => typeof s === 'string')
      : [];
  const issuer = o.issuer ? canonicalUrl(o.issuer) : servers.map(canonicalUrl).find((s) => s !== undefined);
  // Client credentials go only to an issuer the operator named (--issuer or the configuration),
  // never to one the MCP server's metadata named.
  const client = o.issuer ? o.client : undefined;
  if (prm) {
    const listed = issuer !== undefined && servers.some((s) => canonicalUrl(s) === issuer);
    r.check(
      'prm-authorization-servers',
      'MUST',
      mcp('Authorization Server Location', 'RFC 9728 §2'),
      listed,
      listed
        ? `authorization_servers includes ${issuer}`
        : servers.length
          ? `authorization_servers is ${JSON.stringify(servers)}, without ${issuer}`
          : 'authorization_servers is missing or empty',
    );
  }

  // ---- 3. The authorization server's metadata.
  const asSection = (rfc: string) =>
    mcp(later ? 'Authorization Server Metadata Discovery' : 'Server Metadata Discovery', rfc);
  let meta: Record<string, unknown> | undefined;
  let metaUrl: string | undefined;
  if (!issuer) {
    r.skip('as-metadata', 'MUST', asSection('RFC 8414 §3'), 'no issuer: give --issuer');
  } else {
    const issuerUrl = new URL(issuer);
    r.check(
      'as-https',
      'MUST',
      mcp('Communication Security', 'OAuth 2.1 §1.5'),
      issuerUrl.protocol === 'https:' || isLoopback(issuerUrl),
      issuerUrl.protocol === 'https:'
        ? `${issuer} is https`
        : `${issuer} is http${isLoopback(issuerUrl) ? ' on loopback (development only)' : ''}`,
    );
    const docs: [string, string, string, Level][] = [
      [
        'as-metadata-rfc8414',
        wellKnown(issuer, 'oauth-authorization-server'),
        'RFC 8414 §3',
        later ? 'SHOULD' : 'MUST',
      ],
      ['as-metadata-oidc', `${issuer}/.well-known/openid-configuration`, 'OpenID Connect Discovery §4', 'SHOULD'],
    ];
    for (const [id, url, rfc, level] of docs) {
      const p = await probe(url, { timeoutMs: t });
      const doc = validDocument(p) ? (p.json as Record<string, unknown>) : undefined;
      const same = doc !== undefined && typeof doc.issuer === 'string' && canonicalUrl(doc.issuer) === issuer;
      r.check(
        id,
        level,
        asSection(rfc),
        same,
        same
          ? `${url} names the issuer ${issuer}`
          : doc
            ? `${url} names the issuer ${JSON.stringify(doc.issuer)}, not ${issuer}`
            : `${url}: ${seen(p)}`,
      );
      if (same && !meta) [meta, metaUrl] = [doc, url];
    }
    if (later)
      r.check(
        'as-metadata',
        'MUST',
        asSection('RFC 8414 §3'),
        meta !== undefined,
        meta ? `metadata at ${metaUrl}` : 'neither RFC 8414 metadata nor OpenID discovery answers',
      );
  }
  const pkceSection = mcp('Authorization Code Protection', 'OAuth 2.1 §4.1.1, RFC 8414 §2');
  if (!meta) {
    r.skip('as-pkce-s256', 'MUST', pkceSection, 'no authorization server metadata');
  } else {
    const methods = meta.code_challenge_methods_supported;
    const s256 = Array.isArray(methods) && methods.includes('S256');
    r.check(
      'as-pkce-s256',
      'MUST',
      pkceSection,
      s256,
      s256
        ? `code_challenge_methods_supported: ${JSON.stringify(methods)}`
        : `code_challenge_methods_supported is ${JSON.stringify(methods) ?? 'absent'}: MCP clients must refuse this server`,
    );
    const iss = meta.authorization_response_iss_parameter_supported === true;
    r.check(
      'as-iss-parameter',
      'SHOULD',
      'RFC 9207 §3; RFC 9700 §4.4.2',
      iss,
      iss
        ? 'authorization_response_iss_parameter_supported: true'
        : 'authorization_response_iss_parameter_supported is not true (mix-up defence)',
    );
    const dcr = typeof meta.registration_endpoint === 'string';
    const cimd = meta.client_id_metadata_document_supported === true;
    if (later)
      r.check(
        'as-cimd',
        'SHOULD',
        mcp('Client ID Metadata Documents', 'draft-ietf-oauth-client-id-metadata-document'),
        cimd,
        cimd
          ? 'client_id_metadata_document_supported: true'
          : 'client_id_metadata_document_supported is not true: MCP clients fall back to registration',
      );
    r.check(
      'as-dcr',
      'SHOULD',
      mcp('Dynamic Client Registration', 'RFC 7591 §3'),
      dcr || (later && cimd),
      dcr
        ? `registration_endpoint: ${String(meta.registration_endpoint)}`
        : later && cimd
          ? 'no registration_endpoint; not needed with Client ID Metadata Documents'
          : 'no registration_endpoint: MCP clients cannot register themselves',
    );
  }

  // ---- 4. The audience round trip with real tokens.
  const tokenEndpoint = meta && typeof meta.token_endpoint === 'string' ? meta.token_endpoint : undefined;
  // The client's secret goes only over https (or to loopback) and only to the issuer's own origin:
  // never to an endpoint the metadata could point anywhere, nor in clear over a network.
  const credentialsSafe = (endpoint: string | undefined): boolean => {
    if (endpoint === undefined || issuer === undefined) return false;
    try {
      const u = new URL(endpoint);
      return u.origin === new URL(issuer).origin && (u.protocol === 'https:' || isLoopback(u));
    } catch {
      return false;
    }
  };
  const basic = client
    ? `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`
    : undefined;
  // The tokens the doctor obtains are revoked with the same credentials (RFC 7009 §2.1).
  if (basic && meta && typeof meta.revocation_endpoint === 'string' && credentialsSafe(meta.revocation_endpoint))
    tokens.revocation = { endpoint: meta.revocation_endpoint, authorization: basic };
  const clientCredentials = (fields: Record<string, string | undefined>) =>
    probe(tokenEndpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic! },
      body: form({ grant_type: 'client_credentials', scope: o.scope, ...fields }),
      timeoutMs: t,
    });
  const tokenOf = (p: Probe) =>
    p.status === 200 && isObject(p.json) && typeof p.json.access_token === 'string' ? p.json.access_token : undefined;

  const audienceSection = mcp('Token Audience Binding and Validation', 'RFC 8707 §2');
  const resourceSection = mcp('Resource Parameter Implementation', 'RFC 8707 §2');
  const usageSection = mcp(later ? 'Token Handling' : 'Access Token Usage', 'RFC 6750 §2.1');
  let token = o.token;
  if (o.token) r.skip('token-obtained', 'MUST', resourceSection, 'the token given with --token is used');
  else if (!o.client) r.skip('token-obtained', 'MUST', resourceSection, 'give --token or --client-id/--client-secret');
  else if (!client)
    r.skip(
      'token-obtained',
      'MUST',
      resourceSection,
      'no --issuer: credentials are not sent to an issuer the MCP server named',
    );
  else if (!tokenEndpoint) r.skip('token-obtained', 'MUST', resourceSection, 'no token_endpoint in the metadata');
  else if (!credentialsSafe(tokenEndpoint))
    r.check(
      'token-obtained',
      'MUST',
      resourceSection,
      false,
      `credentials not sent: token_endpoint ${tokenEndpoint} is not https (or loopback) on the issuer's origin`,
    );
  else {
    const p = await clientCredentials({ resource });
    token = tokenOf(p);
    if (token) tokens.add(token, 'the token for the resource');
    r.check(
      'token-obtained',
      'MUST',
      resourceSection,
      token !== undefined,
      token
        ? `client_credentials with resource=${resource} gave an access token`
        : `client_credentials with resource=${resource}: ${seen(p)} ${oauthError(p) ?? ''}`,
    );
  }
  if (!token) {
    for (const [id, section] of [
      ['token-audience', audienceSection],
      ['rs-accepts-token', usageSection],
    ] as const)
      r.skip(id, 'MUST', section, 'no access token');
  } else {
    const payload = jwtPayload(token);
    const aud = payload ? audiences(payload) : [];
    if (!payload) r.skip('token-audience', 'MUST', audienceSection, 'an opaque token: its audience is not visible');
    else {
      const bound = aud.some((a) => canonicalUrl(a) === resource);
      r.check(
        'token-audience',
        'MUST',
        audienceSection,
        bound,
        bound
          ? `aud ${JSON.stringify(payload.aud)} names the resource`
          : `aud ${JSON.stringify(payload.aud)} lacks ${resource}`,
      );
    }
    // A token the doctor obtained goes to the MCP server only when it is good for nothing else: a
    // JWT whose every audience is the resource. One given with --token is used as given.
    const withheld = o.token
      ? undefined
      : !payload
        ? 'an opaque token: its audience cannot be checked'
        : !onlyFor(aud, resource)
          ? `its aud ${JSON.stringify(payload.aud)} is not only ${resource}`
          : undefined;
    if (withheld) r.skip('rs-accepts-token', 'MUST', usageSection, `${withheld}, so it is not sent to the MCP server`);
    else {
      const p = await mcpPost({ authorization: `Bearer ${token}` });
      const ok = p.status >= 200 && p.status < 300;
      r.check(
        'rs-accepts-token',
        'MUST',
        usageSection,
        ok,
        ok ? `an initialize request with the token got HTTP ${p.status}` : `the token was refused: ${seen(p)}`,
      );
    }
    // Needed no more: revoked now rather than at the end (a token given with --token is not the doctor's).
    await tokens.revoke(r, token);
  }
  const garbage = await mcpPost({ authorization: 'Bearer mcp-doctor.not-a-token' });
  r.check(
    'rs-refuses-invalid-token',
    'MUST',
    mcp('Token Handling', 'RFC 6750 §3.1'),
    garbage.status === 401,
    garbage.status === 401 ? 'a malformed token gets 401' : `a malformed token got ${seen(garbage)}, not 401`,
  );
  if (!client || !tokenEndpoint || !credentialsSafe(tokenEndpoint)) {
    const why = !o.client
      ? 'needs --client-id/--client-secret'
      : !client
        ? 'no --issuer: credentials are not sent to an issuer the MCP server named'
        : !tokenEndpoint
          ? 'no token_endpoint in the metadata'
          : "credentials not sent: the token_endpoint is not https (or loopback) on the issuer's origin";
    r.skip('rs-refuses-other-audience', 'MUST', audienceSection, why);
    r.skip('as-invalid-target', 'MUST', resourceSection.replace('§2', '§2, invalid_target'), why);
  } else {
    // A token for the canary audience, never one for an audience that exists (the default audience,
    // another resource): the MCP server must refuse it. Revoked right after, whatever happens.
    const canary = canaryResource(resource);
    const p = await clientCredentials({ resource: canary });
    const other = tokenOf(p);
    if (other) tokens.add(other, 'the canary token');
    try {
      const payload = other ? jwtPayload(other) : undefined;
      const otherAud = payload ? audiences(payload) : [];
      if (!other) {
        const error = oauthError(p);
        r.skip(
          'rs-refuses-other-audience',
          'MUST',
          audienceSection,
          `no token for the canary audience ${canary} (${seen(p)}${error ? ` ${error}` : ''}): to run this check, ` +
            'allow the client that resource (allowed_resources; with TESSERA_RESOURCE_REGISTRY_ONLY, ' +
            'register it as a resource server too)',
        );
      } else if (!payload)
        r.skip(
          'rs-refuses-other-audience',
          'MUST',
          audienceSection,
          'the canary token is opaque: its audience cannot be checked, so it is not sent to the MCP server',
        );
      else if (!onlyFor(otherAud, canary))
        r.skip(
          'rs-refuses-other-audience',
          'MUST',
          audienceSection,
          `the token asked for ${canary} has aud ${JSON.stringify(payload.aud)}, so it is not sent to the MCP server`,
        );
      else {
        const used = await mcpPost({ authorization: `Bearer ${other}` });
        const refused = used.status === 401 || used.status === 403;
        r.check(
          'rs-refuses-other-audience',
          'MUST',
          audienceSection,
          refused,
          refused
            ? `a token for ${canary} (not the resource) gets HTTP ${used.status}`
            : `a token for ${canary} (not the resource) was accepted: ${seen(used)}`,
        );
      }
    } finally {
      await tokens.revoke(r, other);
    }
    const unknown = await clientCredentials({ resource: UNKNOWN_RESOURCE });
    const leaked = tokenOf(unknown);
    if (leaked) tokens.add(leaked, 'the token for the unknown resource');
    const code = oauthError(unknown);
    r.check(
      'as-invalid-target',
      'MUST',
      resourceSection.replace('§2', '§2, invalid_target'),
      unknown.status === 400 && code === 'invalid_target',
      code === 'invalid_target'
        ? `resource=${UNKNOWN_RESOURCE} gets invalid_target`
        : `resource=${UNKNOWN_RESOURCE} got ${seen(unknown)}${code ? ` ${code}` : tokenOf(unknown) ? ' with a token' : ''}`,
    );
  }

  // ---- 5. CORS, for browser-based MCP clients.
  const cors = async (id: string, url: string | undefined, method: 'GET' | 'POST', what: string) => {
    const section = 'Fetch standard, CORS protocol; MCP browser-based clients';
    if (!url) return r.skip(id, 'SHOULD', section, `no ${what}`);
    const pre = await probe(url, {
      method: 'OPTIONS',
      headers: {
        origin: o.origin,
        'access-control-request-method': method,
        'access-control-request-headers': method === 'POST' ? 'content-type' : 'mcp-protocol-version',
      },
      timeoutMs: t,
    });
    const allowed = (h: Headers) => {
      const v = h.get('access-control-allow-origin');
      return v === '*' || v === o.origin;
    };
    const methods = pre.headers.get('access-control-allow-methods');
    const methodOk =
      !methods ||
      methods === '*' ||
      methods
        .toUpperCase()
        .split(/\s*,\s*/)
        .includes(method);
    const preOk = pre.status >= 200 && pre.status < 300 && allowed(pre.headers) && methodOk;
    // The actual request must carry the header too (GET: the document; POST: an empty token request).
    const actual =
      method === 'GET'
        ? await probe(url, { headers: { origin: o.origin }, timeoutMs: t })
        : await probe(url, {
            method: 'POST',
            headers: { origin: o.origin, 'content-type': 'application/x-www-form-urlencoded' },
            body: '',
            timeoutMs: t,
          });
    const ok = preOk && allowed(actual.headers);
    const preflightProblem = `the preflight of ${what} from ${o.origin} got ${seen(pre)}, Access-Control-Allow-Origin: ${pre.headers.get('access-control-allow-origin') ?? 'absent'}${methodOk ? '' : `, methods ${methods}`}`;
    r.check(
      id,
      'SHOULD',
      section,
      ok,
      ok
        ? `${what} allows Origin ${o.origin} (preflight and ${method})`
        : !allowed(actual.headers)
          ? `the ${method} to ${what} from ${o.origin} has no matching Access-Control-Allow-Origin${preOk ? '' : `; ${preflightProblem}`}`
          : method === 'GET'
            ? `a plain GET is allowed, but ${preflightProblem} (MCP SDK clients send MCP-Protocol-Version, which needs it)`
            : preflightProblem,
    );
  };
  await cors('cors-prm', prm ? documentUrl : undefined, 'GET', 'the protected resource metadata');
  await cors('cors-as-metadata', metaUrl, 'GET', 'the authorization server metadata');
  await cors('cors-token', tokenEndpoint, 'POST', 'the token endpoint');
  const registration = meta && typeof meta.registration_endpoint === 'string' ? meta.registration_endpoint : undefined;
  await cors('cors-registration', registration, 'POST', 'the registration endpoint');
}

/** The profile a run checks against: --profile, else TESSERA_MCP_PROFILE when on, else latest. */
export function chosenRevision(ctx: Ctx): Revision {
  const given = ctx.str('profile');
  if (given !== undefined) {
    const rev = revision(given);
    if (!rev)
      throw new UsageError(
        given === '2025-03-26'
          ? '--profile 2025-03-26 is not supported (it predates protected resource metadata); use 2025-06-18 or later'
          : `--profile must be one of ${REVISIONS.join(', ')} or latest`,
      );
    return rev;
  }
  let configured: string | undefined;
  try {
    configured = String(ctx.config().mcpProfile);
  } catch {
    configured = undefined; // no usable configuration here: the doctor still runs from outside
  }
  return (configured && revision(configured)) || LATEST;
}

/** The configured issuer, when the configuration loads (the CLI may run away from the server). */
export function configuredIssuer(ctx: Ctx): string | undefined {
  try {
    return ctx.config().issuer;
  } catch {
    return undefined;
  }
}

async function run(ctx: Ctx): Promise<number> {
  const resource = canonicalUrl(ctx.need('resource'));
  if (!resource) throw new UsageError('--resource must be an http(s) URL');
  const issuerOpt = ctx.str('issuer') ?? configuredIssuer(ctx);
  if (issuerOpt !== undefined && !canonicalUrl(issuerOpt)) throw new UsageError('--issuer must be an http(s) URL');
  const origin = ctx.str('origin') ?? 'https://mcp-doctor.example';
  if (!/^https?:\/\/[^/]+$/.test(origin)) throw new UsageError('--origin must be an origin: scheme://host[:port]');
  const id = ctx.str('client-id');
  let secret = ctx.str('client-secret');
  if (ctx.flag('client-secret-stdin')) {
    if (secret !== undefined) throw new UsageError('give --client-secret-stdin or --client-secret, not both');
    secret = await readStdinLine('Client secret: ');
  } else if (secret !== undefined)
    warn('warning: --client-secret leaves the secret in your shell history; prefer --client-secret-stdin');
  if ((id === undefined) !== (secret === undefined))
    throw new UsageError('--client-id and --client-secret (or --client-secret-stdin) go together');
  let token = ctx.str('token');
  if (ctx.flag('token-stdin')) {
    if (token !== undefined) throw new UsageError('give --token-stdin or --token, not both');
    token = await readStdinLine('Access token: ');
  } else if (token !== undefined)
    warn('warning: --token leaves the token in your shell history and the process list; prefer --token-stdin');
  if (token !== undefined && id !== undefined) throw new UsageError('give --token or client credentials, not both');
  const rev = chosenRevision(ctx);
  const report = await mcpDoctor({
    resource,
    issuer: issuerOpt,
    revision: rev,
    token,
    client: id !== undefined ? { id, secret: secret! } : undefined,
    scope: ctx.str('scope'),
    origin,
  });
  return report.print(`tessera mcp doctor: ${resource} against MCP ${rev}`, ctx.flag('json'));
}

export const mcpDoctorCommand: Command = {
  synopsis:
    '--resource URL [--issuer URL] [--profile 2025-06-18|2025-11-25|2026-07-28|latest] [--token-stdin | --token T | --client-id ID (--client-secret-stdin | --client-secret S)] [--scope "a b"] [--origin O] [--json]',
  summary:
    'Check a live MCP server and this Tessera against an MCP authorization revision, row by row (MUST/SHOULD, pass/fail/skip, spec section); exit code 1 when a MUST fails. ' +
    'The MCP server is shown only tokens for itself or for the canary <resource>/tessera-doctor-canary (list it in allowed_resources of the client for rs-refuses-other-audience); ' +
    'every token the doctor obtains is revoked before it exits (a failure is a warning).',
  options: {
    resource: { type: 'string' },
    issuer: { type: 'string' },
    profile: { type: 'string' },
    token: { type: 'string' },
    'token-stdin': { type: 'boolean' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'client-secret-stdin': { type: 'boolean' },
    scope: { type: 'string' },
    origin: { type: 'string' },
    json: { type: 'boolean' },
  },
  run,
};

// node-oidc-provider (v9) configured like the benchmarked Tessera: the same clients, ES256 JWT
// access tokens for one resource server, PKCE (S256) required, refresh-token rotation,
// introspection and revocation, and login pages that verify the same Argon2id hash Tessera
// uses (src/accounts/passwords.ts), so a login costs both servers the same work.
//
// Run by bench/run.ts: `node bench/oidc-provider-server.ts` with BENCH_OP_CONFIG naming a JSON
// file of { port, issuer, fixtures, cookieKeys, csrfSecret }. Storage is the package's default
// in-memory adapter (no database round trips: this favours it against Tessera's SQLite).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { hashPassword, verifyPassword } from '../src/accounts/passwords.ts';
import { oidcProviderClients, RESOURCE, RESOURCE_SCOPE, type Fixtures } from './lib/fixtures.ts';
import { escapeHtml, readForm } from './lib/http-util.ts';

interface Options {
  port: number;
  issuer: string;
  fixtures: Fixtures;
  cookieKeys: string[];
  csrfSecret: string;
}

const opts = JSON.parse(readFileSync(process.env.BENCH_OP_CONFIG ?? '', 'utf8')) as Options;
const { fixtures } = opts;
const user = { ...fixtures.user, passwordHash: await hashPassword(fixtures.user.password) };

const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: 'bench-es256', alg: 'ES256', use: 'sig' };

const resourceServer = {
  scope: RESOURCE_SCOPE,
  audience: RESOURCE,
  accessTokenTTL: 900,
  accessTokenFormat: 'jwt',
  jwt: { sign: { alg: 'ES256' } },
};

interface Ctx {
  oidc: { route: string; params: Record<string, unknown> };
}

const provider = new Provider(opts.issuer, {
  clients: oidcProviderClients(fixtures),
  clientDefaults: { id_token_signed_response_alg: 'ES256', token_endpoint_auth_method: 'client_secret_basic' },
  jwks: { keys: [signingKey] },
  cookies: { keys: opts.cookieKeys },
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
    email: ['email', 'email_verified'],
  },
  // Every scope a client may be registered with, including the resource server's.
  scopes: ['openid', 'offline_access', 'profile', 'email', RESOURCE_SCOPE],
  renderError: async (ctx: { type: string; body: string }, out: { error: string; error_description?: string }) => {
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>Error</title><p>${escapeHtml(out.error)}: ${escapeHtml(out.error_description ?? '')}</p>`;
  },
  pkce: { required: () => true },
  rotateRefreshToken: true,
  issueRefreshToken: async (
    _ctx: unknown,
    client: { clientId: string; grantTypeAllowed(g: string): boolean },
    code: { scopes: Set<string> },
  ) =>
    client.clientId === fixtures.web.id &&
    client.grantTypeAllowed('refresh_token') &&
    code.scopes.has('offline_access'),
  features: {
    devInteractions: { enabled: false },
    // As Tessera: any confidential client may introspect.
    introspection: {
      enabled: true,
      allowedPolicy: async (_ctx: unknown, client: { clientAuthMethod: string }) => client.clientAuthMethod !== 'none',
    },
    revocation: { enabled: true },
    clientCredentials: { enabled: true },
    userinfo: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Like Tessera's default audience: client credentials, and user flows that ask for the API
      // scope, get a JWT access token for the resource server without naming it.
      defaultResource: async (ctx: Ctx, _client: unknown, oneOf?: string | string[]) => {
        if (oneOf) return oneOf;
        const { route, params } = ctx.oidc;
        if (route === 'token' && params.grant_type === 'client_credentials') return RESOURCE;
        if (
          route === 'authorization' &&
          String(params.scope ?? '')
            .split(' ')
            .includes(RESOURCE_SCOPE)
        )
          return RESOURCE;
        return undefined;
      },
      // Code and refresh grants keep using the resource granted at authorization.
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx: unknown, indicator: string) => {
        if (indicator !== RESOURCE) throw new Error(`unknown resource ${indicator}`);
        return resourceServer;
      },
    },
  },
  ttl: {
    AccessToken: 900,
    ClientCredentials: 900,
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: 1_209_600,
    Interaction: 900,
    Session: 86_400,
    Grant: 2_592_000,
  },
  interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
  findAccount: async (_ctx: unknown, sub: string) => {
    if (sub !== user.id) return undefined;
    return {
      accountId: user.id,
      claims: async () => ({
        sub: user.id,
        name: user.name,
        preferred_username: user.username,
        email: user.email,
        email_verified: true,
      }),
    };
  },
});
provider.on('server_error', (_ctx, err) => process.stderr.write(`oidc-provider server_error: ${String(err)}\n`));

// --- Interaction pages (login with password, consent), plain node:http around provider.callback().

const csrfFor = (uid: string) => createHmac('sha256', opts.csrfSecret).update(`csrf:${uid}`).digest('base64url');
const csrfOk = (uid: string, presented: string | undefined) => {
  const expected = Buffer.from(csrfFor(uid));
  const got = Buffer.from(presented ?? '');
  return got.length === expected.length && timingSafeEqual(got, expected);
};

function page(res: ServerResponse, status: number, title: string, body: string): void {
  const doc = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><main>${body}</main></body></html>`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
  });
  res.end(doc);
}

function loginPage(res: ServerResponse, uid: string, error?: string): void {
  page(
    res,
    error ? 400 : 200,
    'Sign in',
    `<h1>Sign in</h1>${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<input type="hidden" name="csrf" value="${csrfFor(uid)}">
<label>Username <input type="text" name="username" required></label>
<label>Password <input type="password" name="password" required></label>
<button type="submit">Sign in</button>
</form>`,
  );
}

function consentPage(res: ServerResponse, uid: string, scope: string): void {
  page(
    res,
    200,
    'Allow access?',
    `<h1>Allow access?</h1><p>Scopes: ${escapeHtml(scope)}</p>
<form method="post" action="/interaction/${escapeHtml(uid)}/consent">
<input type="hidden" name="csrf" value="${csrfFor(uid)}">
<button type="submit" name="decision" value="deny">Deny</button>
<button type="submit" name="decision" value="allow">Allow</button>
</form>`,
  );
}

async function interaction(
  req: IncomingMessage,
  res: ServerResponse,
  uid: string,
  step: string | undefined,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return page(res, 400, 'Error', 'interaction mismatch');
  if (req.method === 'GET' && step === undefined) {
    if (details.prompt.name === 'login') return loginPage(res, uid);
    return consentPage(res, uid, String(details.params.scope ?? ''));
  }
  if (req.method !== 'POST') return page(res, 405, 'Error', 'method not allowed');
  const form = await readForm(req);
  if (!csrfOk(uid, form.get('csrf') ?? undefined))
    return page(res, 403, 'Form expired', 'The form could not be verified.');

  if (step === 'login') {
    if (details.prompt.name !== 'login') return page(res, 400, 'Error', 'not a login prompt');
    const username = form.get('username') ?? '';
    const ok = await verifyPassword(
      form.get('password') ?? '',
      username === user.username ? user.passwordHash : undefined,
    );
    if (!ok) return loginPage(res, uid, 'Invalid username or password.');
    return provider.interactionFinished(
      req,
      res,
      { login: { accountId: user.id, amr: ['pwd'] } },
      { mergeWithLastSubmission: false },
    );
  }
  if (step === 'consent') {
    if (details.prompt.name !== 'consent' || !details.session) return page(res, 400, 'Error', 'not a consent prompt');
    if (form.get('decision') !== 'allow') {
      return provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'The user denied the request.' },
        { mergeWithLastSubmission: false },
      );
    }
    const grant =
      (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
      new provider.Grant({ accountId: details.session.accountId, clientId: String(details.params.client_id) });
    const d = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {}))
      grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    return provider.interactionFinished(
      req,
      res,
      { consent: details.grantId ? {} : { grantId } },
      { mergeWithLastSubmission: true },
    );
  }
  return page(res, 404, 'Error', 'not found');
}

const handle = provider.callback();
const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|consent))?$/;
const server = createServer((req, res) => {
  const m = INTERACTION.exec((req.url ?? '').split('?')[0]!);
  if (!m) return handle(req, res);
  interaction(req, res, m[1]!, m[2]).catch((err: unknown) => {
    if (!res.headersSent) page(res, 400, 'Error', escapeHtml(String((err as Error).message ?? err)));
    else res.end();
  });
});
server.keepAliveTimeout = 72_000; // as Fastify's default, so both keep connections alike
server.listen(opts.port, '127.0.0.1', () => process.stdout.write(`oidc-provider listening on ${opts.issuer}\n`));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => server.close(() => process.exit(0)));

// The clients, the user and the resource server every benchmarked server is configured with.
// Generated fresh for each `npm run bench`, so nothing here is a real credential.
import { randomBytes, randomUUID } from 'node:crypto';

export const RESOURCE = 'https://api.bench.example/';
export const RESOURCE_SCOPE = 'api:read';
/** Never requested: the harness reads the Location header of the redirect. */
export const REDIRECT_URI = 'http://127.0.0.1:1/cb';

/** Scope of the flows that feed the refresh and full-flow scenarios (JWT access token for RESOURCE). */
export const FLOW_SCOPE = `openid profile email offline_access ${RESOURCE_SCOPE}`;
/** Scope of the flow that feeds userinfo and introspection (an access token for the user's own data). */
export const USER_SCOPE = 'openid profile email';

export interface BenchClient {
  id: string;
  /** Empty for a public client (token_endpoint_auth_method none). */
  secret: string;
}

export interface Fixtures {
  cc: BenchClient;
  rs: BenchClient;
  web: BenchClient;
  user: { id: string; username: string; password: string; email: string; name: string };
  /**
   * Tessera's passkey flow signs this user in: a user holding a passkey is asked for it after the
   * password too (the second factor), so the password flow keeps a user of its own without one.
   */
  passkeyUser: { username: string; password: string };
}

const secret = () => randomBytes(32).toString('base64url');

export function makeFixtures(): Fixtures {
  return {
    cc: { id: 'bench-service', secret: secret() },
    rs: { id: 'bench-resource-server', secret: secret() },
    web: { id: 'bench-web', secret: secret() },
    user: {
      id: randomUUID(),
      username: 'bench-user',
      password: `pw-${randomBytes(12).toString('base64url')}`,
      email: 'bench-user@example.com',
      name: 'Bench User',
    },
    passkeyUser: { username: 'bench-passkey-user', password: `pw-${randomBytes(12).toString('base64url')}` },
  };
}

/** Tessera's bootstrap file (JSON), in the format of src/admin/bootstrap.ts. */
export function tesseraBootstrap(f: Fixtures): object {
  return {
    clients: [
      {
        client_id: f.cc.id,
        client_name: 'Bench service',
        client_secret: f.cc.secret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        scope: RESOURCE_SCOPE,
        redirect_uris: [],
      },
      {
        client_id: f.rs.id,
        client_name: 'Bench resource server',
        client_secret: f.rs.secret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [],
        scope: '',
        redirect_uris: [],
      },
      {
        client_id: f.web.id,
        client_name: 'Bench web',
        client_secret: f.web.secret,
        token_endpoint_auth_method: 'client_secret_basic',
        application_type: 'web',
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: [REDIRECT_URI],
        scope: FLOW_SCOPE,
        // Like node-oidc-provider's client below: ES256 ID tokens on both sides (the default is RS256).
        id_token_signed_response_alg: 'ES256',
      },
    ],
    users: [
      {
        username: f.user.username,
        password: f.user.password,
        email: f.user.email,
        email_verified: true,
        name: f.user.name,
      },
      { username: f.passkeyUser.username, password: f.passkeyUser.password },
    ],
  };
}

/** The same clients as node-oidc-provider client metadata. */
export function oidcProviderClients(f: Fixtures): object[] {
  return [
    {
      client_id: f.cc.id,
      client_secret: f.cc.secret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: RESOURCE_SCOPE,
    },
    {
      client_id: f.rs.id,
      client_secret: f.rs.secret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    },
    {
      client_id: f.web.id,
      client_secret: f.web.secret,
      token_endpoint_auth_method: 'client_secret_basic',
      application_type: 'web',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [REDIRECT_URI],
      scope: FLOW_SCOPE,
      id_token_signed_response_alg: 'ES256',
    },
  ];
}

export function basicAuth(c: BenchClient): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(c.id)}:${encodeURIComponent(c.secret)}`).toString('base64')}`;
}

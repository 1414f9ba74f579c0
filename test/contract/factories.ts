/** Records for the storage contract tests, each unique (random ids) unless told otherwise. */
import { randomUUID } from 'node:crypto';
import type {
  AuditEvent,
  ClientRecord,
  CodeRecord,
  GrantRecord,
  InteractionRecord,
  IssuedAccessToken,
  RefreshTokenRecord,
  SessionRecord,
  SigningKeyRecord,
  Stores,
  UserRecord,
} from '../../src/ports/index.ts';

export const NOW = Math.floor(Date.now() / 1000);
export const uid = (prefix: string) => `${prefix}-${randomUUID()}`;
export const times = <T>(n: number, fn: (i: number) => Promise<T>) =>
  Promise.all(Array.from({ length: n }, (_, i) => fn(i)));
export const tally = (results: { status: string }[]) =>
  results.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});

export const client = (over: Partial<ClientRecord> = {}): ClientRecord => ({
  clientId: uid('client'),
  clientName: 'Demo app',
  secretHash: 'hmac:abc',
  tokenEndpointAuthMethod: 'client_secret_basic',
  applicationType: 'web',
  redirectUris: ['https://app.example/cb', 'https://app.example/cb2'],
  postLogoutRedirectUris: ['https://app.example/'],
  grantTypes: ['authorization_code', 'refresh_token'],
  scopes: ['openid', 'profile', 'offline_access'],
  allowedResources: [],
  skipConsent: false,
  disabled: false,
  metadata: {},
  createdAt: NOW,
  updatedAt: NOW,
  ...over,
});

export const user = (over: Partial<UserRecord> = {}): UserRecord => ({
  id: uid('user'),
  username: uid('alice'),
  passwordHash: '$argon2id$x',
  email: 'alice@example.com',
  emailVerified: true,
  name: 'Alice Liddell',
  givenName: 'Alice',
  familyName: 'Liddell',
  disabled: false,
  createdAt: NOW,
  updatedAt: NOW,
  origin: 'operator',
  ...over,
});

export const session = (over: Partial<SessionRecord> = {}): SessionRecord => ({
  idHash: uid('sess'),
  sid: uid('sid'),
  userId: uid('user'),
  authTime: NOW,
  amr: ['pwd'],
  createdAt: NOW,
  lastSeenAt: NOW,
  expiresAt: NOW + 3600,
  ...over,
});

export const interaction = (over: Partial<InteractionRecord> = {}): InteractionRecord => ({
  uid: uid('ia'),
  clientId: uid('client'),
  params: { response_type: 'code', scope: 'openid', state: 'xyz' },
  browserHash: 'bh',
  sessionIdHash: null,
  loginAt: null,
  createdAt: NOW,
  expiresAt: NOW + 600,
  ...over,
});

export const code = (over: Partial<CodeRecord> = {}): CodeRecord => ({
  codeHash: uid('code'),
  grantId: uid('grant'),
  clientId: uid('client'),
  userId: uid('user'),
  redirectUri: 'https://app.example/cb',
  scope: 'openid profile',
  nonce: 'n-0S6',
  codeChallenge: 'E9Mel',
  resource: null,
  sid: uid('sid'),
  authTime: NOW,
  amr: ['pwd', 'otp'],
  createdAt: NOW,
  expiresAt: NOW + 60,
  ...over,
});

export const grant = (over: Partial<GrantRecord> = {}): GrantRecord => ({
  id: uid('grant'),
  clientId: uid('client'),
  userId: uid('user'),
  scope: 'openid offline_access',
  resource: 'https://api.example/',
  sid: uid('sid'),
  authTime: NOW,
  amr: ['pwd'],
  createdAt: NOW,
  expiresAt: NOW + 86400,
  revokedAt: null,
  ...over,
});

export const refreshFor = (g: GrantRecord, over: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord => ({
  tokenHash: uid('rt'),
  grantId: g.id,
  clientId: g.clientId,
  scope: g.scope,
  createdAt: NOW,
  expiresAt: NOW + 3600,
  usedAt: null,
  ...over,
});

export const auditEvent = (over: Partial<AuditEvent> = {}): AuditEvent => ({
  at: NOW * 1000,
  type: 'token_issued',
  actor: 'user-1',
  clientId: 'web',
  ip: '203.0.113.7',
  outcome: 'success',
  details: { grant_type: 'authorization_code', scope: 'openid profile', n: 1, flag: true, none: null },
  ...over,
});

export const access = (over: Partial<IssuedAccessToken> = {}): IssuedAccessToken => ({
  jti: uid('jti'),
  expiresAt: NOW + 300,
  ...over,
});

export const key = (over: Partial<SigningKeyRecord> = {}): SigningKeyRecord => ({
  kid: uid('kid'),
  alg: 'ES256',
  state: 'active',
  publicJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' },
  privateJwe: 'eyJ.enc.rypt.ed.jwe',
  createdAt: NOW,
  retiredAt: null,
  activatesAt: null,
  ...over,
});

/** A grant with a first refresh and access token, as the code exchange creates it. */
export const seedGrant = async (stores: Stores, over: Partial<GrantRecord> = {}) => {
  const g = grant(over);
  const rt = refreshFor(g);
  const at = access();
  await stores.grants.create(g, rt, at);
  return { g, rt, at };
};

/** A rotation's `next`: the successor of the presented token and a new access token (added to `issued`). */
export const nextFor =
  (issued: IssuedAccessToken[] = []) =>
  (prev: RefreshTokenRecord) => {
    const a = access();
    issued.push(a);
    return { refresh: { ...prev, tokenHash: uid('rt'), createdAt: NOW + 1, usedAt: null }, access: a };
  };

/** Verdicts of grants.rotate/useRefresh's accept() for the tests that need only a yes or a no. */
export const accepted = () => ({ ok: true, value: undefined }) as const;
export const refused = () => ({ ok: false }) as const;

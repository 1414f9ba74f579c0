// verifyAccessToken, and the two endpoints that build on it, without HTTP: one row per kind of
// token. verifyAccessToken checks signature, type, issuer and lifetime only; the audience is the
// resource server's to check (userinfo checks its own) and revocation is a store lookup
// (introspection and userinfo make it), so each row says what all three conclude.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { basicAuth, testProvider, type TestProvider } from '../../../test/fixtures/protocol.ts';
import { introspect } from '../endpoints/introspect.ts';
import { userinfo } from '../endpoints/userinfo.ts';
import { verifyAccessToken } from './access-token.ts';
import { signJwt } from './signer.ts';

const WEB_SECRET = 'web-secret-0123456789-abcdefghijklmnop';
const RS_SECRET = 'rs-secret-0123456789-abcdefghijklmnopqr';
const ORDERS = 'https://orders.example/';

/** The clients of every provider here: `web` gets user tokens, `rs` introspects them. */
async function withClients(env: Record<string, string> = {}): Promise<TestProvider> {
  const t = await testProvider(env);
  await t.addClient({ client_id: 'web', client_secret: WEB_SECRET });
  await t.addClient({
    client_id: 'rs',
    client_secret: RS_SECRET,
    grant_types: ['client_credentials'],
    scope: '',
    redirect_uris: [],
  });
  return t;
}

/** A user's access token (and ID token) from a code of `web` redeemed through token(). */
async function userTokens(t: TestProvider, params: Record<string, string> = {}) {
  const c = await t.codeFor('web', { params });
  const o = await t.token(
    {
      grant_type: 'authorization_code',
      code: c.code,
      code_verifier: c.verifier,
      redirect_uri: c.redirectUri,
      ...params,
    },
    { clientId: 'web', secret: WEB_SECRET },
  );
  assert.equal(o.error, undefined, o.error && o.description);
  const body = (o as { body: Record<string, unknown> }).body;
  return { accessToken: body.access_token as string, idToken: body.id_token as string };
}

describe('verifyAccessToken, introspection and userinfo', () => {
  let t: TestProvider;
  before(async () => {
    t = await withClients();
  });
  after(() => t.close());

  /**
   * A token minted by the clock `seconds` in the past, which then comes back to now. Now is the real
   * time: verifyAccessToken reads Date.now(), not the provider's clock.
   */
  async function mintedAgo(seconds: number) {
    const now = Math.floor(Date.now() / 1000);
    t.clock.set(now - seconds);
    try {
      return (await userTokens(t)).accessToken;
    } finally {
      t.clock.set(now);
    }
  }
  /** The same kind of token from another provider: `env` says how it differs. */
  async function mintedElsewhere(env: Record<string, string>) {
    const other = await withClients(env);
    try {
      return (await userTokens(other)).accessToken;
    } finally {
      await other.close();
    }
  }

  interface Row {
    name: string;
    token: () => Promise<string>;
    allowExpired?: boolean;
    /** verifyAccessToken returned claims; introspection said active; what userinfo answered. */
    expect: { verified: boolean; active: boolean; userinfo: 200 | 'invalid_token' };
  }
  const ttl = () => t.config.accessTokenTtl;
  const rows: Row[] = [
    {
      name: 'a token just issued',
      token: async () => (await userTokens(t)).accessToken,
      expect: { verified: true, active: true, userinfo: 200 },
    },
    {
      name: 'half a minute before it expires',
      token: () => mintedAgo(ttl() - 30),
      expect: { verified: true, active: true, userinfo: 200 },
    },
    {
      name: 'expired: minted by a clock one lifetime ago',
      token: () => mintedAgo(ttl()),
      expect: { verified: false, active: false, userinfo: 'invalid_token' },
    },
    {
      name: 'expired, verified with allowExpired (as revocation does)',
      token: () => mintedAgo(ttl() + 60),
      allowExpired: true,
      expect: { verified: true, active: false, userinfo: 'invalid_token' },
    },
    {
      name: 'revoked: its grant was revoked',
      token: async () => {
        const { accessToken } = await userTokens(t);
        const grant = await t.p.stores.grants.findByAccessToken(decodeJwt(accessToken).jti!);
        await t.p.stores.grants.revoke(grant!.id, t.clock.now());
        return accessToken;
      },
      expect: { verified: true, active: false, userinfo: 'invalid_token' },
    },
    {
      name: 'another audience (an RFC 8707 resource): valid, but not for userinfo',
      token: async () => (await userTokens(t, { resource: ORDERS })).accessToken,
      expect: { verified: true, active: true, userinfo: 'invalid_token' },
    },
    {
      name: 'another issuer with the same keys',
      token: () => mintedElsewhere({ TESSERA_ISSUER: 'https://other-issuer.test.example' }),
      expect: { verified: false, active: false, userinfo: 'invalid_token' },
    },
    {
      name: 'signed by a key not in the ring',
      token: () => mintedElsewhere({ TESSERA_KEY_ENCRYPTION_KEY: 'another-key-encryption-key-for-the-tests-0123' }),
      expect: { verified: false, active: false, userinfo: 'invalid_token' },
    },
    {
      name: 'its signature altered',
      token: async () => {
        const token = (await userTokens(t)).accessToken;
        const last = token.at(-2) === 'A' ? 'B' : 'A';
        return `${token.slice(0, -2)}${last}${token.at(-1)}`;
      },
      expect: { verified: false, active: false, userinfo: 'invalid_token' },
    },
    {
      name: "an access token's own claims, signed by the active key with typ JWT",
      token: async () => signJwt(t.keys().active, 'JWT', decodeJwt((await userTokens(t)).accessToken)),
      expect: { verified: false, active: false, userinfo: 'invalid_token' },
    },
    {
      name: 'an ID token (typ JWT, not at+jwt)',
      token: async () => (await userTokens(t)).idToken,
      expect: { verified: false, active: false, userinfo: 'invalid_token' },
    },
    {
      name: 'not a JWT',
      token: async () => 'not-a-token',
      expect: { verified: false, active: false, userinfo: 'invalid_token' },
    },
  ];

  for (const row of rows) {
    it(row.name, async () => {
      const token = await row.token();
      const claims = await verifyAccessToken(t.p, token, { allowExpired: row.allowExpired });
      assert.equal(claims !== undefined, row.expect.verified, 'verifyAccessToken');
      if (claims) assert.equal(claims.client_id, 'web');

      const rs = { headers: { authorization: basicAuth('rs', RS_SECRET) } };
      const intro = await t.outcome(() => introspect(t.p, t.request({ token }, rs)));
      assert.equal(intro.error, undefined);
      assert.equal((intro as { body: Record<string, unknown> }).body.active, row.expect.active, 'introspection');

      const bearer = { method: 'GET', headers: { authorization: `Bearer ${token}` } };
      const info = await t.outcome(() => userinfo(t.p, t.request({}, bearer)));
      if (row.expect.userinfo === 200) {
        assert.equal(info.error, undefined, info.error && info.description);
        assert.equal(info.status, 200);
      } else {
        assert.equal(info.error, row.expect.userinfo);
        assert.equal(info.status, 401);
      }
    });
  }
});

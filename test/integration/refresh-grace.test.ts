// The refresh-token reuse grace (TESSERA_REFRESH_REUSE_GRACE, docs/mcp.md "Refresh for clients that
// share a token store") through the real /token endpoint over HTTP: a public client with DPoP whose
// two "processes" (two HTTP clients with connection pools of their own) share one token store and
// refresh with the same refresh token and the same DPoP key at the same moment.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT, calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { Agent, fetch } from 'undici';
import type { App } from '../../src/app.ts';
import { authorizeWithLogin, backends, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';

const GRACE = 30;

interface DpopKey {
  privateKey: CryptoKey;
  jwk: JWK;
  jkt: string;
}
async function dpopKey(): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}

/**
 * The server's and the proofs' clock: it stands still unless the test moves it (so that a window's
 * edge does not depend on how fast the test runs); it starts at the real time, which jose's checks use.
 */
let offset = 0;
const START = Math.floor(Date.now() / 1000);
const clock = () => START + offset;

/** A fresh DPoP proof (RFC 9449 section 4.2), for POST /token unless told, dated by the test's clock. */
const proof = (key: DpopKey, htm = 'POST', path = '/token', extra: Record<string, unknown> = {}) =>
  new SignJWT({ jti: randomUUID(), htm, htu: `${ISSUER}${path}`, iat: clock(), ...extra })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk })
    .sign(key.privateKey);

/** One process of the MCP client: an HTTP client of its own (its own connections). */
class Process {
  readonly agent = new Agent({ connections: 4 });
  readonly base: string;
  constructor(base: string) {
    this.base = base;
  }
  async token(body: Record<string, string>, key: DpopKey) {
    const res = await fetch(`${this.base}/token`, {
      method: 'POST',
      dispatcher: this.agent,
      headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: await proof(key) },
      body: new URLSearchParams(body).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string | number> };
  }
  refresh(refreshToken: string, key: DpopKey) {
    return this.token({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'spa' }, key);
  }
  close() {
    return this.agent.close();
  }
}

for (const backend of await backends()) {
  describe(`refresh reuse grace over HTTP (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    let a: Process;
    let b: Process;
    before(async () => {
      app = await testApp(backend.url!, { TESSERA_REFRESH_REUSE_GRACE: String(GRACE) }, { now: clock });
      const address = await app.server.listen({ port: 0, host: '127.0.0.1' });
      a = new Process(address);
      b = new Process(address);
    });
    after(async () => {
      await a?.close();
      await b?.close();
      await app?.close();
      await backend.drop?.();
    });

    /** A DPoP-bound grant of the public client spa: the first refresh token and the key it is bound to. */
    async function family() {
      const key = await dpopKey();
      const { verifier, challenge } = pkce();
      const redirect = await authorizeWithLogin(app, new Jar(), {
        client_id: 'spa',
        redirect_uri: 'https://spa.example/cb',
        response_type: 'code',
        scope: 'openid profile',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      const first = await a.token(
        {
          grant_type: 'authorization_code',
          code: redirect.searchParams.get('code')!,
          code_verifier: verifier,
          redirect_uri: 'https://spa.example/cb',
          client_id: 'spa',
        },
        key,
      );
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.token_type, 'DPoP');
      return { key, refreshToken: first.body.refresh_token as string };
    }
    /** The family is revoked: its (last) successor no longer refreshes. */
    const revoked = async (successor: string, key: DpopKey) => {
      const r = await a.refresh(successor, key);
      assert.equal(r.status, 400);
      assert.equal(r.body.error, 'invalid_grant');
    };

    it('two processes presenting the same refresh token with the same DPoP key at once get the same successor', async () => {
      const { key, refreshToken } = await family();
      // Several requests from each process at the same moment, as processes sharing a token store do.
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 ? b : a).refresh(refreshToken, key)),
      );
      for (const r of answers) assert.equal(r.status, 200, JSON.stringify(r.body));
      const [first] = answers;
      for (const r of answers) {
        assert.equal(r.body.refresh_token, first!.body.refresh_token);
        assert.equal(r.body.access_token, first!.body.access_token);
        assert.equal(r.body.id_token, first!.body.id_token);
        assert.equal(r.body.token_type, 'DPoP');
      }
      assert.notEqual(first!.body.refresh_token, refreshToken);
      assert.deepEqual(decodeJwt(first!.body.access_token as string).cnf, { jkt: key.jkt });
      // A little later, within the window, the slower process still gets it.
      offset += GRACE - 1;
      const late = await b.refresh(refreshToken, key);
      assert.equal(late.status, 200, JSON.stringify(late.body));
      assert.equal(late.body.refresh_token, first!.body.refresh_token);
      assert.equal(late.body.access_token, first!.body.access_token);
      // The family lives on: the shared successor rotates (once) and its access token is good.
      const access = first!.body.access_token as string;
      const userinfo = await fetch(`${a.base}/userinfo`, {
        dispatcher: b.agent,
        headers: {
          authorization: `DPoP ${access}`,
          dpop: await proof(key, 'GET', '/userinfo', { ath: createHash('sha256').update(access).digest('base64url') }),
        },
      });
      assert.equal(userinfo.status, 200, await userinfo.text());
      const onwards = await a.refresh(first!.body.refresh_token as string, key);
      assert.equal(onwards.status, 200, JSON.stringify(onwards.body));
      // The grace hits are in the audit trail, without any token value.
      await app.audit.flush();
      const records = (await app.stores.audit.query({ from: Date.now() - 600_000 })).filter(
        (r) => r.type === 'refresh_grace',
      );
      assert.equal(records.length, 50, 'one rotation, 49 answers from the window at once and one later');
      for (const r of records) {
        assert.equal(r.outcome, 'success');
        assert.equal(r.clientId, 'spa');
        const said = JSON.stringify(r);
        for (const value of [refreshToken, first!.body.refresh_token, first!.body.access_token] as string[])
          assert.equal(said.includes(value), false);
      }
      // The token before the successor is no longer answered once the successor was used: reuse.
      const stale = await b.refresh(refreshToken, key);
      assert.equal(stale.status, 400);
      assert.equal(stale.body.error, 'invalid_grant');
      await revoked(onwards.body.refresh_token as string, key);
    });

    it('after the window, the same presentation is reuse: the family is revoked', async () => {
      const { key, refreshToken } = await family();
      const first = await a.refresh(refreshToken, key);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      offset += GRACE;
      const late = await b.refresh(refreshToken, key);
      assert.equal(late.status, 400);
      assert.equal(late.body.error, 'invalid_grant');
      await revoked(first.body.refresh_token as string, key);
    });

    it('within the window, another DPoP key is reuse: the family is revoked', async () => {
      const { key, refreshToken } = await family();
      const first = await a.refresh(refreshToken, key);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const thief = await b.refresh(refreshToken, await dpopKey());
      assert.equal(thief.status, 400);
      assert.equal(thief.body.error, 'invalid_grant');
      await revoked(first.body.refresh_token as string, key);
    });
  });
}

describe('refresh reuse grace: nothing in clear at rest (SQLite file)', () => {
  it('neither the successor refresh token nor its access token is written to the database or its WAL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-grace-'));
    const app = await testApp(
      `sqlite:${join(dir, 'tessera.db')}`,
      { TESSERA_REFRESH_REUSE_GRACE: '30' },
      { now: clock },
    );
    try {
      const key = await dpopKey();
      const address = await app.server.listen({ port: 0, host: '127.0.0.1' });
      const p = new Process(address);
      const { verifier, challenge } = pkce();
      const redirect = await authorizeWithLogin(app, new Jar(), {
        client_id: 'spa',
        redirect_uri: 'https://spa.example/cb',
        response_type: 'code',
        scope: 'openid profile',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      const code = redirect.searchParams.get('code')!;
      const redirectUri = 'https://spa.example/cb';
      const tokens = await p.token(
        {
          grant_type: 'authorization_code',
          code,
          code_verifier: verifier,
          redirect_uri: redirectUri,
          client_id: 'spa',
        },
        key,
      );
      const rotated = await p.refresh(tokens.body.refresh_token as string, key);
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      const again = await p.refresh(tokens.body.refresh_token as string, key);
      assert.equal(again.body.refresh_token, rotated.body.refresh_token, 'the grace is on');
      await p.close();
      const files = readdirSync(dir).filter((f) => f.startsWith('tessera.db'));
      assert.ok(files.length > 0);
      const bytes = Buffer.concat(files.map((f) => readFileSync(join(dir, f))));
      for (const value of [rotated.body.refresh_token, rotated.body.access_token, rotated.body.id_token] as string[])
        assert.equal(bytes.includes(value), false, 'a token value in clear at rest');
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

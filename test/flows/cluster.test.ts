import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startServer, type RunningServer } from '../fixtures/server.ts';

const SECRET = 'cluster-service-secret-0123456789-abcdef';
const basic = `Basic ${Buffer.from(`svc:${SECRET}`).toString('base64')}`;

// TESSERA_WORKERS=2: the primary prepares the database once and forks two workers that share
// the port and the SQLite file; every worker must serve the same keys and clients.
describe('cluster mode (TESSERA_WORKERS=2)', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({
      env: { TESSERA_WORKERS: '2' },
      bootstrap: {
        clients: [
          {
            client_id: 'svc',
            client_secret: SECRET,
            grant_types: ['client_credentials'],
            scope: 'api',
            redirect_uris: [],
          },
        ],
      },
    });
  });
  after(async () => {
    await server?.stop();
  });

  it('starts the workers, and every response is signed by the one key the primary created', async () => {
    // /health answers as soon as one worker listens; the primary announces once both do.
    assert.match(await server.waitForOutput(/2 workers/), /2 workers/);
    const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
    const kids = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${server.issuer}/token`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', connection: 'close' },
        body: 'grant_type=client_credentials',
      });
      assert.equal(res.status, 200);
      const { access_token } = (await res.json()) as { access_token: string };
      const { protectedHeader } = await jwtVerify(access_token, jwks, { issuer: server.issuer });
      kids.add(protectedHeader.kid!);
    }
    assert.equal(kids.size, 1);
    // One key per signing algorithm (TESSERA_SIGNING_ALGS: ES256 and RS256), made once by the primary.
    const keys = (await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: { alg: string }[] };
    assert.deepEqual(keys.keys.map((k) => k.alg).sort(), ['ES256', 'RS256']);
  });

  it('a token revoked through one worker is inactive everywhere', async () => {
    const token = (
      (await (
        await fetch(`${server.issuer}/token`, {
          method: 'POST',
          headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials',
        })
      ).json()) as { access_token: string }
    ).access_token;
    const revoked = await fetch(`${server.issuer}/revoke`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', connection: 'close' },
      body: `token=${token}`,
    });
    assert.equal(revoked.status, 200);
    for (let i = 0; i < 10; i++) {
      const intro = await fetch(`${server.issuer}/introspect`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', connection: 'close' },
        body: `token=${token}`,
      });
      assert.deepEqual(await intro.json(), { active: false });
    }
  });
});

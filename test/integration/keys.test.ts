import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import type { App } from '../../src/app.ts';
import { retireSigningKey, rotateSigningKey } from '../../src/protocol/tokens/keys.ts';
import { basic, form, testApp } from '../fixtures/app.ts';

describe('signing-key rotation', () => {
  let app: App;
  before(async () => {
    app = await testApp('sqlite::memory:');
  });
  after(async () => {
    await app?.close();
  });

  const token = async () =>
    (await form(app, '/token', { grant_type: 'client_credentials' }, { authorization: basic('svc') })).json()
      .access_token as string;
  const active = async (t: string) =>
    (await form(app, '/introspect', { token: t }, { authorization: basic('rs') })).json().active as boolean;
  const jwks = async () => (await app.server.inject({ url: '/jwks' })).json().keys as { kid: string; alg: string }[];
  const es256 = async () => (await jwks()).filter((k) => k.alg === 'ES256');

  it('rotates once however many ask at once; the old key stays published until retired', async () => {
    const oldToken = await token();
    const oldKid = decodeProtectedHeader(oldToken).kid!;
    const { config } = app.provider;
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        rotateSigningKey(app.stores.keys, config.keyEncryptionKey, 'ES256', 900, app.provider.now()),
      ),
    );
    assert.equal(results.filter((r) => r.rotated).length, 1);
    const newKid = results.find((r) => r.rotated)!.kid;

    await app.reloadKeys();
    assert.deepEqual(
      (await es256()).map((k) => k.kid),
      [newKid, oldKid],
    );
    const newToken = await token();
    assert.equal(decodeProtectedHeader(newToken).kid, newKid);
    assert.equal(await active(oldToken), true); // signed by a key in grace
    assert.equal(await active(newToken), true);

    await assert.rejects(
      retireSigningKey(app.stores.keys, newKid, app.provider.now()),
      /is the active key: rotate first/,
    );
    await retireSigningKey(app.stores.keys, oldKid, app.provider.now());
    await app.reloadKeys();
    assert.deepEqual(
      (await es256()).map((k) => k.kid),
      [newKid],
    );
    assert.equal(await active(oldToken), false);
    assert.equal(await active(newToken), true);
  });

  it("rotating one algorithm leaves the other's key alone: RS256 rotates, access tokens stay on the ES256 key", async () => {
    const { config } = app.provider;
    const before = await app.stores.keys.list();
    const es = before.find((k) => k.state === 'active' && k.alg === 'ES256')!;
    const rs = before.find((k) => k.state === 'active' && k.alg === 'RS256')!;
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        rotateSigningKey(app.stores.keys, config.keyEncryptionKey, 'RS256', 900, app.provider.now()),
      ),
    );
    assert.equal(results.filter((r) => r.rotated).length, 1);
    await app.reloadKeys();
    const after = await app.stores.keys.list();
    assert.equal(after.find((k) => k.kid === es.kid)!.state, 'active');
    assert.equal(after.find((k) => k.kid === rs.kid)!.state, 'grace');
    assert.equal(app.provider.keys().signer('RS256')!.kid, results.find((r) => r.rotated)!.kid);
    assert.equal(decodeProtectedHeader(await token()).kid, es.kid);
  });

  it('an active key can be retired only when its algorithm is no longer configured: it stops signing and stays published through its grace', async () => {
    const now = app.provider.now();
    const rs = (await app.stores.keys.list()).find((k) => k.state === 'active' && k.alg === 'RS256')!;
    await assert.rejects(
      retireSigningKey(app.stores.keys, rs.kid, now, { configured: ['ES256', 'RS256'], gracePeriod: 900 }),
      /is the active key: rotate first/,
    );
    const t = await retireSigningKey(app.stores.keys, rs.kid, now, { configured: ['ES256'], gracePeriod: 900 });
    assert.deepEqual(t, { type: 'key_retired', kid: rs.kid, alg: 'RS256' });
    assert.deepEqual((await app.stores.keys.list()).find((k) => k.kid === rs.kid)!.state, 'grace');
    await app.reloadKeys();
    assert.ok((await jwks()).some((k) => k.kid === rs.kid)); // still published: what it signed verifies
    assert.notEqual(app.provider.keys().signer('RS256')?.kid, rs.kid); // no longer signs
  });
});

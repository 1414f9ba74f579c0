import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import type { App } from '../../src/app.ts';
import { retireSigningKey, rotateSigningKey } from '../../src/protocol/tokens/keys.ts';
import { basic, form, testApp } from '../fixtures/app.ts';

describe('signing-key rotation', () => {
  let app: App;
  before(async () => { app = await testApp('sqlite::memory:'); });
  after(async () => { await app?.close(); });

  const token = async () => (await form(app, '/token', { grant_type: 'client_credentials' }, { authorization: basic('svc') })).json().access_token as string;
  const active = async (t: string) => (await form(app, '/introspect', { token: t }, { authorization: basic('rs') })).json().active as boolean;
  const jwks = async () => (await app.server.inject({ url: '/jwks' })).json().keys as { kid: string }[];

  it('rotates once however many ask at once; the old key stays published until retired', async () => {
    const oldToken = await token();
    const oldKid = decodeProtectedHeader(oldToken).kid!;
    const { config } = app.provider;
    const results = await Promise.all(Array.from({ length: 5 }, () => rotateSigningKey(app.stores.keys, config.keyEncryptionKey, 'ES256', 900, app.provider.now())));
    assert.equal(results.filter((r) => r.rotated).length, 1);
    const newKid = results.find((r) => r.rotated)!.kid;

    await app.reloadKeys();
    assert.deepEqual((await jwks()).map((k) => k.kid), [newKid, oldKid]);
    const newToken = await token();
    assert.equal(decodeProtectedHeader(newToken).kid, newKid);
    assert.equal(await active(oldToken), true); // signed by a key in grace
    assert.equal(await active(newToken), true);

    await assert.rejects(retireSigningKey(app.stores.keys, newKid, app.provider.now()), /active key/);
    await retireSigningKey(app.stores.keys, oldKid, app.provider.now());
    await app.reloadKeys();
    assert.deepEqual((await jwks()).map((k) => k.kid), [newKid]);
    assert.equal(await active(oldToken), false);
    assert.equal(await active(newToken), true);
  });
});

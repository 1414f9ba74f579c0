/**
 * TESSERA_ADMIN_PORT: the admin API moves to a listener of its own (as Hydra's admin port). The main
 * listener then has no admin routes at all; the admin listener has them and /health, nothing else.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import { testApp } from '../fixtures/app.ts';

const TOKEN = 'admin-token-0123456789-abcdefghijklmnopqrstuvwxyz';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('a separate admin listener (TESSERA_ADMIN_PORT)', () => {
  let app: App;
  before(async () => {
    app = await testApp('sqlite::memory:', { TESSERA_ADMIN_TOKEN: TOKEN, TESSERA_ADMIN_PORT: '4998' });
  });
  after(() => app?.close());

  it('serves the admin API only on the admin listener', async () => {
    assert.ok(app.adminServer, 'an admin server is built');
    const main = await app.server.inject({ url: '/admin/api/v1/keys', headers: auth });
    assert.equal(main.statusCode, 404);
    assert.equal((await app.server.inject({ url: '/admin/api/v1/openapi.json' })).statusCode, 404);
    const admin = await app.adminServer.inject({ url: '/admin/api/v1/keys', headers: auth });
    assert.equal(admin.statusCode, 200, admin.body);
    assert.ok(Array.isArray(admin.json().keys));
  });

  it('has nothing else of the server on the admin listener but /health', async () => {
    assert.equal((await app.adminServer!.inject({ url: '/health' })).statusCode, 200);
    for (const url of ['/.well-known/openid-configuration', '/jwks', '/authorize', '/metrics'])
      assert.equal((await app.adminServer!.inject({ url })).statusCode, 404, url);
    assert.equal((await app.server.inject({ url: '/.well-known/openid-configuration' })).statusCode, 200);
  });

  it('without TESSERA_ADMIN_PORT the admin API is on the main listener', async () => {
    const one = await testApp('sqlite::memory:', { TESSERA_ADMIN_TOKEN: TOKEN });
    try {
      assert.equal(one.adminServer, undefined);
      assert.equal((await one.server.inject({ url: '/admin/api/v1/keys', headers: auth })).statusCode, 200);
    } finally {
      await one.close();
    }
  });
});

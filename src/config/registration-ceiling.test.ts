import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from './config.ts';

const PROD = {
  TESSERA_ENV: 'production',
  TESSERA_ISSUER: 'https://id.example.com',
  TESSERA_SECRET: 's'.repeat(40),
  TESSERA_KEY_ENCRYPTION_KEY: 'k'.repeat(40),
  TESSERA_SMTP_URL: 'smtp://mail.example.com:587',
};
const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

describe('the ceiling of dynamically registered clients', () => {
  it('defaults to the authorization code and refresh grants and the OpenID scopes', () => {
    const c = loadConfig({ TESSERA_ENV: 'development' });
    assert.deepEqual(c.registrationGrantTypes, ['authorization_code', 'refresh_token']);
    assert.deepEqual(c.registrationScopes, ['openid', 'profile', 'email', 'offline_access']);
  });

  it('refuses grants a client may not register for itself, and scopes the server does not offer', () => {
    assert.ok(
      problems({
        TESSERA_ENV: 'development',
        TESSERA_REGISTRATION_GRANT_TYPES: 'authorization_code urn:ietf:params:oauth:grant-type:token-exchange',
      }).some((p) => p.startsWith('TESSERA_REGISTRATION_GRANT_TYPES') && p.includes('token-exchange')),
    );
    assert.ok(
      problems({ TESSERA_ENV: 'development', TESSERA_REGISTRATION_SCOPES: 'openid orders.read' }).some(
        (p) => p.startsWith('TESSERA_REGISTRATION_SCOPES') && p.includes('orders.read'),
      ),
    );
    assert.deepEqual(
      problems({
        TESSERA_ENV: 'development',
        TESSERA_EXTRA_SCOPES: 'orders.read',
        TESSERA_REGISTRATION_SCOPES: 'openid orders.read',
      }),
      [],
    );
  });

  it('the production warning for open registration says what strangers get', () => {
    const narrow = loadConfig({ ...PROD, TESSERA_REGISTRATION: 'open' }).warnings.find((w) =>
      w.startsWith('TESSERA_REGISTRATION is open'),
    );
    assert.ok(narrow);
    assert.match(narrow, /grants authorization_code, refresh_token/);
    assert.match(narrow, /scopes openid profile email offline_access/);
    assert.match(narrow, /only for the default audience and the resource servers of the registry/);
    assert.doesNotMatch(narrow, /without any user/);
    const wide = loadConfig({
      ...PROD,
      TESSERA_REGISTRATION: 'open',
      TESSERA_REGISTRATION_GRANT_TYPES: 'client_credentials',
      TESSERA_EXTRA_SCOPES: 'api:read',
      TESSERA_REGISTRATION_SCOPES: 'api:read',
    }).warnings.find((w) => w.startsWith('TESSERA_REGISTRATION is open'));
    assert.match(wide ?? '', /grants client_credentials .*scopes api:read/);
    assert.match(wide ?? '', /access tokens without any user or consent/);
    assert.equal(
      loadConfig({ ...PROD, TESSERA_REGISTRATION: 'admin_approval' }).warnings.some((w) =>
        w.startsWith('TESSERA_REGISTRATION is open'),
      ),
      false,
    );
  });
});

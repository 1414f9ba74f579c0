import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildClient } from '../../admin/clients.ts';
import { loadConfig } from '../../config/config.ts';
import { OAuthError } from '../errors.ts';
import type { Provider } from '../provider.ts';
import { registrationInput } from './register.ts';

const config = loadConfig({
  TESSERA_ENV: 'development',
  TESSERA_ISSUER: 'http://localhost:4000',
  TESSERA_EXTRA_SCOPES: 'api:read',
});
const p = { config } as Provider;
const wider = loadConfig({
  TESSERA_ENV: 'development',
  TESSERA_ISSUER: 'http://localhost:4000',
  TESSERA_EXTRA_SCOPES: 'api:read',
  TESSERA_REGISTRATION_SCOPES: 'openid profile email offline_access api:read',
  TESSERA_REGISTRATION_GRANT_TYPES: 'authorization_code refresh_token client_credentials',
});
const code = (body: unknown, c = config) => {
  try {
    const input = registrationInput({ config: c } as Provider, body, 'c1');
    buildClient(c, input, undefined, 1);
    return 'ok';
  } catch (err) {
    if (err instanceof OAuthError) return err.code;
    return 'invalid_client_metadata';
  }
};

describe('registry scopes at registration (TESSERA_REGISTRATION_RESOURCE_SCOPES)', () => {
  const on = loadConfig({
    TESSERA_ENV: 'development',
    TESSERA_ISSUER: 'http://localhost:4000',
    TESSERA_REGISTRATION_RESOURCE_SCOPES: 'true',
  });
  const registry = ['mcp:tools', 'files:read'];
  const outcome = (c: typeof on, scope: string) => {
    try {
      return registrationInput(
        { config: c } as Provider,
        { redirect_uris: ['https://rp.example/cb'], scope },
        'c1',
        registry,
      ).scope;
    } catch (err) {
      return (err as OAuthError).code;
    }
  };
  for (const [name, c, scope, expected] of [
    ['on: a registry scope', on, 'openid mcp:tools', 'openid mcp:tools'],
    ['on: scopes of two resources', on, 'mcp:tools files:read', 'mcp:tools files:read'],
    ['on: a scope of no resource', on, 'mcp:tools other', 'invalid_client_metadata'],
    ['off: a registry scope is not offered', config, 'mcp:tools', 'invalid_client_metadata'],
    ['off: an extra scope outside TESSERA_REGISTRATION_SCOPES', config, 'api:read', 'invalid_client_metadata'],
    ['on: an extra scope outside TESSERA_REGISTRATION_SCOPES', on, 'api:read', 'invalid_client_metadata'],
  ] as const)
    it(name, () => assert.equal(outcome(c, scope), expected));
});

describe('registration metadata (RFC 7591)', () => {
  it('applies the RFC 7591 defaults and keeps only self-service members', () => {
    const input = registrationInput(
      p,
      {
        redirect_uris: ['https://rp.example/cb'],
        skip_consent: true,
        disabled: false,
        allowed_resources: ['x'],
        token_exchange: {},
        client_id: 'mine',
        client_secret: 'mine',
        logo_uri: 'https://x/logo.png',
        contacts: ['a@x'],
      },
      'c1',
    );
    assert.equal(input.client_id, 'c1');
    assert.deepEqual(input.grant_types, ['authorization_code']);
    assert.equal(input.token_endpoint_auth_method, 'client_secret_basic');
    assert.equal(input.application_type, 'web');
    for (const k of ['skip_consent', 'disabled', 'allowed_resources', 'token_exchange', 'client_secret', 'contacts'])
      assert.equal(k in input, false, k);
    // RFC 7591 section 2: the URLs shown on the consent page are kept; one left out is reset.
    assert.equal(input.logo_uri, 'https://x/logo.png');
    assert.equal(input.tos_uri, null);
    // Every self-service member is present, so an update resets what it leaves out (RFC 7592 section 2.2).
    for (const k of ['jwks', 'jwks_uri', 'subject_type', 'sector_identifier_uri', 'request_object_signing_alg'])
      assert.ok(k in input, k);
    assert.equal(input.dpop_bound_access_tokens, false);
  });

  it('classifies problems with the RFC 7591 error codes', () => {
    const web = { redirect_uris: ['https://rp.example/cb'] };
    assert.equal(code(web), 'ok');
    assert.equal(
      code({
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['com.example.app:/cb', 'http://127.0.0.1/cb'],
      }),
      'ok',
    );
    // Least privilege (issue 13 point 7): other scopes and grants only when the operator allows them.
    assert.equal(code({ ...web, scope: 'openid api:read' }), 'invalid_client_metadata');
    assert.equal(code({ grant_types: ['client_credentials'] }), 'invalid_client_metadata');
    assert.equal(code({ ...web, scope: 'openid api:read' }, wider), 'ok');
    assert.equal(code({ grant_types: ['client_credentials'] }, wider), 'ok');
    assert.equal(code([]), 'invalid_client_metadata');
    assert.equal(code(null), 'invalid_client_metadata');
    assert.equal(code('x'), 'invalid_client_metadata');
    assert.equal(code({ redirect_uris: ['http://rp.example/cb'] }), 'invalid_redirect_uri');
    assert.equal(code({ redirect_uris: ['https://rp.example/cb#f'] }), 'invalid_redirect_uri');
    assert.equal(code({ redirect_uris: ['/relative'] }), 'invalid_redirect_uri');
    assert.equal(code({ redirect_uris: [42] }), 'invalid_client_metadata');
    assert.equal(
      code({ redirect_uris: Array.from({ length: 21 }, (_, i) => `https://rp.example/${i}`) }),
      'invalid_client_metadata',
    );
    assert.equal(code({ ...web, grant_types: ['password'] }), 'invalid_client_metadata');
    assert.equal(code({ ...web, response_types: ['code id_token'] }), 'invalid_client_metadata');
    assert.equal(code({ grant_types: ['client_credentials'], response_types: ['code'] }), 'invalid_client_metadata');
    assert.equal(code({ ...web, scope: 'openid root' }), 'invalid_client_metadata');
    assert.equal(code({ ...web, dpop_bound_access_tokens: 'yes' }), 'invalid_client_metadata');
    assert.equal(code({ ...web, jwks: [] }), 'invalid_client_metadata');
    assert.equal(code({ ...web, jwks_uri: 'http://keys.example/jwks' }), 'invalid_client_metadata');
    assert.equal(code({ ...web, token_endpoint_auth_method: 'private_key_jwt' }), 'invalid_client_metadata');
    assert.equal(code({ ...web, application_type: 'desktop' }), 'invalid_client_metadata');
    assert.equal(code({ ...web, software_statement: 'x.y' }), 'invalid_software_statement');
    assert.equal(
      code({ ...web, software_statement: 'eyJhbGciOiJub25lIn0.eyJzb2Z0d2FyZV9pZCI6IngifQ.' }),
      'unapproved_software_statement',
    );
  });

  it('application_type: named, web by default, or inferred from the redirect URIs with `infer`', () => {
    const infer = loadConfig({
      TESSERA_ENV: 'development',
      TESSERA_ISSUER: 'http://localhost:4000',
      TESSERA_REGISTRATION_APPLICATION_TYPE: 'infer',
    });
    const typeOf = (body: Record<string, unknown>, c = config) =>
      registrationInput({ config: c } as Provider, { token_endpoint_auth_method: 'none', ...body }, 'c1')
        .application_type;
    const loopback = { redirect_uris: ['http://127.0.0.1:33418/callback'] };
    const privateUse = { redirect_uris: ['com.example.mcp:/callback', 'http://localhost/cb'] };
    const mixed = { redirect_uris: ['http://127.0.0.1/cb', 'https://rp.example/cb'] };
    assert.equal(typeOf(loopback), 'web');
    assert.equal(typeOf(loopback, infer), 'native');
    assert.equal(typeOf(privateUse, infer), 'native');
    assert.equal(typeOf(mixed, infer), 'web');
    assert.equal(typeOf({ redirect_uris: [] }, infer), 'web');
    // A named type wins over the inference.
    assert.equal(typeOf({ ...loopback, application_type: 'web' }, infer), 'web');
    assert.equal(typeOf({ ...loopback, application_type: 'native' }), 'native');
    // A private-use scheme needs a native client: refused as web, accepted when inferred.
    assert.equal(code({ ...privateUse, token_endpoint_auth_method: 'none' }), 'invalid_redirect_uri');
    assert.equal(code({ ...privateUse, token_endpoint_auth_method: 'none' }, infer), 'ok');
  });
});

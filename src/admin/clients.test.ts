import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { loadConfig } from '../config/config.ts';
import { AdminError, buildClient, describeClient, type ClientInput } from './clients.ts';

const dev = loadConfig({ TESSERA_ENV: 'development', TESSERA_ISSUER: 'http://localhost:4000' });
const strong = 's'.repeat(40);
const prod = loadConfig({
  TESSERA_ENV: 'production',
  TESSERA_ISSUER: 'https://id.example.com',
  TESSERA_SECRET: strong,
  TESSERA_KEY_ENCRYPTION_KEY: `${strong}k`,
  TESSERA_SMTP_URL: 'smtp://mail.example.com:587',
});

const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
const pub = { ...(await exportJWK(publicKey)), kid: 'k1' };
const priv = { ...(await exportJWK(privateKey)), kid: 'k1' };
const svc: ClientInput = { client_id: 'svc', grant_types: ['client_credentials'], scope: 'api', redirect_uris: [] };
const problems = (input: ClientInput, config = dev) => {
  try {
    buildClient(config, input, undefined, 1);
    return '';
  } catch (err) {
    assert.ok(err instanceof AdminError);
    return err.message;
  }
};

describe('client key metadata', () => {
  it('private_key_jwt with inline public keys or a jwks_uri; shown by describeClient', () => {
    const { client } = buildClient(
      dev,
      {
        ...svc,
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [pub] },
        token_endpoint_auth_signing_alg: 'ES256',
      },
      undefined,
      1,
    );
    assert.equal(client.secretHash, null);
    assert.deepEqual(client.metadata.jwks, { keys: [pub] });
    assert.deepEqual(describeClient(client).jwks, { keys: [pub] });
    assert.equal(describeClient(client).token_endpoint_auth_signing_alg, 'ES256');
    assert.equal(
      buildClient(
        prod,
        { ...svc, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://svc.example.com/jwks' },
        undefined,
        1,
      ).client.metadata.jwks_uri,
      'https://svc.example.com/jwks',
    );
  });
  it('refuses private keys, both jwks and jwks_uri, a missing key set, insecure jwks_uri (production: no loopback http)', () => {
    assert.match(
      problems({ ...svc, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [priv] } }),
      /private members/,
    );
    assert.match(
      problems({
        ...svc,
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [pub] },
        jwks_uri: 'https://svc.example/jwks',
      }),
      /cannot both/,
    );
    assert.match(problems({ ...svc, token_endpoint_auth_method: 'private_key_jwt' }), /needs jwks or jwks_uri/);
    assert.match(
      problems({ ...svc, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://svc.example/jwks' }),
      /https/,
    );
    assert.equal(
      problems({ ...svc, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://127.0.0.1:9000/jwks' }),
      '',
    );
    assert.match(
      problems({ ...svc, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://127.0.0.1:9000/jwks' }, prod),
      /https/,
    );
    assert.match(
      problems({
        ...svc,
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [pub] },
        client_secret: 'x'.repeat(40),
      }),
      /no client_secret/,
    );
  });
  it('algorithms: asymmetric for private_key_jwt and request objects, HMAC for client_secret_jwt, never none', () => {
    assert.match(
      problems({
        ...svc,
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [pub] },
        token_endpoint_auth_signing_alg: 'HS256',
      }),
      /must be one of/,
    );
    assert.match(
      problems({
        ...svc,
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [pub] },
        token_endpoint_auth_signing_alg: 'none',
      }),
      /must be one of/,
    );
    assert.match(
      problems({ ...svc, token_endpoint_auth_method: 'client_secret_jwt', token_endpoint_auth_signing_alg: 'RS256' }),
      /must be one of HS256/,
    );
    assert.equal(
      problems({ ...svc, token_endpoint_auth_method: 'client_secret_jwt', token_endpoint_auth_signing_alg: 'HS256' }),
      '',
    );
    assert.match(problems({ ...svc, token_endpoint_auth_signing_alg: 'HS256' }), /applies only/);
    assert.match(
      problems({ ...svc, jwks: { keys: [pub] }, request_object_signing_alg: 'none' }),
      /request_object_signing_alg/,
    );
    assert.match(
      problems({ ...svc, jwks: { keys: [pub] }, request_object_signing_alg: 'HS256' }),
      /request_object_signing_alg/,
    );
    assert.match(problems({ ...svc, require_signed_request_object: true }), /need the client's keys/);
    assert.match(
      problems({ ...svc, jwks: { keys: [pub] }, require_signed_request_object: 'yes' as never }),
      /true or false/,
    );
  });
  it('giving jwks_uri replaces stored jwks; leaving both out keeps them', () => {
    const { client } = buildClient(
      dev,
      { ...svc, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [pub] } },
      undefined,
      1,
    );
    const moved = buildClient(dev, { ...svc, jwks_uri: 'https://svc.example/jwks' }, client, 2).client;
    assert.equal(moved.metadata.jwks, undefined);
    assert.equal(moved.metadata.jwks_uri, 'https://svc.example/jwks');
    assert.deepEqual(buildClient(dev, { ...svc }, client, 2).client.metadata.jwks, { keys: [pub] });
  });
});

describe('mutual-TLS client metadata (RFC 8705)', () => {
  it('tls_client_auth with one SAN: no secret, shown by describeClient; switching methods drops the SAN', () => {
    const { client, secret } = buildClient(
      dev,
      {
        ...svc,
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_san_uri: 'https://svc.example/id',
        tls_client_certificate_bound_access_tokens: true,
      },
      undefined,
      1,
    );
    assert.equal(secret, undefined);
    assert.equal(client.secretHash, null);
    const shown = describeClient(client);
    assert.equal(shown.tls_client_auth_san_uri, 'https://svc.example/id');
    assert.equal(shown.tls_client_certificate_bound_access_tokens, true);
    const moved = buildClient(
      dev,
      { ...svc, token_endpoint_auth_method: 'self_signed_tls_client_auth', jwks: { keys: [pub] } },
      client,
      2,
    ).client;
    assert.equal(moved.metadata.tls_client_auth_san_uri, undefined);
    assert.equal(moved.metadata.tls_client_certificate_bound_access_tokens, true);
    const unbound = buildClient(dev, { ...svc, tls_client_certificate_bound_access_tokens: false }, moved, 3).client;
    assert.equal(unbound.metadata.tls_client_certificate_bound_access_tokens, undefined);
  });

  it('refuses a missing or second subject, a malformed value, a secret, and DPoP binding together with certificate binding', () => {
    assert.match(problems({ ...svc, token_endpoint_auth_method: 'tls_client_auth' }), /exactly one/);
    assert.match(
      problems({
        ...svc,
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_subject_dn: 'CN=a',
        tls_client_auth_san_email: 'a@b.example',
      }),
      /exactly one/,
    );
    assert.match(
      problems({ ...svc, token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_ip: '1.2.3' }),
      /IPv4 or IPv6/,
    );
    assert.match(
      problems({
        ...svc,
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_san_dns: 'a.example',
        client_secret: strong,
      }),
      /no client_secret/,
    );
    assert.match(problems({ ...svc, token_endpoint_auth_method: 'self_signed_tls_client_auth' }), /jwks or jwks_uri/);
    assert.match(
      problems({ ...svc, tls_client_certificate_bound_access_tokens: true, dpop_bound_access_tokens: true }),
      /cannot both be true/,
    );
    assert.match(problems({ ...svc, tls_client_certificate_bound_access_tokens: 'yes' as never }), /true or false/);
  });
});

describe('client mfa metadata', () => {
  const web: ClientInput = {
    client_id: 'web',
    redirect_uris: ['https://app.example/cb'],
    grant_types: ['authorization_code'],
    scope: 'openid',
  };
  it('takes one of the policies, refuses anything else, and null removes it', () => {
    const { client } = buildClient(dev, { ...web, mfa: 'required' }, undefined, 1);
    assert.equal(client.metadata.mfa, 'required');
    assert.match(problems({ ...web, mfa: 'always' as 'required' }), /mfa must be one of off, optional, required/);
    const { client: cleared } = buildClient(dev, { ...web, mfa: null as unknown as undefined }, client, 2);
    assert.equal(cleared.metadata.mfa, undefined);
    assert.equal(describeClient(client).mfa, 'required');
  });
});

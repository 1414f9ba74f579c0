import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { loadConfig } from '../config/config.ts';
import { AdminError, buildClient, describeClient, type ClientInput } from './clients.ts';

const dev = loadConfig({ TESSERA_ENV: 'development', TESSERA_ISSUER: 'http://localhost:4000' });
const strong = 's'.repeat(40);
const prod = loadConfig({ TESSERA_ENV: 'production', TESSERA_ISSUER: 'https://id.example.com', TESSERA_SECRET: strong, TESSERA_KEY_ENCRYPTION_KEY: `${strong}k` });

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
    const { client } = buildClient(dev, { ...svc, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [pub] }, token_endpoint_auth_signing_alg: 'ES256' }, undefined, 1);
    assert.equal(client.secretHash, null);
    assert.deepEqual(client.metadata.jwks, { keys: [pub] });
    assert.deepEqual(describeClient(client).jwks, { keys: [pub] });
    assert.equal(describeClient(client).token_endpoint_auth_signing_alg, 'ES256');
    assert.equal(buildClient(prod, { ...svc, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://svc.example/jwks' }, undefined, 1).client.metadata.jwks_uri, 'https://svc.example/jwks');
  });
  it('refuses private keys, both jwks and jwks_uri, a missing key set, insecure jwks_uri (production: no loopback http)', () => {
    assert.match(problems({ ...svc, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [priv] } }), /private members/);
    assert.match(problems({ ...svc, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [pub] }, jwks_uri: 'https://svc.example/jwks' }), /cannot both/);
    assert.match(problems({ ...svc, token_endpoint_auth_method: 'private_key_jwt' }), /needs jwks or jwks_uri/);
    assert.match(problems({ ...svc, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://svc.example/jwks' }), /https/);
    assert.equal(problems({ ...svc, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://127.0.0.1:9000/jwks' }), '');
    assert.match(problems({ ...svc, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://127.0.0.1:9000/jwks' }, prod), /https/);
    assert.match(problems({ ...svc, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [pub] }, client_secret: 'x'.repeat(40) }), /no client_secret/);
  });
  it('algorithms: asymmetric for private_key_jwt and request objects, HMAC for client_secret_jwt, never none', () => {
    assert.match(problems({ ...svc, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [pub] }, token_endpoint_auth_signing_alg: 'HS256' }), /must be one of/);
    assert.match(problems({ ...svc, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [pub] }, token_endpoint_auth_signing_alg: 'none' }), /must be one of/);
    assert.match(problems({ ...svc, token_endpoint_auth_method: 'client_secret_jwt', token_endpoint_auth_signing_alg: 'RS256' }), /must be one of HS256/);
    assert.equal(problems({ ...svc, token_endpoint_auth_method: 'client_secret_jwt', token_endpoint_auth_signing_alg: 'HS256' }), '');
    assert.match(problems({ ...svc, token_endpoint_auth_signing_alg: 'HS256' }), /applies only/);
    assert.match(problems({ ...svc, jwks: { keys: [pub] }, request_object_signing_alg: 'none' }), /request_object_signing_alg/);
    assert.match(problems({ ...svc, jwks: { keys: [pub] }, request_object_signing_alg: 'HS256' }), /request_object_signing_alg/);
    assert.match(problems({ ...svc, require_signed_request_object: true }), /need the client's keys/);
    assert.match(problems({ ...svc, jwks: { keys: [pub] }, require_signed_request_object: 'yes' as never }), /true or false/);
  });
  it('giving jwks_uri replaces stored jwks; leaving both out keeps them', () => {
    const { client } = buildClient(dev, { ...svc, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [pub] } }, undefined, 1);
    const moved = buildClient(dev, { ...svc, jwks_uri: 'https://svc.example/jwks' }, client, 2).client;
    assert.equal(moved.metadata.jwks, undefined);
    assert.equal(moved.metadata.jwks_uri, 'https://svc.example/jwks');
    assert.deepEqual(buildClient(dev, { ...svc }, client, 2).client.metadata.jwks, { keys: [pub] });
  });
});

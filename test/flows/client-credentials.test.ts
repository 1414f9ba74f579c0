/**
 * Client credentials, introspection by another client, and revocation — back-channel only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import { rejectsWith, rpConfig } from './support.ts';

const SERVICE_SECRET = 'service-secret-0123456789abcdef';
const INTROSPECTOR_SECRET = 'introspector-secret-0123456789ab';
const API = 'https://api.example.com';

describe('client credentials', () => {
  let server: RunningServer;
  let service: client.Configuration;
  let introspector: client.Configuration;
  let jwks: ReturnType<typeof createRemoteJWKSet>;

  before(async () => {
    server = await startServer({
      bootstrap: {
        clients: [
          {
            client_id: 'service',
            client_secret: SERVICE_SECRET,
            token_endpoint_auth_method: 'client_secret_basic',
            grant_types: ['client_credentials'],
            scope: 'api.read api.write',
            allowed_resources: [API],
          },
          {
            client_id: 'introspector',
            client_secret: INTROSPECTOR_SECRET,
            token_endpoint_auth_method: 'client_secret_post',
            grant_types: ['client_credentials'],
            scope: 'introspect',
          },
        ],
      },
    });
    service = await rpConfig(server.issuer, 'service', client.ClientSecretBasic(SERVICE_SECRET));
    introspector = await rpConfig(server.issuer, 'introspector', client.ClientSecretPost(INTROSPECTOR_SECRET));
    jwks = createRemoteJWKSet(new URL(service.serverMetadata().jwks_uri!));
  });
  after(async () => {
    await server?.stop();
  });

  it('issues a JWT access token for the client itself, audience the issuer by default or the requested resource', async () => {
    const tokens = await client.clientCredentialsGrant(service, { scope: 'api.read' });
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.refresh_token, undefined);
    assert.equal(tokens.id_token, undefined);
    assert.ok(tokens.expires_in! > 0);
    const { payload } = await jwtVerify(tokens.access_token, jwks, {
      issuer: server.issuer,
      audience: server.issuer,
      typ: 'at+jwt',
    });
    assert.equal(payload.sub, 'service');
    assert.equal(payload.client_id, 'service');
    assert.equal(payload.scope, 'api.read');
    assert.equal(typeof payload.jti, 'string');

    // Without scope: everything the client is registered for.
    const all = await client.clientCredentialsGrant(service);
    assert.equal(decodeJwt(all.access_token).scope, 'api.read api.write');

    // RFC 8707 resource: becomes the audience.
    const forApi = await client.clientCredentialsGrant(service, { scope: 'api.write', resource: API });
    const { payload: apiClaims } = await jwtVerify(forApi.access_token, jwks, {
      issuer: server.issuer,
      audience: API,
      typ: 'at+jwt',
    });
    assert.equal(apiClaims.aud, API);

    await rejectsWith(
      client.clientCredentialsGrant(service, { resource: 'https://other.example.com' }),
      'invalid_target',
    );
    await rejectsWith(client.clientCredentialsGrant(service, { scope: 'api.admin' }), 'invalid_scope');
    await rejectsWith(
      client.clientCredentialsGrant(await rpConfig(server.issuer, 'service', client.ClientSecretBasic('wrong-secret'))),
      'invalid_client',
    );
  });

  it('another confidential client introspects the token; after revocation it is inactive', async () => {
    const tokens = await client.clientCredentialsGrant(service, { scope: 'api.read api.write' });
    const info = await client.tokenIntrospection(introspector, tokens.access_token);
    assert.equal(info.active, true);
    assert.equal(info.client_id, 'service');
    assert.equal(info.sub, 'service');
    assert.equal(info.scope, 'api.read api.write');
    assert.equal(info.iss, server.issuer);
    assert.equal(typeof info.exp, 'number');

    await client.tokenRevocation(service, tokens.access_token, { token_type_hint: 'access_token' });
    assert.deepEqual(await client.tokenIntrospection(introspector, tokens.access_token), { active: false });
    assert.deepEqual(await client.tokenIntrospection(service, tokens.access_token), { active: false });

    // Revoking an unknown token is not an error (RFC 7009 section 2.2).
    await client.tokenRevocation(service, 'not-a-token-we-issued');
    // Another client may not revoke the service's token.
    const other = await client.clientCredentialsGrant(service);
    await rejectsWith(client.tokenRevocation(introspector, other.access_token), 'unauthorized_client');
    assert.equal((await client.tokenIntrospection(introspector, other.access_token)).active, true);
  });
});

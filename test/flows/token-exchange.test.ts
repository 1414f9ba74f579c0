/**
 * Token exchange (RFC 8693) black box: openid-client's generic grant request against the real
 * server process, the result verified with jose against the published JWKS.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import { rejectsWith, rpConfig } from './support.ts';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AT = 'urn:ietf:params:oauth:token-type:access_token';
const SECRET = 'flow-exchange-secret-0123456789-abcdefgh';

describe('token exchange', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({
      bootstrap: {
        clients: [
          {
            client_id: 'frontend-svc',
            client_secret: SECRET,
            grant_types: ['client_credentials'],
            scope: 'orders:read orders:write',
            redirect_uris: [],
          },
          {
            client_id: 'agent',
            client_secret: SECRET,
            grant_types: ['client_credentials'],
            scope: 'orders:read',
            redirect_uris: [],
          },
          {
            client_id: 'gateway',
            client_secret: SECRET,
            grant_types: [GRANT],
            scope: 'orders:read',
            redirect_uris: [],
            token_exchange: {
              audiences: ['https://orders.example/'],
              subject_clients: ['frontend-svc'],
              delegation: true,
              actor_clients: ['agent'],
            },
          },
        ],
      },
      env: { TESSERA_EXTRA_SCOPES: 'orders:read orders:write' },
    });
  });
  after(async () => {
    await server?.stop();
  });

  it('a gateway trades a service token for one meant for the orders API, with fewer scopes', async () => {
    const frontend = await rpConfig(server.issuer, 'frontend-svc', client.ClientSecretBasic(SECRET));
    const gateway = await rpConfig(server.issuer, 'gateway', client.ClientSecretBasic(SECRET));
    assert.ok(gateway.serverMetadata().grant_types_supported?.includes(GRANT));
    const subject = await client.clientCredentialsGrant(frontend, { scope: 'orders:read orders:write' });
    const exchanged = await client.genericGrantRequest(gateway, GRANT, {
      subject_token: subject.access_token,
      subject_token_type: AT,
      audience: 'https://orders.example/',
    });
    assert.equal(exchanged.issued_token_type, AT);
    assert.equal(exchanged.scope, 'orders:read');
    const { payload } = await jwtVerify(exchanged.access_token, createRemoteJWKSet(new URL(`${server.issuer}/jwks`)), {
      issuer: server.issuer,
      audience: 'https://orders.example/',
      typ: 'at+jwt',
    });
    assert.equal(payload.sub, 'frontend-svc');
    assert.equal(payload.client_id, 'gateway');
    await rejectsWith(
      client.genericGrantRequest(gateway, GRANT, {
        subject_token: subject.access_token,
        subject_token_type: AT,
        audience: 'https://elsewhere.example/',
      }),
      'invalid_target',
    );
    await rejectsWith(
      client.genericGrantRequest(frontend, GRANT, {
        subject_token: subject.access_token,
        subject_token_type: AT,
        audience: 'https://orders.example/',
      }),
      'unauthorized_client',
    );
  });

  it('delegation: an agent acts for the service; the new token names it in act (RFC 8693 section 4.1)', async () => {
    const frontend = await rpConfig(server.issuer, 'frontend-svc', client.ClientSecretBasic(SECRET));
    const agent = await rpConfig(server.issuer, 'agent', client.ClientSecretBasic(SECRET));
    const gateway = await rpConfig(server.issuer, 'gateway', client.ClientSecretBasic(SECRET));
    const subject = await client.clientCredentialsGrant(frontend, { scope: 'orders:read orders:write' });
    const actor = await client.clientCredentialsGrant(agent, { scope: 'orders:read' });
    const exchanged = await client.genericGrantRequest(gateway, GRANT, {
      subject_token: subject.access_token,
      subject_token_type: AT,
      actor_token: actor.access_token,
      actor_token_type: AT,
      audience: 'https://orders.example/',
    });
    assert.equal(exchanged.issued_token_type, AT);
    const { payload } = await jwtVerify(exchanged.access_token, createRemoteJWKSet(new URL(`${server.issuer}/jwks`)), {
      issuer: server.issuer,
      audience: 'https://orders.example/',
      typ: 'at+jwt',
    });
    assert.equal(payload.sub, 'frontend-svc');
    assert.deepEqual(payload.act, { sub: 'agent', client_id: 'agent' });
    // The subject token as its own actor: frontend-svc is not an actor client.
    await rejectsWith(
      client.genericGrantRequest(gateway, GRANT, {
        subject_token: subject.access_token,
        subject_token_type: AT,
        actor_token: subject.access_token,
        actor_token_type: AT,
        audience: 'https://orders.example/',
      }),
      'invalid_request',
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientRecord } from '../ports/clients.ts';
import { pkceOptional, pkceOptOutClients, pkceOptOutProblem } from './pkce.ts';

const config = { fapiProfile: 'none' as const, fapiMessageSigning: false };
const client = (over: Partial<ClientRecord> = {}, metadata: ClientRecord['metadata'] = {}): ClientRecord => ({
  clientId: 'c',
  clientName: 'c',
  secretHash: 'h',
  tokenEndpointAuthMethod: 'client_secret_basic',
  applicationType: 'web',
  redirectUris: ['https://c.example/cb'],
  postLogoutRedirectUris: [],
  grantTypes: ['authorization_code'],
  scopes: ['openid'],
  allowedResources: [],
  skipConsent: false,
  disabled: false,
  metadata: { pkce_required: false, ...metadata },
  createdAt: 0,
  updatedAt: 0,
  ...over,
});

describe('PKCE opt-out', () => {
  it('applies only to confidential, operator-made, non-FAPI clients that have it', () => {
    assert.equal(pkceOptional(config, client()), true);
    assert.equal(pkceOptional(config, client({}, { pkce_required: undefined })), false);
    assert.equal(pkceOptional(config, client({ tokenEndpointAuthMethod: 'none', secretHash: null })), false);
    assert.equal(pkceOptional(config, client({}, { fapi_profile: '2.0' })), false);
    assert.equal(pkceOptional({ ...config, fapiProfile: '2.0' }, client()), false);
    assert.equal(pkceOptional(config, client({}, { registration: { access_token_hash: 'x', mode: 'open' } })), false);
  });

  it('names the reason it may not be set, and lists the clients for the start-up warning', () => {
    assert.equal(pkceOptOutProblem(config, client()), undefined);
    assert.match(pkceOptOutProblem(config, client({ tokenEndpointAuthMethod: 'none' }))!, /confidential/);
    assert.match(pkceOptOutProblem({ ...config, fapiProfile: '2.0' }, client())!, /FAPI/);
    assert.match(
      pkceOptOutProblem(config, client({}, { registration: { access_token_hash: 'x', mode: 'open' } }))!,
      /dynamically registered/,
    );
    assert.deepEqual(
      pkceOptOutClients(config, [
        client(),
        client({ clientId: 'd' }, { pkce_required: undefined }),
        client({ clientId: 'e' }, { fapi_profile: '2.0' }),
      ]),
      ['c', 'e (ignored: public, self-registered or FAPI)'],
    );
  });
});

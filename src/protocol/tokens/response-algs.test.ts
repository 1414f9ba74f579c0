import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultResponseAlg, offeredAlgs, responseAlg } from './response-algs.ts';

const config = {
  signingAlg: 'ES256',
  signingAlgs: ['ES256', 'RS256'],
  fapiProfile: 'none' as const,
  fapiMessageSigning: false,
};
const client = (metadata: Record<string, unknown> = {}) => ({ metadata });

describe('response signing algorithms', () => {
  it('ID tokens, logout tokens, JARM and JWT introspection default to RS256; userinfo is unsigned unless registered', () => {
    for (const a of ['id_token', 'logout_token', 'authorization', 'introspection'] as const)
      assert.equal(responseAlg(config, client(), a), 'RS256', a);
    assert.equal(responseAlg(config, client(), 'userinfo'), undefined);
    assert.equal(responseAlg(config, client({ userinfo_signed_response_alg: 'ES256' }), 'userinfo'), 'ES256');
    assert.equal(responseAlg(config, client({ id_token_signed_response_alg: 'ES256' }), 'id_token'), 'ES256');
    assert.equal(responseAlg(config, client({ id_token_signed_response_alg: 'ES256' }), 'logout_token'), 'ES256');
  });
  it('FAPI 2.0 clients default to ES256 (else PS256) and never get RS256, even one recorded for them', () => {
    const fapi = client({ fapi_profile: '2.0' });
    assert.equal(responseAlg(config, fapi, 'id_token'), 'ES256');
    assert.equal(defaultResponseAlg({ ...config, signingAlgs: ['RS256', 'PS256'] }, fapi), 'PS256');
    assert.equal(
      responseAlg(config, client({ fapi_profile: '2.0', id_token_signed_response_alg: 'RS256' }), 'id_token'),
      'ES256',
    );
    assert.equal(
      responseAlg({ ...config, fapiProfile: '2.0' }, client({ id_token_signed_response_alg: 'RS256' }), 'id_token'),
      'ES256',
    );
  });
  it('without RS256 configured, the default is the primary algorithm', () => {
    assert.equal(responseAlg({ ...config, signingAlgs: ['ES256'] }, client(), 'id_token'), 'ES256');
  });
  it('offers the configured algorithms, the FAPI ones only under TESSERA_FAPI_PROFILE=2.0', () => {
    assert.deepEqual(offeredAlgs(config), ['ES256', 'RS256']);
    assert.deepEqual(offeredAlgs({ ...config, fapiProfile: '2.0' }), ['ES256']);
  });
});

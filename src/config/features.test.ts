import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from './config.ts';
import { FEATURE_NAMES, featureEnabled } from './features.ts';
import { configProblems } from '../../test/fixtures/config.ts';

const problems = configProblems;

describe('feature switches, RAR types and the FAPI 2.0 profile at start-up', () => {
  it('turns listed features off and refuses unknown names', () => {
    const c = loadConfig({ TESSERA_FEATURES_DISABLED: 'par, dpop device_flow' });
    assert.equal(featureEnabled(c, 'par'), false);
    assert.equal(featureEnabled(c, 'device_flow'), false);
    assert.equal(featureEnabled(c, 'rar'), true);
    const [p] = problems({ TESSERA_FEATURES_DISABLED: 'par,registration' });
    assert.match(p!, /^TESSERA_FEATURES_DISABLED: unknown feature "registration" \(known: /);
    for (const f of FEATURE_NAMES) assert.ok(p!.includes(f));
  });
  it('parses RAR types and names the setting of a bad one', () => {
    const c = loadConfig({
      TESSERA_AUTHORIZATION_DETAILS_TYPES: 'payment_initiation=instructedAmount|creditorName account_information',
    });
    assert.deepEqual(c.authorizationDetailsTypes, [
      { type: 'payment_initiation', fields: ['instructedAmount', 'creditorName'] },
      { type: 'account_information' },
    ]);
    assert.match(
      problems({ TESSERA_AUTHORIZATION_DETAILS_TYPES: 'x=type' })[0]!,
      /^TESSERA_AUTHORIZATION_DETAILS_TYPES/,
    );
  });
  it('refuses FAPI 2.0 with incompatible settings, naming each', () => {
    assert.equal(loadConfig({ TESSERA_FAPI_PROFILE: '2.0' }).fapiProfile, '2.0');
    const found = problems({
      TESSERA_FAPI_PROFILE: '2.0',
      TESSERA_CODE_TTL: '120',
      TESSERA_FEATURES_DISABLED: 'par,dpop',
    });
    assert.equal(found.length, 3, found.join('\n'));
    assert.match(found[0]!, /^TESSERA_CODE_TTL: must be at most 60 with TESSERA_FAPI_PROFILE=2.0/);
    assert.match(found[1]!, /^TESSERA_FEATURES_DISABLED: par cannot be turned off with TESSERA_FAPI_PROFILE=2.0/);
    assert.match(
      found[2]!,
      /^TESSERA_FEATURES_DISABLED: dpop cannot be turned off with TESSERA_FAPI_PROFILE=2.0 without mTLS/,
    );
    assert.match(
      problems({ TESSERA_FAPI_MESSAGE_SIGNING: 'true', TESSERA_FEATURES_DISABLED: 'request_object' })[0]!,
      /request_object cannot be turned off with TESSERA_FAPI_MESSAGE_SIGNING/,
    );
    assert.match(
      problems({ TESSERA_FAPI_MESSAGE_SIGNING: 'true', TESSERA_FEATURES_DISABLED: 'jarm' })[0]!,
      /jarm cannot be turned off with TESSERA_FAPI_MESSAGE_SIGNING/,
    );
    // mTLS configured but switched off does not stand in for DPoP.
    const mtlsOff = problems({
      TESSERA_FAPI_PROFILE: '2.0',
      TESSERA_MTLS_CERT_HEADER: 'x-client-cert',
      TESSERA_TRUST_PROXY: '192.0.2.10',
      TESSERA_FEATURES_DISABLED: 'dpop,mtls',
    });
    assert.match(mtlsOff[0]!, /dpop cannot be turned off with TESSERA_FAPI_PROFILE=2.0 without mTLS/);
    assert.deepEqual(
      problems({
        TESSERA_FAPI_PROFILE: '2.0',
        TESSERA_MTLS_CERT_HEADER: 'x-client-cert',
        TESSERA_TRUST_PROXY: '192.0.2.10',
        TESSERA_FEATURES_DISABLED: 'dpop',
      }),
      [],
    );
    assert.match(
      problems({ TESSERA_REQUIRE_PAR: 'true', TESSERA_FEATURES_DISABLED: 'par' })[0]!,
      /^TESSERA_REQUIRE_PAR/,
    );
    assert.match(
      problems({ TESSERA_FAPI_PROFILE: '2.0', TESSERA_CLOCK_SKEW: '120' })[0]!,
      /^TESSERA_CLOCK_SKEW: must be between 10 and 60 with TESSERA_FAPI_PROFILE=2.0/,
    );
    assert.match(problems({ TESSERA_FAPI_PROFILE: '1.0' })[0]!, /TESSERA_FAPI_PROFILE.*must be one of none, 2.0/);
  });
});

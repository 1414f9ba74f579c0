import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assess, combineAmr, policyFor, stricter, type Assessment } from './mfa-policy.ts';

const NOW = 1_800_000_000;
const none = { totp: false, passkey: false, hardwarePasskey: false };
const totp = { ...none, totp: true };
const synced = { ...none, passkey: true };
const hardware = { ...none, passkey: true, hardwarePasskey: true };
const base: Assessment = { policy: 'optional', amr: ['pwd'], cap: none, grace: 3600, now: NOW };
const MFA = 'urn:tessera:acr:mfa';

describe('mfa policy', () => {
  it('a client or an operator can only make the policy stricter', () => {
    assert.equal(stricter('optional', 'required'), 'required');
    assert.equal(stricter('phishing-resistant', 'optional'), 'phishing-resistant');
    assert.equal(policyFor({ mfa: 'required' }, { metadata: { mfa: 'off' } }, undefined), 'required');
    assert.equal(
      policyFor({ mfa: 'optional' }, { metadata: { mfa: 'phishing-resistant' } }, undefined),
      'phishing-resistant',
    );
    assert.equal(policyFor({ mfa: 'off' }, { metadata: {} }, { mfaRequired: true }), 'required');
    // An operator (an admin role, or an admin client) needs a factor, but for TESSERA_MFA=off, where none can be had.
    assert.equal(policyFor({ mfa: 'optional' }, { metadata: {} }, undefined, true), 'required');
    assert.equal(policyFor({ mfa: 'optional' }, { metadata: { admin_client: true } }, undefined), 'required');
    assert.equal(policyFor({ mfa: 'off' }, { metadata: {} }, undefined, true), 'off');
    assert.equal(policyFor({ mfa: 'optional' }, { metadata: { mfa: 'bogus' as 'off' } }, undefined), 'optional');
  });

  it('off asks nothing; optional asks a user with a factor for it; a password-only user goes on', () => {
    assert.deepEqual(assess({ ...base, policy: 'off', cap: totp }), { kind: 'met' });
    assert.deepEqual(assess({ ...base, cap: totp }), { kind: 'factor', level: 1 });
    assert.deepEqual(assess({ ...base, cap: synced }), { kind: 'factor', level: 1 });
    assert.deepEqual(assess(base), { kind: 'met' });
    assert.deepEqual(assess({ ...base, cap: totp, amr: ['pwd', 'otp', 'mfa'] }), { kind: 'met' });
  });

  it('required: a user without a factor enrols, skippable within the grace period; phishing-resistant wants a passkey', () => {
    assert.deepEqual(assess({ ...base, policy: 'required' }), {
      kind: 'enrol',
      factor: 'totp',
      skippable: true,
      prompted: false,
    });
    assert.deepEqual(assess({ ...base, policy: 'required', enrolBy: NOW + 1 }), {
      kind: 'enrol',
      factor: 'totp',
      skippable: true,
      prompted: true,
    });
    assert.deepEqual(assess({ ...base, policy: 'required', enrolBy: NOW }), {
      kind: 'enrol',
      factor: 'totp',
      skippable: false,
      prompted: true,
    });
    assert.equal((assess({ ...base, policy: 'required', grace: 0 }) as { skippable: boolean }).skippable, false);
    // TOTP does not count under phishing-resistant: enrol a passkey, once the app's code is passed
    // (the password alone must not reach a session of a user who has a second factor).
    assert.deepEqual(assess({ ...base, policy: 'phishing-resistant', cap: totp, enrolBy: NOW + 5 }), {
      kind: 'factor',
      level: 1,
    });
    assert.deepEqual(assess({ ...base, policy: 'phishing-resistant', cap: totp, remembered: true }), {
      kind: 'factor',
      level: 1,
    });
    assert.deepEqual(
      assess({ ...base, policy: 'phishing-resistant', cap: totp, amr: ['pwd', 'otp', 'mfa'], enrolBy: NOW + 5 }),
      {
        kind: 'enrol',
        factor: 'passkey',
        skippable: true,
        prompted: true,
      },
    );
    assert.deepEqual(assess({ ...base, policy: 'phishing-resistant', cap: synced }), { kind: 'factor', level: 2 });
    assert.deepEqual(assess({ ...base, policy: 'phishing-resistant', amr: ['swk', 'user', 'mfa'] }), { kind: 'met' });
  });

  it('acr: an essential level beyond the factors is unmet; a voluntary one is asked up to what the factors reach', () => {
    assert.deepEqual(assess({ ...base, cap: totp, ask: { acrEssential: ['phr'] } }), { kind: 'unmet' });
    assert.deepEqual(assess({ ...base, cap: hardware, ask: { acrEssential: ['phrh'] } }), { kind: 'factor', level: 3 });
    assert.deepEqual(assess({ ...base, cap: totp, ask: { acrValues: ['phrh'] } }), { kind: 'factor', level: 1 });
    assert.deepEqual(assess({ ...base, ask: { acrValues: [MFA] } }), { kind: 'met' });
    assert.deepEqual(assess({ ...base, policy: 'off', cap: totp, ask: { acrValues: [MFA] } }), { kind: 'met' });
    assert.deepEqual(assess({ ...base, ask: { acrEssential: ['urn:tessera:acr:password'] } }), { kind: 'met' });
  });

  it('a remembered device stands for the policy factor, never for an acr asked nor under phishing-resistant', () => {
    assert.deepEqual(assess({ ...base, cap: totp, remembered: true }), { kind: 'met' });
    assert.deepEqual(assess({ ...base, policy: 'required', cap: totp, remembered: true }), { kind: 'met' });
    assert.deepEqual(assess({ ...base, cap: totp, remembered: true, ask: { acrValues: [MFA] } }), {
      kind: 'factor',
      level: 1,
    });
    assert.deepEqual(assess({ ...base, policy: 'phishing-resistant', cap: hardware, remembered: true }), {
      kind: 'factor',
      level: 2,
    });
  });

  it('combineAmr keeps each method once, mfa last', () => {
    assert.deepEqual(combineAmr(['pwd'], ['otp']), ['pwd', 'otp', 'mfa']);
    // An upstream sign-in (fed) then an app's code at Tessera: two factors. The upstream's own otp
    // (trusted amr) with nothing passed at Tessera is not a second one.
    assert.deepEqual(combineAmr(['fed'], ['otp']), ['fed', 'otp', 'mfa']);
    assert.deepEqual(combineAmr(['fed', 'otp'], []), ['fed', 'otp']);
    assert.deepEqual(combineAmr(['pwd'], ['hwk', 'user', 'mfa']), ['pwd', 'hwk', 'user', 'mfa']);
    assert.deepEqual(combineAmr(['pwd', 'otp', 'mfa'], ['swk', 'user', 'mfa']), ['pwd', 'otp', 'swk', 'user', 'mfa']);
    assert.deepEqual(combineAmr(['pwd'], []), ['pwd']);
  });
});

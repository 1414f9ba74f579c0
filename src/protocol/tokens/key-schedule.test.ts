import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SigningKeyRecord } from '../../ports/keys.ts';
import {
  dueTransitions,
  JWKS_MAX_AGE,
  keyScheduleProblems,
  nextRotationAt,
  scheduleSettings,
  type ScheduleSettings,
} from './key-schedule.ts';

const DAY = 86_400;
const S: ScheduleSettings = { rotationPeriod: 90 * DAY, prepublishLead: DAY, gracePeriod: 3600 + 30 + 60 };
const T0 = 1_700_000_000;
const rec = (kid: string, over: Partial<SigningKeyRecord>): SigningKeyRecord => ({
  kid,
  alg: 'ES256',
  state: 'active',
  publicJwk: {},
  privateJwe: 'x',
  createdAt: T0,
  retiredAt: null,
  activatesAt: T0,
  ...over,
});

describe('key schedule: dueTransitions', () => {
  const active = rec('a', {});
  it('nothing is due while the active key is young', () => {
    assert.deepEqual(dueTransitions([active], T0 + 10 * DAY, S), []);
    assert.deepEqual(dueTransitions([active], T0 + 89 * DAY - 1, S), []);
  });
  it('prepublishes the next key one lead time before the rotation, activating at the rotation', () => {
    assert.deepEqual(dueTransitions([active], T0 + 89 * DAY, S), [
      { type: 'prepublish', alg: 'ES256', activatesAt: T0 + 90 * DAY },
    ]);
  });
  it('a late run still gives the new key a full lead time in the JWKS before it signs', () => {
    assert.deepEqual(dueTransitions([active], T0 + 200 * DAY, S), [
      { type: 'prepublish', alg: 'ES256', activatesAt: T0 + 200 * DAY + DAY },
    ]);
  });
  it('keys from before the schedule count from their creation', () => {
    assert.deepEqual(dueTransitions([rec('a', { activatesAt: null, createdAt: T0 - 90 * DAY })], T0, S), [
      { type: 'prepublish', alg: 'ES256', activatesAt: T0 + DAY },
    ]);
  });
  it('does not prepublish twice, and promotes when the prepublished key is due', () => {
    const pre = rec('b', { state: 'prepublished', createdAt: T0 + 89 * DAY, activatesAt: T0 + 90 * DAY });
    assert.deepEqual(dueTransitions([active, pre], T0 + 90 * DAY - 1, S), []);
    assert.deepEqual(dueTransitions([active, pre], T0 + 90 * DAY, S), [
      { type: 'promote', alg: 'ES256', from: 'a', to: 'b', graceUntil: T0 + 90 * DAY + S.gracePeriod },
    ]);
  });
  it('retires grace keys once their end has come, not before', () => {
    const grace = rec('g', { state: 'grace', retiredAt: T0 + 100 });
    const retired = rec('r', { state: 'retired', retiredAt: T0 - 100 });
    assert.deepEqual(dueTransitions([active, grace, retired], T0 + 99, S), []);
    assert.deepEqual(dueTransitions([active, grace, retired], T0 + 100, S), [{ type: 'retire', kid: 'g' }]);
  });
  it('rotation period 0: no prepublishing, but a prepublished key left over is still promoted', () => {
    const off = { ...S, rotationPeriod: 0 };
    assert.deepEqual(dueTransitions([active], T0 + 1000 * DAY, off), []);
    const pre = rec('b', { state: 'prepublished', activatesAt: T0 + 5 });
    assert.equal(dueTransitions([active, pre], T0 + 5, off)[0]!.type, 'promote');
  });
  it('no active key: nothing to do (start-up creates one)', () => {
    assert.deepEqual(dueTransitions([], T0, S), []);
  });
  it('each algorithm has its own lifecycle: one prepublishes while the other is young, promotions pair keys of one algorithm', () => {
    const es = rec('es', {});
    const rs = rec('rs', { alg: 'RS256', activatesAt: T0 + 30 * DAY });
    assert.deepEqual(dueTransitions([es, rs], T0 + 89 * DAY, S, ['ES256', 'RS256']), [
      { type: 'prepublish', alg: 'ES256', activatesAt: T0 + 90 * DAY },
    ]);
    const esNext = rec('es2', { state: 'prepublished', activatesAt: T0 + 90 * DAY });
    // A prepublished ES256 key never stands in for RS256's, nor is RS256's active key replaced by it.
    assert.deepEqual(dueTransitions([es, rs, esNext], T0 + 90 * DAY, S, ['ES256', 'RS256']), [
      { type: 'promote', alg: 'ES256', from: 'es', to: 'es2', graceUntil: T0 + 90 * DAY + S.gracePeriod },
    ]);
    assert.deepEqual(
      dueTransitions([es, rs, esNext], T0 + 119 * DAY, S, ['ES256', 'RS256']).map((t) => [
        t.type,
        'alg' in t ? t.alg : '',
      ]),
      [
        ['promote', 'ES256'],
        ['prepublish', 'RS256'],
      ],
    );
    // Without the list, the algorithms with an active key are scheduled.
    assert.deepEqual(
      dueTransitions([es, rs], T0 + 119 * DAY, S).map((t) => [t.type, 'alg' in t ? t.alg : '']),
      [
        ['prepublish', 'ES256'],
        ['prepublish', 'RS256'],
      ],
    );
    assert.equal(nextRotationAt([es, rs], S), T0 + 90 * DAY);
    assert.equal(nextRotationAt([es, rs], S, 'RS256'), T0 + 120 * DAY);
  });
  it("nextRotationAt: the prepublished key's time, else the active key's age limit, else none", () => {
    assert.equal(nextRotationAt([active], S), T0 + 90 * DAY);
    assert.equal(nextRotationAt([active, rec('b', { state: 'prepublished', activatesAt: T0 + 7 })], S), T0 + 7);
    assert.equal(nextRotationAt([active], { ...S, rotationPeriod: 0 }), undefined);
  });
});

describe('key schedule: settings', () => {
  it('the grace period covers the longest token, a reload interval and skew', () => {
    const s = scheduleSettings({
      keyRotationDays: 90,
      keyPrepublishSeconds: DAY,
      accessTokenTtl: 900,
      idTokenTtl: 3600,
      keyReloadSeconds: 30,
    });
    assert.deepEqual(s, { rotationPeriod: 90 * DAY, prepublishLead: DAY, gracePeriod: 3600 + 30 + 60 });
  });
  it('the lead time must exceed the JWKS max-age plus the reload interval, and be shorter than the period', () => {
    assert.deepEqual(keyScheduleProblems({ rotationPeriod: 90 * DAY, prepublishLead: DAY, keyReloadSeconds: 30 }), []);
    const [p] = keyScheduleProblems({
      rotationPeriod: 90 * DAY,
      prepublishLead: JWKS_MAX_AGE + 30,
      keyReloadSeconds: 30,
    });
    assert.match(p!, /TESSERA_KEY_PREPUBLISH_SECONDS: must exceed .*TESSERA_KEY_RELOAD_SECONDS/);
    assert.deepEqual(
      keyScheduleProblems({ rotationPeriod: 90 * DAY, prepublishLead: JWKS_MAX_AGE + 31, keyReloadSeconds: 30 }),
      [],
    );
    assert.match(
      keyScheduleProblems({ rotationPeriod: DAY, prepublishLead: DAY, keyReloadSeconds: 30 })[0]!,
      /shorter than the rotation period/,
    );
    assert.deepEqual(
      keyScheduleProblems({ rotationPeriod: 0, prepublishLead: 10 * 365 * DAY, keyReloadSeconds: 30 }),
      [],
    );
  });
});

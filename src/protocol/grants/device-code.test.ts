import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeviceCodeRecord, DeviceCodeStatus } from '../../ports/device-codes.ts';
import { OAuthError } from '../errors.ts';
import { missingAnswer, pollAnswer } from './device-code.ts';

const NOW = 1_800_000_000;
const record = (status: DeviceCodeStatus, over: Partial<DeviceCodeRecord> = {}): DeviceCodeRecord => ({
  deviceCodeHash: 'h',
  userCodeHash: 'u',
  clientId: 'tv',
  scope: 'openid',
  resource: null,
  status,
  interval: 5,
  lastPolledAt: NOW,
  approval: null,
  createdAt: NOW - 10,
  expiresAt: NOW + 600,
  ...over,
});
const code = (a: 'issue' | OAuthError) => (a === 'issue' ? a : a.code);

describe('device code polling state machine', () => {
  it('pending: authorization_pending on time, slow_down when too fast (naming the raised interval)', () => {
    assert.equal(code(pollAnswer({ record: record('pending'), slowDown: false })), 'authorization_pending');
    const slow = pollAnswer({ record: record('pending', { interval: 10 }), slowDown: true });
    assert.ok(slow instanceof OAuthError);
    assert.equal(slow.code, 'slow_down');
    assert.equal(slow.status, 400);
    assert.match(slow.description, /10 seconds/);
  });

  it('approved: issue, even on a fast poll (the user is done; nothing to slow down)', () => {
    assert.equal(pollAnswer({ record: record('approved'), slowDown: false }), 'issue');
    assert.equal(pollAnswer({ record: record('approved'), slowDown: true }), 'issue');
  });

  it('denied: access_denied; consumed: invalid_grant', () => {
    assert.equal(code(pollAnswer({ record: record('denied'), slowDown: false })), 'access_denied');
    assert.equal(code(pollAnswer({ record: record('consumed'), slowDown: false })), 'invalid_grant');
  });

  it("a poll the store did not count: expired_token only for the own client's expired code", () => {
    assert.equal(missingAnswer(record('pending', { expiresAt: NOW }), 'tv', NOW).code, 'expired_token');
    assert.equal(missingAnswer(record('approved', { expiresAt: NOW - 1 }), 'tv', NOW).code, 'expired_token');
    assert.equal(missingAnswer(record('pending', { expiresAt: NOW - 1 }), 'other', NOW).code, 'invalid_grant');
    assert.equal(missingAnswer(record('pending'), 'other', NOW).code, 'invalid_grant');
    assert.equal(missingAnswer(undefined, 'tv', NOW).code, 'invalid_grant');
  });
});

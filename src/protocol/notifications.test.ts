import assert from 'node:assert/strict';
import { it } from 'node:test';
import { notificationFor } from './notifications.ts';

const ALL = ['new-device', 'factor-changed', 'password-changed'];

it('maps the events of TESSERA_NOTIFICATIONS to their mails, each switchable', () => {
  assert.equal(notificationFor(ALL, { type: 'new_device_sign_in', userId: 'u' })?.template, 'new-device');
  assert.equal(
    notificationFor(ALL, { type: 'factor_added', userId: 'u', kind: 'totp', factorId: 'f' })?.template,
    'factor-added',
  );
  assert.equal(
    notificationFor(ALL, { type: 'factor_removed', userId: 'u', kind: 'passkey', factorId: 'f', by: 'operator' })
      ?.template,
    'factor-removed',
  );
  assert.equal(
    notificationFor(ALL, { type: 'password_changed', userId: 'u', by: 'user' })?.template,
    'password-changed',
  );
  // A reset by link mails its own notice.
  assert.equal(notificationFor(ALL, { type: 'password_changed', userId: 'u', by: 'reset' }), undefined);
  assert.equal(notificationFor(['password-changed'], { type: 'new_device_sign_in', userId: 'u' }), undefined);
  assert.equal(
    notificationFor(['new-device'], { type: 'factor_added', userId: 'u', kind: 'totp', factorId: 'f' }),
    undefined,
  );
  assert.equal(notificationFor(ALL, { type: 'login_succeeded', userId: 'u' }), undefined);
});

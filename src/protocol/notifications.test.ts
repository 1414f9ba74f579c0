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

it("a new-device mail names the browser in Tessera's words, never the User-Agent's text", () => {
  const userAgent =
    'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36 -- Tessera security team: this sign-in is expected, no action needed. Questions: https://evil.example/help';
  const n = notificationFor(['new-device'], { type: 'new_device_sign_in', userId: 'u1', userAgent });
  assert.equal(n?.template, 'new-device');
  assert.equal(n?.vars.browser, 'Chrome on Linux');
  const unknown = notificationFor(['new-device'], {
    type: 'new_device_sign_in',
    userId: 'u1',
    userAgent: 'x'.repeat(50),
  });
  assert.equal(unknown?.vars.browser, 'Unknown browser on unknown system');
});

it('a linked or unlinked upstream sign-in mails as a factor does; an account created by the upstream does not', () => {
  const linked = notificationFor(ALL, { type: 'upstream_linked', userId: 'u', provider: 'github', by: 'user' });
  assert.deepEqual([linked?.template, linked?.vars], ['factor-added', { kind: 'upstream', provider: 'github' }]);
  assert.equal(
    notificationFor(ALL, { type: 'upstream_linked', userId: 'u', provider: 'corp', by: 'auto' })?.template,
    'factor-added',
  );
  assert.equal(
    notificationFor(ALL, { type: 'upstream_unlinked', userId: 'u', provider: 'corp', by: 'operator' })?.template,
    'factor-removed',
  );
  assert.equal(
    notificationFor(ALL, { type: 'upstream_linked', userId: 'u', provider: 'corp', by: 'created' }),
    undefined,
  );
  assert.equal(
    notificationFor(['new-device'], { type: 'upstream_linked', userId: 'u', provider: 'corp', by: 'user' }),
    undefined,
  );
});

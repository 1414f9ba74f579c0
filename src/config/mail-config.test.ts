import assert from 'node:assert/strict';
import { it } from 'node:test';
import { loadConfig } from './config.ts';
import { configProblems, PRODUCTION_ENV } from '../../test/fixtures/config.ts';

const { TESSERA_SMTP_URL: _smtp, ...noSmtp } = PRODUCTION_ENV;

it('production refuses to start without TESSERA_SMTP_URL while a feature that mails is on', () => {
  const problems = configProblems(noSmtp);
  assert.equal(problems.length, 1, String(problems));
  assert.match(problems[0]!, /^TESSERA_SMTP_URL: required in production while features that send mail are on/);
  assert.match(
    problems[0]!,
    /TESSERA_PASSWORD_RESET=true, TESSERA_EMAIL_VERIFICATION=after-sign-in, TESSERA_NOTIFICATIONS/,
  );
  // With every such feature off, no SMTP server is needed.
  const off = {
    ...noSmtp,
    TESSERA_PASSWORD_RESET: 'false',
    TESSERA_EMAIL_VERIFICATION: 'off',
    TESSERA_NOTIFICATIONS: 'none',
  };
  assert.deepEqual(configProblems(off), []);
  assert.deepEqual(loadConfig(off).notifications, []);
  assert.match(configProblems({ ...off, TESSERA_NOTIFICATIONS: 'password-changed' })[0]!, /TESSERA_NOTIFICATIONS/);
});

it('development needs no SMTP server (mails go to files); the URL is smtp:// or smtps://; notifications are known names', () => {
  assert.deepEqual(configProblems({ TESSERA_ENV: 'development' }), []);
  assert.match(
    configProblems({ TESSERA_ENV: 'development', TESSERA_SMTP_URL: 'http://mail' })[0]!,
    /^TESSERA_SMTP_URL: must be/,
  );
  assert.deepEqual(
    configProblems({ TESSERA_ENV: 'development', TESSERA_SMTP_URL: 'smtps://u:p@mail.example:465' }),
    [],
  );
  assert.match(
    configProblems({ TESSERA_ENV: 'development', TESSERA_NOTIFICATIONS: 'new-device,sms' })[0]!,
    /unknown notification "sms"/,
  );
});

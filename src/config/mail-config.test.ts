import assert from 'node:assert/strict';
import { it } from 'node:test';
import { loadConfig } from './config.ts';
import { configProblems, PRODUCTION_ENV } from '../../test/fixtures/config.ts';

const { TESSERA_SMTP_URL: _smtp, ...noSmtp } = PRODUCTION_ENV;

it('production without TESSERA_SMTP_URL: features that mail are off when only their default asked, refused when set', () => {
  // On by default only: the server starts with them off, and says so.
  assert.deepEqual(configProblems(noSmtp), []);
  const defaulted = loadConfig(noSmtp);
  assert.equal(defaulted.passwordReset, false);
  assert.equal(defaulted.emailVerification, 'off');
  assert.deepEqual(defaulted.notifications, []);
  assert.ok(
    defaulted.warnings.some((w) =>
      /^TESSERA_SMTP_URL is not set: TESSERA_PASSWORD_RESET, TESSERA_EMAIL_VERIFICATION, TESSERA_NOTIFICATIONS are off/.test(
        w,
      ),
    ),
    String(defaulted.warnings),
  );
  // Asked for explicitly: refused, naming what asked.
  const problems = configProblems({
    ...noSmtp,
    TESSERA_PASSWORD_RESET: 'true',
    TESSERA_NOTIFICATIONS: 'password-changed',
  });
  assert.equal(problems.length, 1, String(problems));
  assert.match(problems[0]!, /^TESSERA_SMTP_URL: required in production while features that send mail are on/);
  assert.match(problems[0]!, /\(TESSERA_PASSWORD_RESET, TESSERA_NOTIFICATIONS\)/);
  // With every such feature off, no SMTP server is needed and nothing is said.
  const off = {
    ...noSmtp,
    TESSERA_PASSWORD_RESET: 'false',
    TESSERA_EMAIL_VERIFICATION: 'off',
    TESSERA_NOTIFICATIONS: 'none',
  };
  assert.deepEqual(configProblems(off), []);
  assert.deepEqual(loadConfig(off).notifications, []);
  assert.ok(!loadConfig(off).warnings.some((w) => w.startsWith('TESSERA_SMTP_URL')));
  // With it, the defaults stay on.
  assert.equal(loadConfig(PRODUCTION_ENV).passwordReset, true);
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

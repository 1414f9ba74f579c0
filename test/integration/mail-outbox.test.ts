// The mail outbox end to end: a real SMTP server (test/fixtures/smtp.ts) receives what
// provider.mail.send queued; a server that hangs or is down costs the sender nothing and the mail
// is delivered after a retry; a mail is given up after its last attempt (mail_failed). The store's
// leases and races are in test/contract/mail-outbox-contract.ts.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openVars } from '../../src/adapters/mail/sealed-vars.ts';
import { testApp } from '../fixtures/app.ts';
import { hasOpenssl, makePki, type TestPki } from '../fixtures/certs.ts';
import { freePort } from '../fixtures/server.ts';
import { parseMail, startSilentServer, startSmtp, type ReceivedMail } from '../fixtures/smtp.ts';

const skip = hasOpenssl() ? false : 'openssl not installed';

describe('mail outbox over SMTP', { skip }, () => {
  let pki: TestPki;
  before(() => {
    pki = makePki();
  });
  after(() => pki?.cleanup());

  it('delivers a queued mail over STARTTLS, renders it at send time and drops its content once sent', async () => {
    const smtp = await startSmtp({ cert: pki.server });
    const app = await testApp(
      'sqlite::memory:',
      { TESSERA_SMTP_URL: smtp.url, TESSERA_MAIL_FROM: 'id@example.org' },
      {
        mail: { tlsCa: pki.ca.certPem },
      },
    );
    try {
      await app.provider.mail.send({
        to: 'bob@example.net',
        template: 'password-reset',
        vars: { username: 'bob', link: 'http://localhost:4999/reset-password?token=abc', ttl: '900' },
        userId: 'u1',
      });
      const m = await smtp.waitFor();
      assert.deepEqual(m.to, ['bob@example.net']);
      assert.equal(m.from, 'id@example.org');
      assert.match(m.subject, /Reset your Tessera password/);
      assert.match(m.text, /Hello bob,/);
      assert.deepEqual(m.links, ['http://localhost:4999/reset-password?token=abc']);
      assert.match(m.html, /href="http:\/\/localhost:4999\/reset-password\?token=abc"/);
      await app.mailWorker.runOnce();
      assert.equal(await app.stores.mailOutbox.depth(), 0);
      const metrics = await app.metrics.registry.metrics();
      assert.match(metrics, /tessera_mails_total\{outcome="queued"\} 1/);
      assert.match(metrics, /tessera_mails_total\{outcome="sent"\} 1/);
      assert.match(metrics, /tessera_mail_queue_depth 0/);
      // Once sent, the row keeps no address and no values.
      const claimed = await app.stores.mailOutbox.claim('x', app.provider.now() + 10_000, 10, 60);
      assert.deepEqual(claimed, []);
    } finally {
      await app.close();
      await smtp.stop();
    }
  });

  it("keeps a queued mail's values sealed under the key-encryption key: no usable link in the database", async () => {
    // Nothing listens: the mail stays queued.
    const app = await testApp('sqlite::memory:', { TESSERA_SMTP_URL: `smtp://127.0.0.1:${await freePort()}` });
    try {
      const vars = { username: 'bob', link: 'http://localhost:4999/reset-password?token=secret-token', ttl: '900' };
      await app.provider.mail.send({ to: 'bob@example.net', template: 'password-reset', vars, userId: 'u1' });
      await app.mailWorker.stop();
      const [queued] = await app.stores.mailOutbox.claim('reader', app.provider.now() + 100_000, 10, 60);
      assert.deepEqual(Object.keys(queued!.vars), ['sealed']);
      assert.doesNotMatch(JSON.stringify(queued), /secret-token|bob"/);
      assert.deepEqual(await openVars(app.provider.config, queued!.vars), vars);
      // Under another key-encryption key they stay closed.
      await assert.rejects(openVars({ keyEncryptionKey: 'another-key-encryption-key-of-32-chars!!' }, queued!.vars));
    } finally {
      await app.close();
    }
  });

  it('delivers over implicit TLS (smtps://)', async () => {
    const smtp = await startSmtp({ tls: 'implicit', cert: pki.server });
    const app = await testApp('sqlite::memory:', { TESSERA_SMTP_URL: smtp.url }, { mail: { tlsCa: pki.ca.certPem } });
    try {
      await app.provider.mail.send({ to: 'c@example.net', template: 'password-changed', vars: {} });
      const m = await smtp.waitFor();
      assert.equal(m.from, 'no-reply@localhost');
      assert.match(m.subject, /password was changed/);
    } finally {
      await app.close();
      await smtp.stop();
    }
  });

  it('refuses a server that does not offer STARTTLS (smtp:// requires it): retried, not sent in clear', async () => {
    const smtp = await startSmtp({ tls: 'none' });
    const app = await testApp('sqlite::memory:', { TESSERA_SMTP_URL: smtp.url }, { mail: { tlsCa: pki.ca.certPem } });
    try {
      await app.provider.mail.send({ to: 'd@example.net', template: 'new-device', vars: {} });
      await app.mailWorker.runOnce();
      assert.equal(smtp.messages.length, 0);
      assert.equal(await app.stores.mailOutbox.depth(), 1);
      assert.match(await app.metrics.registry.metrics(), /tessera_mails_total\{outcome="retry"\} 1/);
    } finally {
      await app.close();
      await smtp.stop();
    }
  });

  it('a server that hangs: the sender is not held up, the attempt times out and is retried later', async () => {
    const silent = await startSilentServer();
    let clock = Math.floor(Date.now() / 1000);
    const app = await testApp(
      'sqlite::memory:',
      { TESSERA_SMTP_URL: `smtp://127.0.0.1:${silent.port}`, TESSERA_SMTP_TIMEOUT: '1' },
      { now: () => clock, mail: { tlsCa: pki.ca.certPem } },
    );
    try {
      const t0 = performance.now();
      await app.provider.mail.send({ to: 'e@example.net', template: 'factor-added', vars: { kind: 'totp' } });
      assert.ok(performance.now() - t0 < 500, 'queuing does not wait for SMTP');
      const t1 = performance.now();
      await app.mailWorker.runOnce();
      const took = performance.now() - t1;
      assert.ok(took >= 900 && took < 5000, `the attempt ends at the timeout (${took} ms)`);
      assert.ok(silent.connections >= 1);
      assert.equal(await app.stores.mailOutbox.depth(), 1);
      // Not due again before its back-off.
      assert.deepEqual(await app.stores.mailOutbox.claim('probe', clock + 5, 10, 60), []);
      // The server comes back as a real one on the same port: delivered at the next attempt.
      await silent.stop();
      const smtp = await startSmtp({ cert: pki.server, port: silent.port });
      try {
        clock += 31;
        await app.mailWorker.runOnce();
        const m = await smtp.waitFor();
        assert.deepEqual(m.to, ['e@example.net']);
        assert.equal(await app.stores.mailOutbox.depth(), 0);
      } finally {
        await smtp.stop();
      }
    } finally {
      await app.close();
    }
  });

  it('server down, then up: nothing is lost, every mail is delivered once after a retry', async () => {
    const port = await freePort();
    let clock = Math.floor(Date.now() / 1000);
    const app = await testApp(
      'sqlite::memory:',
      { TESSERA_SMTP_URL: `smtp://127.0.0.1:${port}`, TESSERA_SMTP_TIMEOUT: '2' },
      { now: () => clock, mail: { tlsCa: pki.ca.certPem } },
    );
    try {
      for (let i = 0; i < 7; i++)
        await app.provider.mail.send({ to: `u${i}@example.net`, template: 'new-device', vars: { username: `u${i}` } });
      await app.mailWorker.runOnce();
      assert.equal(await app.stores.mailOutbox.depth(), 7);
      const smtp = await startSmtp({ cert: pki.server, port });
      try {
        clock += 31;
        await app.mailWorker.runOnce();
        assert.equal(await app.stores.mailOutbox.depth(), 0);
        const to = smtp.messages.flatMap((m: ReceivedMail) => m.to).sort();
        assert.deepEqual(to, [0, 1, 2, 3, 4, 5, 6].map((i) => `u${i}@example.net`).sort());
      } finally {
        await smtp.stop();
      }
    } finally {
      await app.close();
    }
  });

  it('gives up after the last attempt: mail_failed in the audit trail, content dropped', async () => {
    const port = await freePort();
    let clock = Math.floor(Date.now() / 1000);
    const app = await testApp(
      'sqlite::memory:',
      { TESSERA_SMTP_URL: `smtp://127.0.0.1:${port}` },
      { now: () => clock, mail: { tlsCa: pki.ca.certPem, maxAttempts: 3, retryBase: 10 } },
    );
    try {
      await app.provider.mail.send({ to: 'f@example.net', template: 'verify-email', vars: {}, userId: 'user-9' });
      for (let i = 0; i < 3; i++) {
        await app.mailWorker.runOnce();
        clock += 100;
      }
      assert.equal(await app.stores.mailOutbox.depth(), 0);
      await app.audit.flush();
      const records = await app.stores.audit.query({});
      const failed = records.find((r) => r.type === 'mail_failed');
      assert.ok(failed, JSON.stringify(records.map((r) => r.type)));
      assert.equal(failed.details.template, 'verify-email');
      assert.equal(failed.details.attempts, 3);
      assert.doesNotMatch(JSON.stringify(failed), /f@example\.net/);
      assert.match(await app.metrics.registry.metrics(), /tessera_mails_total\{outcome="failed"\} 1/);
    } finally {
      await app.close();
    }
  });
});

describe('development mail: written to TESSERA_MAIL_DIR, not sent', () => {
  it('writes an .eml file per mail', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-mail-'));
    const app = await testApp('sqlite::memory:', { TESSERA_MAIL_DIR: dir });
    try {
      await app.provider.mail.send({
        to: 'g@example.net',
        template: 'verify-email',
        vars: { link: 'http://localhost:4999/verify-email?token=xyz', username: 'g' },
      });
      await app.mailWorker.runOnce();
      const files = existsSync(dir) ? readdirSync(dir) : [];
      assert.equal(files.length, 1, String(files));
      assert.match(files[0]!, /verify-email.*\.eml$/);
      const eml = readFileSync(join(dir, files[0]!), 'utf8');
      assert.match(eml, /^To: g@example\.net$/m);
      assert.match(parseMail(eml).text, /verify-email\?token=xyz/);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

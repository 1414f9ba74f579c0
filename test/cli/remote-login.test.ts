/**
 * `tessera login --remote` for real (issue 20): the CLI as a child process runs the device flow against a Tessera
 * listening here, as the built-in client tessera-cli; the person (an owner with an authenticator app) enters the
 * code, signs in with a password and a second factor and allows, as a browser would (through inject()); the CLI
 * then keeps the token in a file only the user can read and runs commands through the admin API as that person.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { beginTotp, confirmTotp } from '../../src/accounts/totp.ts';
import { createUser } from '../../src/accounts/users.ts';
import type { App } from '../../src/app.ts';
import { csrfOf, form, Jar } from '../fixtures/app.ts';
import { ROOT, runCli } from '../fixtures/cli.ts';
import { cliHome, listeningApp } from '../fixtures/remote.ts';

const PASSWORD = 'a long pass phrase for ops';

describe('tessera login --remote: the device flow as tessera-cli, then commands as that person', () => {
  let app: App;
  let issuer: string;
  let offset = 0;
  const clock = () => Math.floor(Date.now() / 1000) + offset;
  const { home, env } = cliHome('tessera-login-');
  let userId = '';
  let secret = '';
  const codeOf = (s: string) =>
    new TOTP({ secret: Secret.fromBase32(s), digits: 6, period: 30, algorithm: 'SHA1' }).generate({
      timestamp: clock() * 1000,
    });

  before(async () => {
    ({ app, issuer } = await listeningApp({}, { now: clock }));
    const made = await createUser(app.stores, { username: 'ops', password: PASSWORD }, clock(), { origin: 'operator' });
    assert.ok('user' in made);
    userId = made.user.id;
    const e = await beginTotp(app.stores, app.provider.config, made.user, 'Tessera', clock());
    assert.equal(
      await confirmTotp(app.stores, app.provider.config, userId, e.factor.id, codeOf(e.secret), clock()),
      'ok',
    );
    offset += 30; // the sign-in's code is another period's
    secret = e.secret;
    await app.stores.adminRoles.set({ userId, role: 'auditor', grantedAt: clock(), grantedBy: 'admin' });
  });
  after(async () => {
    await app?.close();
    rmSync(home, { recursive: true, force: true });
  });

  /** The person's side: enters the code at /device, signs in (password, second factor) and allows. */
  async function approve(userCode: string): Promise<string[]> {
    const jar = new Jar();
    const get = async (url: string) => {
      const r = await app.server.inject({ method: 'GET', url, headers: { cookie: jar.header() } });
      jar.take(r);
      return r;
    };
    const post = async (url: string, body: Record<string, string>) => {
      const r = await form(app, url, body, { cookie: jar.header() });
      jar.take(r);
      return r;
    };
    const entry = await get('/device');
    let res = await post('/device', { user_code: userCode, csrf: csrfOf(entry.body) });
    const steps: string[] = [];
    for (let i = 0; i < 8 && res.statusCode === 303; i++) {
      const location = new URL(res.headers.location as string);
      const page = await get(location.pathname + location.search);
      if (page.statusCode === 303) {
        res = page;
        continue;
      }
      if (page.body.includes('name="password"')) {
        steps.push('login');
        res = await post(`${location.pathname}/login`, {
          username: 'ops',
          password: PASSWORD,
          csrf: csrfOf(page.body),
        });
      } else if (location.pathname.endsWith('/mfa')) {
        steps.push('mfa');
        res = await post(location.pathname, { code: codeOf(secret), csrf: csrfOf(page.body) });
      } else {
        steps.push('consent');
        res = await post(`${location.pathname}/consent`, { decision: 'allow', csrf: csrfOf(page.body) });
      }
    }
    return steps;
  }

  it('shows the address and code, waits for the approval, keeps the token 0600, and acts as the person', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'src/cli/main.ts'), 'login', '--remote', issuer], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', TESSERA_ENV: 'development', ...env },
    });
    let out = '';
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    const exited = new Promise<number | null>((r) => child.on('close', r));
    const userCode = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const m = /open (\S+) and enter the code ([A-Z]{4}-[A-Z]{4})/.exec(out);
        if (m) {
          assert.equal(m[1], `${issuer}/device`);
          resolve(m[2]!);
        }
      });
      child.on('close', () => reject(new Error(`login ended before showing a code: ${out}${err}`)));
    });
    assert.deepEqual(await approve(userCode), ['login', 'mfa', 'consent']);
    assert.equal(await exited, 0, err);
    assert.match(
      out,
      new RegExp(`logged in to ${issuer.replace(/\./g, '\\.')} until \\S+ with \\d+ admin scope\\(s\\)`),
    );
    // The auditor's scopes only, whatever the CLI asked for.
    assert.match(out, /admin:audit:export/);
    assert.doesNotMatch(out, /admin:keys:write|admin:roles:write/);

    const file = join(home, 'tessera', 'credentials.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, 'tessera')).mode & 0o777, 0o700);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(saved.current, issuer);
    assert.equal(saved.logins[issuer].client_id, 'tessera-cli');
    assert.ok(!out.includes(saved.logins[issuer].access_token), 'the token is never printed');

    const keys = await runCli(['keys', 'list', '--remote', '--json'], env);
    assert.equal(keys.code, 0, keys.err);
    const [read] = await app.stores.audit.query({ type: 'admin_keys_listed', limit: 1 });
    assert.equal(read?.actor, userId);
    assert.equal(read?.clientId, 'tessera-cli');
    assert.equal(read?.details.principal, 'user');
    // An auditor changes nothing: refused by the server (403), the refusal audited.
    const rotate = await runCli(['keys', 'rotate', '--remote'], env);
    assert.equal(rotate.code, 1);
    assert.match(rotate.err, /admin:keys:write/);
    // The role taken away: the token is refused at once, and the CLI says to log in again.
    await app.stores.adminRoles.remove(userId);
    const gone = await runCli(['keys', 'list', '--remote'], env);
    assert.equal(gone.code, 1);
    assert.match(gone.err, /log(?:in| in) --remote|no longer accepts/);
    assert.equal((await runCli(['logout', '--remote'], env)).code, 0);
  });
});

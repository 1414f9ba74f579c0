import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { effectiveSettings, loadConfig, maskUrl } from './config.ts';
import { DEV_SECRET, settings } from './settings.ts';
import { configProblems, PRODUCTION_ENV, STRONG_SECRET } from '../../test/fixtures/config.ts';

const strong = STRONG_SECRET;
const prod = PRODUCTION_ENV;

const problems = configProblems;

describe('configuration', () => {
  it('starts in development with loud warnings for each development default', () => {
    const c = loadConfig({});
    assert.equal(c.env, 'development');
    assert.equal(c.issuer, 'http://localhost:4000');
    assert.equal(c.secret, DEV_SECRET);
    assert.equal(c.cookieSecure, false);
    assert.equal(c.warnings.length, 3);
    assert.ok(Object.isFrozen(c));
  });
  it('accepts a complete production configuration', () => {
    const c = loadConfig(prod);
    assert.equal(c.cookieSecure, true);
    assert.equal(c.seedDemo, false);
    assert.deepEqual(c.warnings, []);
    assert.equal(c.defaultAudience, 'https://id.example.com');
  });
  it('signing algorithms: ES256 and RS256 by default, the primary one first and always included, unknown ones named, FAPI needs a FAPI algorithm', () => {
    assert.deepEqual(loadConfig({}).signingAlgs, ['ES256', 'RS256']);
    assert.deepEqual(loadConfig({ TESSERA_SIGNING_ALG: 'PS256' }).signingAlgs, ['PS256', 'ES256', 'RS256']);
    assert.deepEqual(loadConfig({ TESSERA_SIGNING_ALGS: 'RS256, EdDSA' }).signingAlgs, ['ES256', 'RS256', 'EdDSA']);
    assert.deepEqual(loadConfig({ TESSERA_SIGNING_ALGS: 'ES256' }).signingAlgs, ['ES256']);
    assert.ok(
      problems({ TESSERA_SIGNING_ALGS: 'ES256,HS256' }).some((p) =>
        p.startsWith('TESSERA_SIGNING_ALGS: unknown algorithm "HS256"'),
      ),
    );
    assert.ok(
      problems({ TESSERA_SIGNING_ALGS: 'none' }).some((p) =>
        p.startsWith('TESSERA_SIGNING_ALGS: unknown algorithm "none"'),
      ),
    );
    assert.ok(
      problems({ TESSERA_FAPI_PROFILE: '2.0', TESSERA_SIGNING_ALG: 'RS256', TESSERA_SIGNING_ALGS: 'RS256' }).some((p) =>
        p.startsWith('TESSERA_SIGNING_ALGS: must include ES256, PS256 or EdDSA'),
      ),
    );
  });
  it('production refuses missing, short and development secrets, naming the setting', () => {
    assert.ok(
      problems({ TESSERA_ENV: 'production', TESSERA_ISSUER: 'https://id.example.com' }).some((p) =>
        p.startsWith('TESSERA_SECRET'),
      ),
    );
    assert.ok(
      problems({ ...prod, TESSERA_SECRET: 'short' }).some((p) =>
        p.startsWith('TESSERA_SECRET: must be at least 32 bytes'),
      ),
    );
    assert.ok(
      problems({ ...prod, TESSERA_SECRET: DEV_SECRET }).some((p) => p.includes('development default is refused')),
    );
    assert.ok(
      problems({ ...prod, TESSERA_KEY_ENCRYPTION_KEY: strong }).some((p) =>
        p.startsWith('TESSERA_KEY_ENCRYPTION_KEY: must differ'),
      ),
    );
  });
  it('production refuses http issuers (loopback excepted) and insecure cookies', () => {
    assert.ok(
      problems({ ...prod, TESSERA_ISSUER: 'http://id.example.com' }).some((p) => p.startsWith('TESSERA_ISSUER')),
    );
    assert.deepEqual(problems({ ...prod, TESSERA_ISSUER: 'http://127.0.0.1:4000' }), []);
    assert.ok(problems({ ...prod, TESSERA_COOKIE_SECURE: 'false' }).some((p) => p.startsWith('TESSERA_COOKIE_SECURE')));
    assert.ok(
      problems({ ...prod, TESSERA_ISSUER: undefined as never }).some((p) => p.includes('required in production')),
    );
    assert.ok(problems({ ...prod, TESSERA_SEED_DEMO: 'true' }).some((p) => p.startsWith('TESSERA_SEED_DEMO')));
  });
  it('session cookie SameSite=None: production only (it needs Secure cookies over https)', () => {
    assert.deepEqual(problems({ ...prod, TESSERA_COOKIE_SAMESITE: 'none' }), []);
    assert.ok(problems({ TESSERA_COOKIE_SAMESITE: 'none' }).some((p) => p.startsWith('TESSERA_COOKIE_SAMESITE')));
    assert.ok(
      problems({ TESSERA_COOKIE_SAMESITE: 'none', TESSERA_COOKIE_SECURE: 'true' }).some((p) =>
        p.startsWith('TESSERA_COOKIE_SAMESITE'),
      ),
    );
    assert.deepEqual(problems({ TESSERA_COOKIE_SAMESITE: 'strict' }), []);
  });
  it('client key sets from loopback hosts over http: allowed by default in development, refused in production', () => {
    assert.equal(loadConfig({ TESSERA_ENV: 'development' }).clientJwksAllowLoopback, true);
    assert.equal(loadConfig(prod).clientJwksAllowLoopback, false);
    assert.ok(
      problems({ ...prod, TESSERA_CLIENT_JWKS_ALLOW_LOOPBACK: 'true' }).some((p) =>
        p.startsWith('TESSERA_CLIENT_JWKS_ALLOW_LOOPBACK'),
      ),
    );
  });
  it('names every malformed value', () => {
    const p = problems({
      TESSERA_PORT: 'abc',
      TESSERA_CODE_TTL: '9999',
      TESSERA_COOKIE_SECURE: 'maybe',
      TESSERA_SIGNING_ALG: 'HS256',
      DATABASE_URL: 'mysql://x',
      TESSERA_ISSUER: 'https://x.example/?q=1',
    });
    for (const name of [
      'TESSERA_PORT',
      'TESSERA_CODE_TTL',
      'TESSERA_COOKIE_SECURE',
      'TESSERA_SIGNING_ALG',
      'DATABASE_URL',
      'TESSERA_ISSUER',
    ]) {
      assert.ok(
        p.some((x) => x.includes(name)),
        name,
      );
    }
  });
  it('self-registration: off by default, email optional by default; bad values named', () => {
    const c = loadConfig({});
    assert.equal(c.selfRegistration, false);
    assert.equal(c.selfRegistrationEmail, 'optional');
    const on = loadConfig({ ...prod, TESSERA_SELF_REGISTRATION: 'true', TESSERA_SELF_REGISTRATION_EMAIL: 'required' });
    assert.equal(on.selfRegistration, true);
    assert.equal(on.selfRegistrationEmail, 'required');
    const p = problems({ TESSERA_SELF_REGISTRATION: 'sometimes', TESSERA_SELF_REGISTRATION_EMAIL: 'verified' });
    for (const name of ['TESSERA_SELF_REGISTRATION (', 'TESSERA_SELF_REGISTRATION_EMAIL ('])
      assert.ok(
        p.some((x) => x.startsWith(name)),
        name,
      );
  });
  it('the previous KEK must meet the same length rule and differ from the current one', () => {
    assert.equal(
      loadConfig({ ...prod, TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS: strong + 'old' }).keyEncryptionKeyPrevious,
      strong + 'old',
    );
    assert.deepEqual(problems({ ...prod, TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS: 'short' }), [
      'TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS: must be at least 32 bytes (got 5)',
    ]);
    assert.deepEqual(problems({ ...prod, TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS: strong + 'k' }), [
      'TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS: must differ from TESSERA_KEY_ENCRYPTION_KEY',
    ]);
    assert.deepEqual(problems({ TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS: 'short' }), [
      'TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS: must be at least 32 bytes (got 5)',
    ]);
  });
  it('the key schedule: prepublish lead time above the JWKS max-age plus the reload interval, below the rotation period', () => {
    const c = loadConfig(prod);
    assert.equal(c.keyRotationDays, 90);
    assert.equal(c.keyPrepublishSeconds, 86400);
    assert.deepEqual(problems({ ...prod, TESSERA_KEY_PREPUBLISH_SECONDS: '330' }), [
      'TESSERA_KEY_PREPUBLISH_SECONDS: must exceed the JWKS max-age (300 s) plus TESSERA_KEY_RELOAD_SECONDS (30 s), i.e. be more than 330',
    ]);
    assert.deepEqual(problems({ ...prod, TESSERA_KEY_PREPUBLISH_SECONDS: '331' }), []);
    assert.match(
      problems({ ...prod, TESSERA_KEY_PREPUBLISH_SECONDS: '400', TESSERA_KEY_RELOAD_SECONDS: '120' })[0]!,
      /more than 420/,
    );
    assert.match(
      problems({ ...prod, TESSERA_KEY_ROTATION_DAYS: '1', TESSERA_KEY_PREPUBLISH_SECONDS: '86400' })[0]!,
      /shorter than the rotation period/,
    );
    assert.deepEqual(problems({ ...prod, TESSERA_KEY_ROTATION_DAYS: '0' }), []);
  });
  it('the admin token: at least 32 characters; production refuses weak or reused ones', () => {
    const token = 'Adm1n-t0ken-' + 'abcdefghijklmnopqrstuvwxyz0123456789';
    assert.equal(loadConfig({ ...prod, TESSERA_ADMIN_TOKEN: token }).adminToken, token);
    assert.deepEqual(problems({ TESSERA_ADMIN_TOKEN: 'short-token' }), [
      'TESSERA_ADMIN_TOKEN: must be at least 32 characters',
    ]);
    assert.deepEqual(problems({ ...prod, TESSERA_ADMIN_TOKEN: 'a'.repeat(40) }), [
      'TESSERA_ADMIN_TOKEN: too weak (fewer than 16 different characters); use a random value, e.g. openssl rand -base64 48',
    ]);
    assert.deepEqual(problems({ ...prod, TESSERA_ADMIN_TOKEN: strong }), [
      'TESSERA_ADMIN_TOKEN: must differ from the other secrets',
    ]);
    // development accepts it
    assert.equal(loadConfig({ TESSERA_ADMIN_TOKEN: 'a'.repeat(40) }).adminToken, 'a'.repeat(40));
  });
  it('TESSERA_CIMD_HOSTS: normalised to the form client_id hosts take (punycode, lower case), wrong entries refused', () => {
    const hosts = (v: string) => loadConfig({ TESSERA_CIMD_TRUST: 'deny_list', TESSERA_CIMD_HOSTS: v }).cimdHosts;
    assert.deepEqual(hosts('bücher.de *.Evil.COM. Client.Example.com 93.184.216.34 [2001:DB8::1]'), [
      'xn--bcher-kva.de',
      '*.evil.com',
      'client.example.com',
      '93.184.216.34',
      '[2001:db8::1]',
    ]);
    assert.deepEqual(hosts('*.BÜCHER.de, xn--bcher-kva.de bücher.de'), ['*.xn--bcher-kva.de', 'xn--bcher-kva.de']);
    const cases: [string, RegExp][] = [
      ['evil.com:443', /no port/],
      ['https://evil2.com', /no scheme/],
      ['evil.com/path', /no path/],
      ['user@evil.com', /no user info/],
      ['evil..com', /empty labels/],
      ['.evil.com', /empty labels/],
      ['*', /empty labels|`\*\.` only/],
      ['a.*.evil.com', /`\*\.` only at the start/],
      ['*.*.evil.com', /`\*\.` only at the start/],
      ['*.10.0.0.1', /not IP addresses/],
      ['ev%69l.com', /percent/],
    ];
    for (const [entry, why] of cases) {
      const found = problems({ TESSERA_CIMD_TRUST: 'deny_list', TESSERA_CIMD_HOSTS: entry });
      assert.ok(
        found.some((p) => p.startsWith(`TESSERA_CIMD_HOSTS: "${entry}" is not a host name`) && why.test(p)),
        `${entry}: ${found.join('; ')}`,
      );
    }
  });
  it('every setting has a unique variable and key', () => {
    assert.equal(new Set(settings.map((s) => s.env)).size, settings.length);
    assert.equal(new Set(settings.map((s) => s.key)).size, settings.length);
  });
});

describe('maskUrl (what start-up and `tessera config show` print of a database URL)', () => {
  it('masks the whole password, also one with an unencoded @ (the user information ends at the last @)', () => {
    const shown = maskUrl('postgres://tessera:s3cr@t-Pa55@db.internal:5432/tessera');
    assert.ok(!shown.includes('s3cr') && !shown.includes('Pa55'), shown);
    assert.match(shown, /^postgres:\/\/tessera:\*\*\*@db\.internal:5432\/tessera$/);
  });
  it('masks password query parameters, keeps paths without a scheme, redacts what does not parse', () => {
    const q = maskUrl('postgres://db.internal/tessera?sslmode=require&password=hunter2&sslpassword=x');
    assert.ok(!q.includes('hunter2') && !q.includes('sslpassword=x'), q);
    assert.equal(maskUrl('./data/tessera.db'), './data/tessera.db');
    assert.equal(maskUrl('postgres://user:pw@[bad'), '(redacted: not a valid URL)');
  });
});

describe('effectiveSettings (`tessera config show`)', () => {
  it("masks the SMTP URL's password like the database URL's", () => {
    const c = loadConfig({ TESSERA_SMTP_URL: 'smtp://mailer:hunter2-smtp@mail.example.com:587' });
    const row = effectiveSettings(c).find((r) => r.key === 'smtpUrl');
    assert.ok(row && !row.value.includes('hunter2'), row?.value);
    assert.equal(row.value, 'smtp://mailer:***@mail.example.com:587');
  });
});

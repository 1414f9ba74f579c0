import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accountAreaPage, type AccountPageProps } from './account-pages.ts';

const base = { base: 'https://id.example', username: 'ann<script>', csrf: 'tok"en' };
/** The page's body (the stylesheet names the same classes and attributes). */
const render = (account: AccountPageProps, nav?: Parameters<typeof accountAreaPage>[0]['nav']) =>
  accountAreaPage({ nonce: 'n0nce', account, ...(nav ? { nav } : {}) }).split('</style>')[1]!;

describe('account pages', () => {
  it('escape what users wrote, carry the CSRF token, mark the current section, and have no script', () => {
    const doc = render(
      {
        ...base,
        page: 'overview',
        name: '<b>Ann</b>',
        email: 'a@example.com',
        emailVerified: false,
        factorCount: 0,
        consents: [{ clientId: 'c"1', clientName: '<App>', scopes: ['openid'], grantedAt: 1_700_000_000 }],
      },
      'overview',
    );
    assert.doesNotMatch(doc, /<script|<b>Ann|<App>/);
    assert.match(doc, /ann&lt;script&gt;/);
    assert.match(doc, /name="csrf" value="tok&quot;en"/);
    assert.match(doc, /<a href="https:\/\/id\.example\/account" aria-current="page">Overview<\/a>/);
    assert.equal((doc.match(/aria-current/g) ?? []).length, 1);
    assert.match(doc, /<nav class="account-nav" aria-label="Account">/);
    assert.match(doc, /\(not verified\)/);
  });

  it('tie field errors to their fields and show refusals as alerts', () => {
    const doc = render({ ...base, page: 'password', fieldErrors: { current: 'Wrong.' }, error: 'Check the fields.' });
    assert.match(doc, /<p class="alert" role="alert">Check the fields\.<\/p>/);
    assert.match(doc, /id="current"[^>]*aria-invalid="true"[^>]*aria-describedby="current-error"/);
    assert.match(doc, /<label for="current">Current password<\/label>/);
    assert.match(doc, /autocomplete="new-password"/);
  });

  it('inline only a QR code of the shape the enrolment draws', () => {
    const good =
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 90 90"><rect fill="white" width="90" height="90"/><path fill="black" d="M20,20h10v10h-10z"/></svg>';
    const page = (qrSvg: string) => render({ ...base, page: 'totp', factorId: 'f1', secret: 'ABCDEFGH', qrSvg });
    assert.match(page(good), /<svg role="img" aria-label="QR code for your authenticator app"/);
    assert.match(page(good), /ABCD EFGH/);
    const bad = good.replace('<path', '<script>alert(1)</script><path');
    assert.doesNotMatch(page(bad), /<svg|<script/);
    // After a wrong code the key is not shown again.
    const again = render({ ...base, page: 'totp', factorId: 'f1', error: 'Wrong code.' });
    assert.doesNotMatch(again, /class="secret"/);
    assert.match(again, /start again with a new key/);
  });

  it('list sessions with "This device" and no End button for it; recovery codes shown once', () => {
    const doc = render({
      ...base,
      page: 'sessions',
      sessions: [
        { sid: 's1', browser: 'Firefox', os: 'Linux', ip: '192.0.2.1', createdAt: 1, lastSeenAt: 2, current: true },
        { sid: 's2', browser: 'Safari', os: 'iOS', ip: null, createdAt: 1, lastSeenAt: 2, current: false },
      ],
    });
    assert.match(doc, /Firefox on Linux <span class="badge">This device<\/span>/);
    assert.doesNotMatch(doc, /value="s1"/);
    assert.match(doc, /name="sid" value="s2"/);
    assert.match(doc, /End all other sessions/);
    const codes = render({
      ...base,
      page: 'recovery-codes',
      left: 2,
      codes: ['aaaa-bbbb-cccc-dddd'],
      continueTo: '/interaction/x',
    });
    assert.match(codes, /<code>aaaa-bbbb-cccc-dddd<\/code>/);
    assert.match(codes, /href="https:\/\/id\.example\/interaction\/x">Continue signing in/);
  });

  it('the re-authentication page has no navigation and sends back where it was asked from', () => {
    const doc = render({ ...base, page: 'reauth', returnTo: '/account/password' });
    assert.doesNotMatch(doc, /account-nav/);
    assert.match(doc, /name="return" value="\/account\/password"/);
    assert.match(doc, /autocomplete="current-password"/);
  });
});

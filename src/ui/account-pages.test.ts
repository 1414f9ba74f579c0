import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catalogs, msg } from '../i18n/catalog.ts';
import type { Locale } from '../i18n/negotiate.ts';
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
    const doc = render({
      ...base,
      page: 'password',
      fieldErrors: { current: msg('account.password.notCurrent') },
      error: msg('account.form.checkFields'),
    });
    assert.match(doc, /<p class="alert" role="alert">Check the fields marked below\.<\/p>/);
    assert.match(doc, /id="current-error">This is not your current password\.<\/p>/);
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
    const again = render({ ...base, page: 'totp', factorId: 'f1', error: msg('account.totp.wrong') });
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
  it('list linked sign-ins by label and email with an Unlink form naming the reference; Link buttons for the rest', () => {
    const doc = render(
      {
        ...base,
        page: 'linked',
        identities: [
          {
            ref: 'r3f-AAAAAAAAAAAAAAAAAA',
            providerLabel: '<Acme>',
            email: 'ann@acme.example"',
            createdAt: 1_700_000_000,
            lastUsedAt: 1_700_000_600,
          },
        ],
        available: [{ id: 'globex', label: 'Globex & Co' }],
        error: msg('account.linked.last'),
      },
      'linked',
    );
    assert.doesNotMatch(doc, /<Acme>|<script/);
    assert.match(doc, /&lt;Acme&gt;/);
    assert.match(doc, /<a href="https:\/\/id\.example\/account\/linked" aria-current="page">Linked sign-ins<\/a>/);
    assert.match(doc, /<form method="post" action="https:\/\/id\.example\/account\/linked\/unlink">/);
    assert.match(doc, /name="identity" value="r3f-AAAAAAAAAAAAAAAAAA"/);
    assert.match(doc, /aria-label="Unlink &lt;Acme&gt; \(ann@acme\.example&quot;\)">Unlink<\/button>/);
    assert.match(doc, /Linked <time datetime="2023-11-14T22:13:20\.000Z">/);
    assert.match(doc, /<form method="post" action="https:\/\/id\.example\/account\/linked\/link">/);
    assert.match(doc, /name="provider" value="globex"/);
    assert.match(doc, /aria-label="Link Globex &amp; Co">Link<\/button>/);
    assert.match(doc, /<p class="alert" role="alert">This is the only way you can sign in to your account, so/);
    assert.equal((doc.match(/name="csrf" value="tok&quot;en"/g) ?? []).length, 2);
    const empty = render({ ...base, page: 'linked', identities: [], available: [] });
    assert.match(empty, /No other sign-in is linked to your account\./);
    assert.doesNotMatch(empty, /Link another/);
  });

  it('the re-authentication page offers linked providers, and no password field to an account without one', () => {
    const providers = [{ id: 'acme', label: 'Acme' }];
    const both = render({ ...base, page: 'reauth', returnTo: '/account/linked', providers, hasPassword: true });
    assert.match(both, /autocomplete="current-password"/);
    assert.match(both, /<form method="post" action="https:\/\/id\.example\/account\/reauth\/upstream" class="note">/);
    assert.match(
      both,
      /name="provider" value="acme">\s*<button type="submit" class="secondary">Continue with Acme<\/button>/,
    );
    assert.equal((both.match(/name="return" value="\/account\/linked"/g) ?? []).length, 2);
    const none = render({ ...base, page: 'reauth', returnTo: '/account/delete', providers, hasPassword: false });
    assert.doesNotMatch(none, /type="password"/);
    assert.match(none, /Continue with Acme/);
    assert.match(none, /Sign in again with a provider linked to your account/);
    const stuck = render({ ...base, page: 'reauth', returnTo: '/account', providers: [], hasPassword: false });
    assert.doesNotMatch(stuck, /<form/);
    assert.match(stuck, /href="https:\/\/id\.example\/account">Back to your account<\/a>/);
    // The page as it was: a password form only.
    const old = render({ ...base, page: 'reauth', returnTo: '/account' });
    assert.match(old, /type="password"/);
    assert.doesNotMatch(old, /reauth\/upstream/);
  });

  it('the delete page asks for the password only of an account that has one', () => {
    assert.match(render({ ...base, page: 'delete' }), /type="password"/);
    const none = render({ ...base, page: 'delete', hasPassword: false });
    assert.doesNotMatch(none, /type="password"/);
    assert.match(none, /I want to delete my account/);
  });

  describe('in German and French', () => {
    const secs = 1_700_000_000;
    /** One of each page, with every optional part there. */
    const every: [AccountPageProps, Parameters<typeof accountAreaPage>[0]['nav']][] = [
      [
        {
          ...base,
          page: 'overview',
          name: null,
          email: 'a@example.com',
          emailVerified: true,
          factorCount: 2,
          consents: [
            { clientId: 'c1', clientName: 'App', scopes: ['openid'], grantedAt: secs },
            { clientId: 'c2', clientName: 'Other', scopes: [], grantedAt: secs },
          ],
          notice: msg('account.profile.saved'),
        },
        'overview',
      ],
      [
        {
          ...base,
          page: 'profile',
          name: 'Ann',
          email: 'a@example.com',
          emailVerified: false,
          locale: 'fr',
          fieldErrors: { name: msg('account.profile.nameControl'), locale: msg('account.profile.languageInvalid') },
          error: msg('account.form.checkFields'),
        },
        'profile',
      ],
      [
        { ...base, page: 'password', fieldErrors: { password: msg('account.password.tooShort', { min: 8 }) } },
        'password',
      ],
      [
        {
          ...base,
          page: 'security',
          factors: [
            { id: 'f1', kind: 'totp', name: 'Phone', createdAt: secs, lastUsedAt: null },
            { id: 'f2', kind: 'passkey', name: 'YubiKey 5', createdAt: secs, lastUsedAt: secs },
          ],
          recoveryCodesLeft: 9,
          mfaOff: false,
          passkeysOnly: false,
          required: true,
        },
        'security',
      ],
      [
        {
          ...base,
          page: 'security',
          factors: [],
          recoveryCodesLeft: 0,
          mfaOff: true,
          passkeysOnly: false,
          required: true,
        },
        'security',
      ],
      [{ ...base, page: 'totp', factorId: 'f1', secret: 'ABCDEFGH' }, 'security'],
      [{ ...base, page: 'totp', factorId: 'f1', error: msg('account.totp.replayed') }, 'security'],
      [{ ...base, page: 'recovery-codes', left: 10, codes: ['aaaa'] }, 'security'],
      [{ ...base, page: 'recovery-codes', left: 1 }, 'security'],
      [
        {
          ...base,
          page: 'sessions',
          sessions: [
            { sid: 's1', browser: null, os: null, ip: null, createdAt: secs, lastSeenAt: secs, current: true },
            {
              sid: 's2',
              browser: 'Firefox',
              os: 'Linux',
              ip: '192.0.2.1',
              createdAt: secs,
              lastSeenAt: secs,
              current: false,
            },
          ],
          notice: msg('account.sessions.ended', { count: 2 }),
        },
        'sessions',
      ],
      [
        {
          ...base,
          page: 'activity',
          records: [
            { at: secs * 1000, type: 'login_succeeded', outcome: 'success', ip: '192.0.2.1' },
            { at: secs * 1000, type: 'second_factor_failed', outcome: 'failure', ip: null },
            { at: secs * 1000, type: 'something_new', outcome: 'success', ip: null },
          ],
        },
        'activity',
      ],
      [{ ...base, page: 'activity', records: [] }, 'activity'],
      [
        {
          ...base,
          page: 'linked',
          identities: [{ ref: 'r', providerLabel: 'Acme', email: 'a@acme.example', createdAt: secs, lastUsedAt: secs }],
          available: [{ id: 'g', label: 'Globex' }],
          notice: msg('account.linked.done'),
        },
        'linked',
      ],
      [{ ...base, page: 'linked', identities: [], available: [] }, 'linked'],
      [{ ...base, page: 'data' }, 'data'],
      [{ ...base, page: 'delete', error: msg('account.delete.adminRole', { role: 'owner' }) }, 'delete'],
      [{ ...base, page: 'reauth', returnTo: '/account', providers: [{ id: 'a', label: 'Acme' }] }, undefined],
      [
        { ...base, page: 'reauth', returnTo: '/account', providers: [{ id: 'a', label: 'Acme' }], hasPassword: false },
        undefined,
      ],
      [{ ...base, page: 'reauth', returnTo: '/account', providers: [], hasPassword: false }, undefined],
    ];
    const page = (locale: Locale, account: AccountPageProps, nav?: Parameters<typeof accountAreaPage>[0]['nav']) =>
      accountAreaPage({ nonce: 'n0nce', locale, account, ...(nav ? { nav } : {}) });
    const catalog = (l: Locale) => new Map(catalogs()).get(l)!;
    const en = catalog('en');

    /** The texts a person reads or hears: between tags, and the labels and titles of attributes. */
    const texts = (doc: string): string[] => {
      const body = doc.split('</style>')[1]!;
      const between = [...body.matchAll(/>([^<]+)</g)].map((m) => m[1]!);
      const attrs = [...body.matchAll(/(?:aria-label|title|placeholder|alt)="([^"]*)"/g)].map((m) => m[1]!);
      const unescaped = (x: string) =>
        x
          .replace(/&quot;/g, '"')
          .replace(/&#39;/g, "'")
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>')
          .replace(/&amp;/g, '&');
      return [...between, ...attrs].map((x) => unescaped(x).trim()).filter(Boolean);
    };

    for (const [locale, words] of [
      ['de', { title: 'Ihr Konto', nav: 'Übersicht', signOut: 'Abmelden', save: 'Speichern', language: 'Sprache' }],
      [
        'fr',
        {
          title: 'Votre compte',
          nav: 'Vue d’ensemble',
          signOut: 'Se déconnecter',
          save: 'Enregistrer',
          language: 'Langue',
        },
      ],
    ] as const) {
      it(`${locale}: the page says its language, and its words are ${locale === 'de' ? 'German' : 'French'}`, () => {
        const overview = page(locale, every[0]![0], 'overview');
        assert.match(overview, new RegExp(`<html lang="${locale}">`));
        assert.match(overview, new RegExp(`<h1>${words.title}</h1>`));
        assert.match(overview, new RegExp(`aria-current="page">${words.nav}</a>`));
        assert.match(overview, new RegExp(`>${words.signOut}</button>`));
        const profile = page(locale, every[1]![0], 'profile');
        assert.match(profile, new RegExp(`<label for="locale">${words.language}</label>`));
        assert.match(profile, new RegExp(`<button type="submit">${words.save}</button>`));
      });

      it(`${locale}: no page shows an English text of the catalog that has a ${locale} translation`, () => {
        const mine = catalog(locale);
        const english = new Set<string>(
          Object.entries(en)
            .filter(([key, text]) => key.startsWith('account.') && mine[key as keyof typeof mine] !== text)
            .map(([, text]) => text),
        );
        for (const [account, nav] of every) {
          const doc = page(locale, account, nav);
          for (const text of texts(doc)) assert.equal(english.has(text), false, `${account.page}: ${text}`);
          // Whole sentences of the English catalog do not appear inside other text either.
          for (const text of english)
            if (text.length > 24 && !/\{/.test(text)) assert.equal(doc.includes(text), false, text);
        }
      });
    }
  });

  it('the profile offers the languages by their own names and the browser default, the choice selected', () => {
    const profile = (locale: string | null) =>
      render({ ...base, page: 'profile', name: '', email: '', emailVerified: false, locale, fieldErrors: {} });
    const none = profile(null);
    assert.match(none, /<option value="" selected>Browser default<\/option>/);
    assert.match(none, /<option value="en" lang="en">English<\/option>/);
    assert.match(none, /<option value="de" lang="de">Deutsch<\/option>/);
    assert.match(none, /<option value="fr" lang="fr">Français<\/option>/);
    assert.match(profile('de'), /<option value="de" lang="de" selected>Deutsch<\/option>/);
    assert.doesNotMatch(profile('de'), /<option value="" selected>/);
  });
});

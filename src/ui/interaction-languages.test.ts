// The sign-in pages in German and French (issue 18): each page has <html lang> of its language, words
// of that language, and no sentence of the English catalog left over (every visible word comes from
// the catalog, so a page that forgot one shows it here).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catalogs, msg, t, type MessageKey } from '../i18n/catalog.ts';
import type { Locale } from '../i18n/negotiate.ts';
import {
  consentPage,
  deviceDonePage,
  deviceEntryPage,
  errorPage,
  formPostPage,
  loggedOutPage,
  loginPage,
  logoutConfirmPage,
  selectAccountPage,
  signupPage,
} from './pages.ts';
import { passkeysPage } from './passkey-pages.ts';
import {
  emailUnverifiedPage,
  forgotPasswordPage,
  recoveryDonePage,
  resetPasswordPage,
  verifyEmailPage,
} from './recovery-pages.ts';
import { mfaEnrolPage, secondFactorPage } from './second-factor-page.ts';
import { upstreamContinuePage, upstreamProblemPage } from './upstream-pages.ts';

const NONCE = 'bm9uY2UtdGVzdA==';
const passkey = { action: '/pk', options: '{"challenge":"x"}', assets: '/assets' };

/** Every sign-in page, filled so that each of its optional parts shows, in `locale`. */
function pages(locale: Locale): Record<string, string> {
  const c = { nonce: NONCE, locale };
  const unverified = { host: 'app.example' };
  return {
    login: loginPage({
      ...c,
      action: '/login',
      csrf: 'x',
      clientName: 'App',
      error: msg('interaction.error.invalidLogin'),
      signupUrl: '/signup',
      forgotUrl: '/forgot',
      unverified,
      passkey,
      upstreams: [{ id: 'corp', label: 'Corp ID', action: '/up' }],
    }),
    accountLogin: loginPage({ ...c, action: '/login', csrf: 'x', clientName: 'x', accountArea: true }),
    signup: signupPage({
      ...c,
      action: '/signup',
      csrf: 'x',
      clientName: 'App',
      emailRequired: false,
      values: { username: 'bob', email: '', name: '' },
      errors: {
        username: msg('interaction.error.usernameTaken'),
        password: msg('interaction.error.passwordShort', { min: 8 }),
      },
      error: msg('interaction.error.signupFailed'),
      loginUrl: '/login',
      unverified: { documentHost: 'doc.example' },
    }),
    consent: consentPage({
      ...c,
      action: '/consent',
      csrf: 'x',
      clientName: 'App',
      username: 'bob',
      scopes: [
        {
          name: 'custom',
          description: { operator: { en: 'Custom', de: 'Eigenes', fr: 'Personnalisé' } },
          releases: ['groups'],
        },
      ],
      resources: [{ uri: 'https://api.example/' }, { uri: 'https://other.example/', name: 'Other' }],
      userCode: 'BCDF-GHJK',
      authorizationDetails: [{ type: 'payment', fields: [{ name: 'amount', value: '10' }] }],
      claims: ['email'],
      clientIdDocument: { clientIdHost: 'doc.example', redirectHost: '127.0.0.1', firstTime: true, localOnly: true },
      policyUri: 'https://app.example/privacy',
      tosUri: 'https://app.example/terms',
    }),
    consentNoScopes: consentPage({
      ...c,
      action: '/c',
      csrf: 'x',
      clientName: 'App',
      username: 'bob',
      scopes: [],
      unverified,
    }),
    selectAccount: selectAccountPage({
      ...c,
      action: '/s',
      csrf: 'x',
      clientName: 'App',
      username: 'bob',
      unverified: {},
    }),
    device: deviceEntryPage({ ...c, action: '/device', csrf: 'x', error: msg('interaction.error.deviceCode') }),
    deviceApproved: deviceDonePage({ ...c, approved: true, clientName: 'TV' }),
    deviceDenied: deviceDonePage({ ...c, approved: false, clientName: 'TV' }),
    error: errorPage({
      ...c,
      title: msg('interaction.problem.accessDenied.title'),
      message: msg('interaction.problem.accessDenied.message', { client: 'App' }),
      link: { href: 'https://app.example/cb', text: msg('interaction.errorPage.returnTo', { client: 'App' }) },
    }),
    errorNoLink: errorPage({
      ...c,
      title: msg('interaction.problem.expired.title'),
      message: msg('interaction.problem.expired.message'),
    }),
    logoutConfirm: logoutConfirmPage({
      ...c,
      action: '/logout',
      csrf: 'x',
      clientName: 'App',
      hidden: {},
      unverifiedHost: 'app.example',
    }),
    logoutConfirmAnonymous: logoutConfirmPage({ ...c, action: '/logout', csrf: 'x', hidden: {} }),
    loggedOut: loggedOutPage({ ...c, frames: ['https://app.example/fc'], continueTo: 'https://app.example/' }),
    loggedOutDone: loggedOutPage({ ...c }),
    formPost: formPostPage({ ...c, action: 'https://app.example/cb', fields: { code: 'c' } }),
    secondFactorRecovery: secondFactorPage({
      ...c,
      action: '/mfa',
      csrf: 'x',
      clientName: 'App',
      username: 'bob',
      method: 'recovery',
      totp: true,
      recovery: true,
      remember: true,
      error: msg('interaction.error.tooManyCodes', { seconds: 30 }),
      passkey: { ...passkey, label: msg('interaction.login.usePasskey') },
      unverified,
    }),
    secondFactorApp: secondFactorPage({
      ...c,
      action: '/mfa',
      csrf: 'x',
      clientName: 'x',
      accountArea: true,
      username: 'bob',
      method: 'totp',
      totp: true,
      recovery: true,
      remember: false,
    }),
    secondFactorNone: secondFactorPage({
      ...c,
      action: '/mfa',
      csrf: 'x',
      clientName: 'App',
      username: 'bob',
      method: 'none',
      totp: false,
      recovery: false,
      remember: false,
    }),
    enrolPasskey: mfaEnrolPage({
      ...c,
      clientName: 'App',
      username: 'bob',
      factor: 'passkey',
      enrol: { action: '/enrol', continueTo: '/interaction/u' },
      skip: { action: '/skip', csrf: 'x', until: 1_800_000_000 },
    }),
    enrolTotp: mfaEnrolPage({
      ...c,
      clientName: 'App',
      username: 'bob',
      factor: 'totp',
      enrol: { action: '/enrol', continueTo: '/interaction/u' },
    }),
    forgot: forgotPasswordPage({ ...c, action: '/forgot', csrf: 'x', sent: false }),
    forgotSent: forgotPasswordPage({ ...c, action: '/forgot', csrf: 'x', sent: true }),
    reset: resetPasswordPage({
      ...c,
      action: '/reset',
      csrf: 'x',
      token: 't',
      username: 'bob',
      needsCode: true,
      passkey,
      error: msg('interaction.error.passwordsDiffer'),
    }),
    resetPasskeyOnly: resetPasswordPage({
      ...c,
      action: '/reset',
      csrf: 'x',
      token: 't',
      username: 'bob',
      needsCode: false,
      passkey,
    }),
    verifyEmail: verifyEmailPage({ ...c, action: '/verify', csrf: 'x', token: 't', address: 'bob@example.com' }),
    emailUnverified: emailUnverifiedPage({
      ...c,
      action: '/resend',
      csrf: 'x',
      ticket: 't',
      address: 'bob@example.com',
      sent: true,
    }),
    recoveryDone: recoveryDonePage({
      ...c,
      title: msg('interaction.mail.passwordChanged.title'),
      message: msg('interaction.mail.passwordChanged.message'),
      link: { href: '/account', text: msg('interaction.mail.toAccount') },
    }),
    upstreamProblem: upstreamProblemPage({
      ...c,
      title: msg('interaction.upstream.unavailable.title', { provider: 'Corp ID' }),
      message: msg('interaction.upstream.unavailable.message', { provider: 'Corp ID' }),
      link: { href: '/back', text: msg('interaction.upstream.backToSignIn') },
    }),
    upstreamContinue: upstreamContinuePage({ ...c, location: 'https://app.example/' }),
    passkeys: passkeysPage({
      ...c,
      action: '/pk',
      csrf: 'x',
      username: 'bob',
      options: '{}',
      assets: '/assets',
      passkeys: [
        { name: 'Laptop', createdAt: 1_700_000_000, lastUsedAt: 1_700_100_000, synced: true },
        { name: 'Key', createdAt: 1_700_000_000, lastUsedAt: null, synced: false },
      ],
      accountUrl: '/account',
      added: 'Laptop',
      error: msg('interaction.error.passkeyExists'),
    }),
    passkeysContinue: passkeysPage({
      ...c,
      action: '/pk',
      csrf: 'x',
      username: 'bob',
      options: '{}',
      assets: '/assets',
      passkeys: [],
      accountUrl: '/account',
      continueTo: { path: '/interaction/u', url: 'https://id.example/interaction/u' },
    }),
  };
}

/** A page's text as a reader meets it: its elements' text and the attributes read out (labels, titles, alt). */
function visible(doc: string): string {
  const said = [...doc.matchAll(/\b(?:aria-label|title|alt|placeholder|data-msg-[a-z-]+)="([^"]*)"/g)].map((m) => m[1]);
  const text = doc
    .replace(/<style[\s\S]*?<\/style>/g, ' ')
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<[^>]+>/g, ' ');
  return `${text} ${said.join(' ')}`
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

/**
 * The pieces of the English catalog a page in another language must not show: each sentence's text
 * between its placeholders (long enough to be a phrase), where it differs from the translation.
 */
function englishLeftovers(locale: Exclude<Locale, 'en'>): { key: string; piece: string }[] {
  const all = Object.fromEntries(catalogs()) as Record<Locale, Record<MessageKey, string>>;
  const out: { key: string; piece: string }[] = [];
  for (const key of Object.keys(all.en) as MessageKey[]) {
    if (!key.startsWith('interaction.') && !key.startsWith('layout.')) continue;
    if (all.en[key] === all[locale][key]) continue;
    for (const piece of all.en[key].split(/\{[A-Za-z0-9_]+\}/)) {
      const p = piece.trim();
      if (p.length >= 12 && !all[locale][key].includes(p)) out.push({ key, piece: p });
    }
  }
  return out;
}

describe('the sign-in pages in German and French', () => {
  for (const locale of ['de', 'fr'] as const) {
    it(`${locale}: every page has <html lang="${locale}"> and no English of the catalog`, () => {
      const leftovers = englishLeftovers(locale);
      for (const [name, doc] of Object.entries(pages(locale))) {
        assert.match(doc, new RegExp(`<html lang="${locale}">`), name);
        const text = visible(doc);
        for (const { key, piece } of leftovers)
          assert.ok(!text.includes(piece), `${locale} ${name}: "${piece}" (${key})`);
      }
    });
  }

  it('the pages say their words in the language asked for', () => {
    const de = pages('de');
    const fr = pages('fr');
    assert.match(de.login!, /<h1>Anmelden<\/h1>/);
    assert.match(de.login!, /um mit <strong>App<\/strong> fortzufahren/);
    assert.match(de.login!, /Benutzername oder Passwort ist falsch\./);
    assert.match(de.login!, /Weiter mit Corp ID/);
    assert.match(fr.login!, /<h1>Connexion<\/h1>/);
    assert.match(fr.login!, /Mot de passe oublié/);
    assert.match(de.accountLogin!, /Ihrem Tessera-Konto/);
    assert.match(de.consent!, /<h1>Zugriff erlauben\?<\/h1>/);
    assert.match(de.consent!, /Eigenes/, 'the operator’s own words, in German');
    assert.match(fr.consent!, /Autoriser/);
    assert.match(de.signup!, /Dieser Benutzername ist vergeben/);
    assert.match(fr.signup!, /au moins 8 caractères/);
    assert.match(de.error!, /<h1>Zugriff nicht erlaubt<\/h1>/);
    assert.match(fr.error!, /Retour à App/);
    assert.match(de.secondFactorRecovery!, /in 30 Sekunden/);
    assert.match(fr.enrolPasskey!, /clé d’accès/);
    assert.match(de.reset!, /data-msg-not-used="Es wurde kein Passkey verwendet/);
    assert.match(fr.passkeys!, /Clé d’accès « Laptop » ajoutée\./);
    assert.match(de.upstreamProblem!, /Corp ID nicht erreichbar/);
    assert.match(fr.loggedOutDone!, /Vous avez été déconnecté de Tessera/);
  });

  it('English stays as it was written before the catalog', () => {
    const en = pages('en');
    assert.match(en.login!, /<h1>Sign in<\/h1>/);
    assert.match(en.login!, /to continue to <strong>App<\/strong>/);
    assert.match(en.login!, /New here\? <a href="\/signup">Create an account<\/a>/);
    assert.match(
      en.consent!,
      /<strong>App<\/strong> is asking for access to your account <strong>bob<\/strong> on a device\./,
    );
    assert.match(en.consent!, /App&#39;s <a/);
    assert.match(
      en.emailUnverified!,
      /<strong>A new link is on its way<\/strong>, unless several were sent within the hour\./,
    );
    assert.match(en.passkeys!, / · added <time datetime="2023-11-14">2023-11-14<\/time>/);
    assert.equal(
      t('en', 'interaction.error.tooManyCodes', { seconds: 2 }),
      'Too many wrong codes. Try again in 2 seconds.',
    );
  });

  it('an error page shows the technical description as a detail, apart from its translated sentence', () => {
    const doc = errorPage({
      nonce: NONCE,
      locale: 'fr',
      title: msg('interaction.problem.invalidRequest.title'),
      message: msg('interaction.problem.invalidRequest.message'),
      detail: 'request_uri is not one this server issued.',
    });
    assert.match(doc, /<h1>Demande incorrecte<\/h1>/);
    assert.match(doc, /Détails techniques : <code lang="en">request_uri is not one this server issued\.<\/code>/);
  });
});

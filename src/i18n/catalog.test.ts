import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catalogs, msg, placeholdersOf, t, type MessageKey } from './catalog.ts';
import * as account from './messages/account.ts';
import * as consoleArea from './messages/console.ts';
import * as interaction from './messages/interaction.ts';
import * as layout from './messages/layout.ts';
import * as mail from './messages/mail.ts';
import * as scopes from './messages/scopes.ts';
import type { Locale } from './negotiate.ts';

/**
 * The texts a language may leave exactly as English says them, by key: a text with no words of its own
 * ('{page} · {brand}'), or a word the language really uses as it is (German says "Links"). Anything else
 * identical to English is a translation not done. Keep this list short; every entry must still be
 * identical (a test below), so it never outlives its reason.
 */
const SAME_AS_ENGLISH: Readonly<Record<Exclude<Locale, 'en'>, readonly MessageKey[]>> = {
  // Words that are the same in German (loanwords, names of things, abbreviations).
  de: [
    'layout.footer',
    'interaction.device.code',
    'interaction.mfa.passkey',
    'interaction.optional',
    'interaction.passkeys.name',
    'interaction.passkeys.title',
    'console.field.redis',
    'account.overview.name',
    'account.profile.name',
    'account.security.passkey',
    'console.action.clients.read.title',
    'console.action.webhooks.read.title',
    'console.chart.caption',
    'console.field.claim',
    'console.field.claims',
    'console.field.clients',
    'console.field.code',
    'console.field.cursor',
    'console.field.dpop',
    'console.field.format',
    'console.field.jwks',
    'console.field.logo',
    'console.field.name',
    'console.field.passkeys',
    'console.field.status',
    'console.field.url',
    'console.form.optional',
    'console.one.clients',
    'console.one.webhooks',
    'console.section.clients',
    'console.section.webhooks',
    'mail.browser',
  ],
  // Words that are the same in French.
  fr: [
    'interaction.device.code',
    'console.field.redis',
    'account.nav.sessions',
    'account.sessions.title',
    'console.action.clients.read.title',
    'console.action.webhooks.read.title',
    'console.chart.caption',
    'console.field.application',
    'console.field.claim',
    'console.field.claims',
    'console.field.clients',
    'console.field.code',
    'console.field.description',
    'console.field.dpop',
    'console.field.format',
    'console.field.jwks',
    'console.field.logo',
    'console.field.message',
    'console.field.sessions',
    'console.field.source',
    'console.field.type',
    'console.field.url',
    'console.field.via',
    'console.nav.label',
    'console.one.clients',
    'console.one.sessions',
    'console.one.webhooks',
    'console.section.clients',
    'console.section.sessions',
    'console.section.webhooks',
    'console.table.actions',
    'mail.duration.minute',
    'mail.duration.minutes',
  ],
};

/** A text of placeholders and punctuation only ("{first} {next}"): the same in every language. */
const onlyPlaceholders = (text: string) => !/\p{L}/u.test(text.replace(/\{[A-Za-z][A-Za-z0-9_]*\}/g, ''));

const AREAS = { layout, interaction, account, mail, scopes, console: consoleArea } as const;

describe('message catalogs', () => {
  const [[, en], ...others] = catalogs();
  const keys = Object.keys(en!).sort() as MessageKey[];

  it('every language has every English key, none empty, with the same placeholders', () => {
    assert.ok(keys.length > 0);
    for (const [locale, catalog] of others) {
      assert.deepEqual(Object.keys(catalog).sort(), keys, `${locale}: the same keys as English`);
      for (const key of keys) {
        assert.ok(catalog[key].trim().length > 0, `${locale} ${key}: empty`);
        assert.deepEqual(placeholdersOf(catalog[key]), placeholdersOf(en![key]), `${locale} ${key}: placeholders`);
      }
    }
  });

  it('no text holds markup: no "<", no character reference (the renderer escapes every text)', () => {
    const bad: string[] = [];
    for (const [locale, catalog] of catalogs())
      for (const key of keys)
        if (/</.test(catalog[key]) || /&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);/.test(catalog[key]))
          bad.push(`${locale} ${key}: ${JSON.stringify(catalog[key])}`);
    assert.deepEqual(bad, [], bad.join('\n'));
  });

  it('no text has a brace that is not a placeholder (it would show as written)', () => {
    const bad: string[] = [];
    for (const [locale, catalog] of catalogs())
      for (const key of keys)
        if (/[{}]/.test(catalog[key].replace(/\{[A-Za-z][A-Za-z0-9_]*\}/g, '')))
          bad.push(`${locale} ${key}: ${JSON.stringify(catalog[key])}`);
    assert.deepEqual(bad, [], bad.join('\n'));
  });

  it('a text is the same as English only for the keys of the short list', () => {
    const same: string[] = [];
    for (const [locale, catalog] of others) {
      const allowed = new Set(SAME_AS_ENGLISH[locale as Exclude<Locale, 'en'>]);
      for (const key of keys)
        if (catalog[key] === en![key] && !allowed.has(key) && !onlyPlaceholders(en![key]!))
          same.push(`${locale} ${key}: ${JSON.stringify(en![key])}`);
    }
    assert.deepEqual(
      same,
      [],
      `texts identical to English (translate them, or list them in SAME_AS_ENGLISH):\n${same.join('\n')}`,
    );
  });

  it('every key of the short list is still identical to English (the list holds nothing stale)', () => {
    const catalogOf = new Map(catalogs());
    for (const [locale, allowed] of Object.entries(SAME_AS_ENGLISH) as [Locale, readonly MessageKey[]][])
      for (const key of allowed) assert.equal(catalogOf.get(locale)![key], en![key], `${locale} ${key}`);
  });

  it('each area names its keys after itself (<area>.<page>.<thing>), so areas never collide', () => {
    for (const [area, module] of Object.entries(AREAS))
      for (const key of Object.keys(module.en)) assert.ok(key.startsWith(`${area}.`), `${key} is not in ${area}`);
  });

  it('t gives the text in the language asked for', () => {
    assert.equal(t('en', 'layout.privacy'), 'Privacy');
    assert.equal(t('de', 'layout.privacy'), 'Datenschutz');
    assert.equal(t('fr', msg('layout.support')), 'Aide');
  });

  it('placeholders: found in order of name, filled from the values, left as written without one', () => {
    assert.deepEqual(placeholdersOf('Hello {name}, you have {count} {name}'), ['count', 'name', 'name']);
    assert.deepEqual(placeholdersOf('{not a placeholder} {1x}'), []);
    assert.equal(t('de', 'layout.title', { page: 'Anmelden', brand: 'Acme' }), 'Anmelden · Acme');
    assert.equal(t('en', msg('layout.title', { page: 'Sign in' })), 'Sign in · {brand}');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeUntranslated, normalize, untranslated, type Catalogs } from './untranslated.ts';

/** A small catalog of its own, so these tests do not change with Tessera's texts. */
const CATALOGS: Catalogs = {
  en: {
    'interaction.login.title': 'Sign in',
    'interaction.login.username': 'Username',
    'interaction.login.hint': 'Welcome back, {name}.',
    'account.nav.links': 'Links',
    'account.nav.status': 'Status',
    'layout.title': '{page} · {brand}',
    'account.sessions.count': '{count} of {total}',
  },
  mine: {
    'interaction.login.title': 'Anmelden',
    'interaction.login.username': 'Benutzername',
    'interaction.login.hint': 'Willkommen zurück, {name}.',
    'account.nav.links': 'Verweise',
    'account.nav.status': 'Status',
    'layout.title': '{page} · {brand}',
    'account.sessions.count': '{count} von {total}',
  },
};

describe('untranslated texts of a page', () => {
  it('a German page: English texts whose German differs, each once, whitespace collapsed', () => {
    const found = untranslated('de', ['Anmelden', '  Sign\n   in ', 'Username', 'Sign in', 'Benutzername'], CATALOGS);
    assert.deepEqual(found, [
      { text: 'Sign in', reason: 'english', key: 'interaction.login.title' },
      { text: 'Username', reason: 'english', key: 'interaction.login.username' },
    ]);
  });

  it('a text German says as English does is not untranslated, nor is a text of the German catalog', () => {
    assert.deepEqual(untranslated('de', ['Status', 'Anmelden · Northwind ID', 'Verweise'], CATALOGS), []);
    // "Links" is English for account.nav.links, but German says "Verweise": untranslated.
    assert.deepEqual(
      untranslated('de', ['Links'], CATALOGS).map((f) => f.key),
      ['account.nav.links'],
    );
    // The same word in the German catalog (another key's German) is German.
    const both: Catalogs = {
      en: { ...CATALOGS.en, 'layout.footer': 'Footer' },
      mine: { ...CATALOGS.mine, 'layout.footer': 'Links' },
    };
    assert.deepEqual(untranslated('de', ['Links'], both), []);
  });

  it('an English text with placeholders is found with any values in their place, not inside another text', () => {
    assert.deepEqual(
      untranslated('de', ['Welcome back, Alice Smith.', 'Willkommen zurück, Alice.', 'Welcome back, .'], CATALOGS),
      [{ text: 'Welcome back, Alice Smith.', reason: 'english', key: 'interaction.login.hint' }],
    );
    // A template of a few letters at most ('{count} of {total}' has two) matches nothing: too loose.
    assert.deepEqual(untranslated('de', ['3 of 5'], CATALOGS), []);
    // Only whole texts: an English word inside a German sentence is not a finding.
    assert.deepEqual(untranslated('de', ['Bitte Username eingeben'], CATALOGS), []);
  });

  it('a catalog key shown as text is untranslated in every language, English too', () => {
    for (const locale of ['en', 'de', 'fr'] as const)
      assert.deepEqual(untranslated(locale, ['Title: interaction.login.title', 'ok'], CATALOGS), [
        { text: 'Title: interaction.login.title', reason: 'key', key: 'interaction.login.title' },
      ]);
    // Shaped like a key of a known area, though not in the catalog (a key mistyped past the types).
    assert.deepEqual(
      untranslated('en', ['account.sessions.titel'], CATALOGS).map((f) => f.key),
      ['account.sessions.titel'],
    );
  });

  it('addresses, URLs, host names and file names are not keys', () => {
    const texts = [
      'alice@account.example',
      'https://account.example.org/interaction.login.title',
      'Server: interaction.example.com',
      'account.example',
      'layout.png',
      'myaccount.nav.links',
    ];
    assert.deepEqual(untranslated('en', texts, CATALOGS), []);
  });

  it('a sentence in English that no catalog holds is found by its small English words', () => {
    const found = untranslated(
      'fr',
      ['Choose the app you trust', 'Fabrikam Shop', 'Mot de passe', 'on a fini'],
      CATALOGS,
    );
    assert.deepEqual(found, [{ text: 'Choose the app you trust', reason: 'words', key: 'the you' }]);
    // Words German or French share are no sign ("in", "an", "was", "die", "on", "a", "or"), nor is one word alone.
    assert.deepEqual(
      untranslated('de', ['Die Sitzung war in Ordnung', 'was', 'You', 'openid profile email'], CATALOGS),
      [],
    );
    // An identifier is no text: a key id whose random letters hold "wE" between "_" and "4" (the
    // console's key table, a failure once in CI), a long unbroken id, a time.
    assert.deepEqual(
      untranslated(
        'de',
        [
          '2am1nts5ZiyU3u7oCPxx4OvpesJ_wE4jHUGF-Xm8L40 ES256 aktiv 2026-12-05T10:55:40Z',
          'abcdefghijklmnopqrstuvwxyzYOUTHE und',
        ],
        CATALOGS,
      ),
      [],
    );
    assert.equal(describeUntranslated(found), '"Choose the app you trust" (English words in no catalog: the you)');
    assert.deepEqual(untranslated('en', ['Choose the app you trust'], CATALOGS), []);
  });

  it('an English page has no English findings', () => {
    assert.deepEqual(untranslated('en', ['Sign in', 'Username', 'Welcome back, Alice.'], CATALOGS), []);
  });

  it("Tessera's own catalogs: the footer's English on a French page", () => {
    const found = untranslated('fr', ['Privacy', 'Confidentialité', 'Links', 'Northwind ID']);
    assert.deepEqual(
      found.map((f) => [f.text, f.key]),
      [
        ['Privacy', 'layout.privacy'],
        ['Links', 'layout.footer'],
      ],
    );
    assert.deepEqual(untranslated('de', ['Links', 'Datenschutz', 'layout.privacy']), [
      { text: 'layout.privacy', reason: 'key', key: 'layout.privacy' },
    ]);
    assert.equal(
      describeUntranslated(found),
      '"Privacy" (English of layout.privacy)\n"Links" (English of layout.footer)',
    );
  });

  it('normalize collapses whitespace and trims', () => {
    assert.equal(normalize('  a\u00a0 b\n\tc  '), 'a b c');
  });
});

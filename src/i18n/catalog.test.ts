import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catalogs, msg, placeholdersOf, t, type MessageKey } from './catalog.ts';

describe('message catalogs', () => {
  it('every language has every English key, none empty, with the same placeholders', () => {
    const [[, en], ...others] = catalogs();
    const keys = Object.keys(en!).sort();
    assert.ok(keys.length > 0);
    for (const [locale, catalog] of others) {
      assert.deepEqual(Object.keys(catalog).sort(), keys, `${locale}: the same keys as English`);
      for (const key of keys as MessageKey[]) {
        assert.ok(catalog[key].trim().length > 0, `${locale} ${key}: empty`);
        assert.deepEqual(placeholdersOf(catalog[key]), placeholdersOf(en![key]), `${locale} ${key}: placeholders`);
      }
    }
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

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromAcceptLanguage, fromUiLocales, localeOf, negotiate } from './negotiate.ts';

describe('language negotiation', () => {
  it('a regional tag is served its language; unknown languages and malformed tags are not', () => {
    assert.equal(localeOf('de-CH'), 'de');
    assert.equal(localeOf('FR-ca'), 'fr');
    assert.equal(localeOf('en'), 'en');
    assert.equal(localeOf('es'), undefined);
    assert.equal(localeOf('de_DE'), undefined);
    assert.equal(localeOf('<script>'), undefined);
    assert.equal(localeOf(''), undefined);
  });

  it('ui_locales: the first language spoken, in the order given', () => {
    assert.equal(fromUiLocales('es fr-CA de'), 'fr');
    assert.equal(fromUiLocales('es it'), undefined);
    assert.equal(fromUiLocales(''), undefined);
    assert.equal(fromUiLocales(undefined), undefined);
  });

  it('Accept-Language: by weight, the earlier first among equals; q=0 refuses; junk is skipped', () => {
    assert.equal(fromAcceptLanguage('fr;q=0.5, de;q=0.9, en;q=0.1'), 'de');
    assert.equal(fromAcceptLanguage('es, fr, de'), 'fr');
    assert.equal(fromAcceptLanguage('de;q=0, de-AT, fr;q=0.2'), 'fr');
    assert.equal(fromAcceptLanguage('*'), undefined);
    assert.equal(fromAcceptLanguage('de;q=2, fr;level=1, en;q=0.3'), 'en');
    assert.equal(fromAcceptLanguage(`${'xx, '.repeat(50)}de`), undefined, 'entries past the limit are not read');
    assert.equal(fromAcceptLanguage(undefined), undefined);
  });

  it('ui_locales, then the user, then the browser, then the default', () => {
    assert.equal(negotiate({ uiLocales: 'de', userLocale: 'fr', acceptLanguage: 'en' }), 'de');
    assert.equal(negotiate({ uiLocales: 'es', userLocale: 'fr', acceptLanguage: 'de' }), 'fr');
    assert.equal(negotiate({ userLocale: 'xx', acceptLanguage: 'de-DE,de;q=0.9' }), 'de');
    assert.equal(negotiate({}), 'en');
    assert.equal(negotiate({ acceptLanguage: 'es' }, 'fr'), 'fr');
  });
});

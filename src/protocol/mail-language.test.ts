import assert from 'node:assert/strict';
import { it } from 'node:test';
import { LANGUAGE_COOKIE } from '../i18n/negotiate.ts';
import { mailLocale } from './mail-language.ts';

const config = { defaultLocale: 'en' as const };
const request = (accept?: string, cookie?: string) => ({
  headers: accept ? { 'accept-language': accept } : {},
  cookies: cookie ? { [LANGUAGE_COOKIE]: cookie } : {},
});

it('the user’s own choice comes first, whatever the request says', () => {
  assert.equal(mailLocale(request('de', 'de'), config, { locale: 'fr' }, 'de'), 'fr');
});

it('else the request: the picked language, then ui_locales, then Accept-Language', () => {
  assert.equal(mailLocale(request('de', 'fr'), config, { locale: null }, 'en'), 'fr');
  assert.equal(mailLocale(request('de'), config, {}, 'fr-CA en'), 'fr');
  assert.equal(mailLocale(request('fr;q=0.5, de-CH;q=0.9'), config), 'de');
});

it('else the deployment’s default; an unknown choice of the user counts as none', () => {
  assert.equal(mailLocale(undefined, { defaultLocale: 'de' }), 'de');
  assert.equal(mailLocale(request('ja'), { defaultLocale: 'fr' }, { locale: 'ja' }), 'fr');
});

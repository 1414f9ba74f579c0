import assert from 'node:assert/strict';
import { it } from 'node:test';
import { localeOfVars, openVars, sealVars } from './sealed-vars.ts';

const keks = { keyEncryptionKey: 'a-key-encryption-key-of-32-characters!!' };

it("a queued mail's language is sealed with its values and read back apart from them", async () => {
  const sealed = await sealVars(keks, { username: 'ada', link: 'https://id.example/x' }, 'de');
  assert.deepEqual(Object.keys(sealed), ['sealed']);
  assert.doesNotMatch(JSON.stringify(sealed), /ada|"de"/);
  assert.deepEqual(localeOfVars(await openVars(keks, sealed)), {
    locale: 'de',
    vars: { username: 'ada', link: 'https://id.example/x' },
  });
});

it('a mail queued without a language, or with one Tessera does not speak, is English', async () => {
  assert.deepEqual(localeOfVars(await openVars(keks, await sealVars(keks, { username: 'ada' }))), {
    locale: 'en',
    vars: { username: 'ada' },
  });
  assert.deepEqual(localeOfVars({ username: 'ada', locale: 'ja' }), { locale: 'en', vars: { username: 'ada' } });
  assert.deepEqual(localeOfVars({ username: 'ada', locale: 'de-CH' }).locale, 'en');
});

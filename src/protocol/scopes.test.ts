import assert from 'node:assert/strict';
import { it } from 'node:test';
import { say } from '../i18n/catalog.ts';
import { ADMIN_SCOPE_DESCRIPTIONS, ADMIN_SCOPES } from './admin-scopes.ts';
import { scopeWords } from './scopes.ts';

it('standard scopes are catalog messages: the consent page says them in its language', () => {
  assert.equal(say('de', scopeWords('email', undefined)), 'Ihre E-Mail-Adresse');
  assert.equal(say('fr', scopeWords('profile', undefined)), 'Votre nom et votre nom d’utilisateur');
  assert.equal(say('en', scopeWords('openid', undefined)), 'Sign you in and know your user id');
});

it('a scope nobody described: "Access: <scope>" in the page language', () => {
  assert.equal(say('en', scopeWords('files:read', undefined)), 'Access: files:read');
  assert.equal(say('de', scopeWords('files:read', '')), 'Zugriff: files:read');
  assert.equal(say('fr', scopeWords('constructor', undefined)), 'Accès : constructor');
});

it("an operator's description wins: per language, else its English", () => {
  const texts = { en: 'Read your files', de: 'Ihre Dateien lesen' };
  assert.deepEqual(scopeWords('files:read', texts), { operator: texts });
  assert.equal(say('de', scopeWords('files:read', texts)), 'Ihre Dateien lesen');
  assert.equal(say('fr', scopeWords('files:read', texts)), 'Read your files');
  assert.equal(say('de', scopeWords('email', 'Mail of yours')), 'Mail of yours');
});

it("admin scopes (the CLI's device flow) are Tessera's words, the same in English as ADMIN_SCOPE_DESCRIPTIONS", () => {
  for (const scope of ADMIN_SCOPES) {
    const words = scopeWords(scope, ADMIN_SCOPE_DESCRIPTIONS[scope]);
    assert.equal(say('en', words), ADMIN_SCOPE_DESCRIPTIONS[scope], scope);
    assert.match(say('de', words), /^Tessera verwalten: /, scope);
    assert.match(say('fr', words), /^Administrer Tessera : /, scope);
  }
});

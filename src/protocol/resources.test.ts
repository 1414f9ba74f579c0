import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientRecord } from '../ports/clients.ts';
import { OAuthError } from './errors.ts';
import { checkResources, MAX_RESOURCES, pickResource, resourceScope, resourceScopesProblems } from './resources.ts';

const client = (allowedResources: string[], resource_scopes?: Record<string, string[]>) =>
  ({
    clientId: 'c',
    allowedResources,
    metadata: resource_scopes ? { resource_scopes } : {},
  }) as unknown as ClientRecord;
const target = (fn: () => unknown) =>
  assert.throws(fn, (e: unknown) => e instanceof OAuthError && e.code === 'invalid_target');

describe('resource indicators', () => {
  it('checkResources: absolute URIs without fragments, allowed for the client, at most MAX_RESOURCES; duplicates folded', () => {
    assert.equal(checkResources(client([]), 'https://a/ https://b/ https://a/'), 'https://a/ https://b/');
    assert.equal(checkResources(client(['https://a/']), 'https://a/'), 'https://a/');
    target(() => checkResources(client(['https://a/']), 'https://b/'));
    target(() => checkResources(client([]), 'https://a/#x'));
    target(() => checkResources(client([]), 'not-a-uri'));
    target(() => checkResources(client([]), ''));
    target(() =>
      checkResources(client([]), Array.from({ length: MAX_RESOURCES + 1 }, (_, i) => `https://r${i}/`).join(' ')),
    );
    assert.doesNotThrow(() =>
      checkResources(client([]), Array.from({ length: MAX_RESOURCES }, (_, i) => `https://r${i}/`).join(' ')),
    );
  });
  it('pickResource: the named one if granted, else the only one, else null; several need naming', () => {
    assert.equal(pickResource(null, undefined), null);
    assert.equal(pickResource('https://a/', undefined), 'https://a/');
    assert.equal(pickResource('https://a/ https://b/', 'https://b/'), 'https://b/');
    target(() => pickResource('https://a/ https://b/', undefined));
    target(() => pickResource('https://a/ https://b/', 'https://c/'));
    target(() => pickResource('https://a/ https://b/', 'https://a/ https://b/'));
    target(() => pickResource(null, 'https://a/'));
  });
  it('resourceScope narrows API scopes by the mapping and keeps OpenID Connect scopes', () => {
    const c = client([], { 'https://a/': ['read'] });
    assert.equal(resourceScope(c, 'https://a/', 'openid read write offline_access'), 'openid read offline_access');
    assert.equal(resourceScope(c, 'https://b/', 'openid read write'), 'openid read write');
    assert.equal(resourceScope(c, null, 'read write'), 'read write');
    assert.equal(resourceScope(client([]), 'https://a/', 'read write'), 'read write');
  });
  it('resourceScopesProblems', () => {
    assert.deepEqual(resourceScopesProblems({ 'https://a/': ['read'] }, ['https://a/'], ['read']), []);
    assert.equal(resourceScopesProblems([], [], []).length, 1);
    assert.equal(resourceScopesProblems({ 'https://a/#f': ['read'] }, [], ['read']).length, 1);
    assert.equal(resourceScopesProblems({ 'https://b/': ['read'] }, ['https://a/'], ['read']).length, 1);
    assert.equal(resourceScopesProblems({ 'https://a/': ['write'] }, [], ['read']).length, 1);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientRecord } from '../../ports/clients.ts';
import { OAuthError } from '../errors.ts';
import { ACCESS_TOKEN_TYPE, exchangeScope, exchangeTarget } from './token-exchange.ts';

const policy = { audiences: ['https://orders.example/', 'billing'], subject_clients: ['web'] };
const base = { subject_token: 't', subject_token_type: ACCESS_TOKEN_TYPE };
const client = { scopes: ['openid', 'orders:read', 'orders:write'] } as ClientRecord;
const code = (f: () => unknown) => {
  try { f(); } catch (e) { return (e as OAuthError).code; }
  return 'ok';
};

describe('token exchange request checks', () => {
  it('accepts an allowed audience or resource, and the access-token type asked for explicitly', () => {
    assert.equal(exchangeTarget(policy, { ...base, audience: 'billing' }), 'billing');
    assert.equal(exchangeTarget(policy, { ...base, resource: 'https://orders.example/', requested_token_type: ACCESS_TOKEN_TYPE }), 'https://orders.example/');
  });
  it('refuses other token types, delegation, two targets, no target (invalid_request) and other audiences (invalid_target)', () => {
    assert.equal(code(() => exchangeTarget(policy, { audience: 'billing' })), 'invalid_request');
    assert.equal(code(() => exchangeTarget(policy, { ...base, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token', audience: 'billing' })), 'invalid_request');
    assert.equal(code(() => exchangeTarget(policy, { ...base, audience: 'billing', actor_token: 'a', actor_token_type: ACCESS_TOKEN_TYPE })), 'invalid_request');
    assert.equal(code(() => exchangeTarget(policy, { ...base, audience: 'billing', requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' })), 'invalid_request');
    assert.equal(code(() => exchangeTarget(policy, { ...base, audience: 'billing', resource: 'https://orders.example/' })), 'invalid_request');
    assert.equal(code(() => exchangeTarget(policy, base)), 'invalid_request');
    assert.equal(code(() => exchangeTarget(policy, { ...base, audience: 'https://evil.example/' })), 'invalid_target');
    assert.equal(code(() => exchangeTarget(policy, { ...base, resource: 'https://orders.example' })), 'invalid_target');
  });
});

describe('token exchange scope', () => {
  it('defaults to what the subject token held that the client may hold', () => {
    assert.equal(exchangeScope(client, 'openid profile orders:read', undefined), 'openid orders:read');
    assert.equal(exchangeScope(client, undefined, undefined), '');
  });
  it('narrows to what is asked, never beyond the subject token or the client', () => {
    assert.equal(exchangeScope(client, 'openid orders:read orders:write', 'orders:read'), 'orders:read');
    assert.equal(code(() => exchangeScope(client, 'openid orders:read', 'orders:write')), 'invalid_scope');
    assert.equal(code(() => exchangeScope(client, 'openid profile', 'profile')), 'invalid_scope');
    assert.equal(code(() => exchangeScope(client, 'openid', 'open"id')), 'invalid_scope');
  });
});

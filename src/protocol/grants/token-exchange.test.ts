import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientRecord } from '../../ports/clients.ts';
import type { OAuthError } from '../errors.ts';
import {
  ACCESS_TOKEN_TYPE,
  actClaim,
  actDepth,
  exchangeRequest,
  exchangeScope,
  ID_TOKEN_TYPE,
  JWT_TOKEN_TYPE,
  mayActAllows,
  MAX_ACT_DEPTH,
  possessionProven,
  readAct,
  REFRESH_TOKEN_TYPE,
} from './token-exchange.ts';
import type { DepsOf } from '../provider.ts';

const policy = { audiences: ['https://orders.example/', 'billing'], subject_clients: ['web'] };
const base = { subject_token: 't', subject_token_type: ACCESS_TOKEN_TYPE };
const client = { scopes: ['openid', 'orders:read', 'orders:write'] } as ClientRecord;
const exchangeTarget = (p: DepsOf<typeof exchangeRequest>, params: Parameters<typeof exchangeRequest>[1]) =>
  exchangeRequest(p, params).audience;
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as OAuthError).code;
  }
  return 'ok';
};

describe('token exchange request checks', () => {
  it('accepts an allowed audience or resource, and the access-token type asked for explicitly', () => {
    assert.equal(exchangeTarget(policy, { ...base, audience: 'billing' }), 'billing');
    assert.equal(
      exchangeTarget(policy, { ...base, resource: 'https://orders.example/', requested_token_type: ACCESS_TOKEN_TYPE }),
      'https://orders.example/',
    );
  });
  it('refuses other token types, delegation, two targets, no target (invalid_request) and other audiences (invalid_target)', () => {
    assert.equal(
      code(() => exchangeTarget(policy, { audience: 'billing' })),
      'invalid_request',
    );
    assert.equal(
      code(() =>
        exchangeTarget(policy, {
          ...base,
          subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
          audience: 'billing',
        }),
      ),
      'invalid_request',
    );
    assert.equal(
      code(() =>
        exchangeTarget(policy, { ...base, audience: 'billing', actor_token: 'a', actor_token_type: ACCESS_TOKEN_TYPE }),
      ),
      'invalid_request',
    );
    assert.equal(
      code(() =>
        exchangeTarget(policy, {
          ...base,
          audience: 'billing',
          requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token',
        }),
      ),
      'invalid_request',
    );
    assert.equal(
      code(() => exchangeTarget(policy, { ...base, audience: 'billing', resource: 'https://orders.example/' })),
      'invalid_request',
    );
    assert.equal(
      code(() => exchangeTarget(policy, base)),
      'invalid_request',
    );
    assert.equal(
      code(() => exchangeTarget(policy, { ...base, audience: 'https://evil.example/' })),
      'invalid_target',
    );
    assert.equal(
      code(() => exchangeTarget(policy, { ...base, resource: 'https://orders.example' })),
      'invalid_target',
    );
  });
});

describe('token exchange scope', () => {
  it('defaults to what the subject token held that the client may hold', () => {
    assert.equal(exchangeScope(client, 'openid profile orders:read', undefined), 'openid orders:read');
    assert.equal(exchangeScope(client, undefined, undefined), '');
  });
  it('narrows to what is asked, never beyond the subject token or the client', () => {
    assert.equal(exchangeScope(client, 'openid orders:read orders:write', 'orders:read'), 'orders:read');
    assert.equal(
      code(() => exchangeScope(client, 'openid orders:read', 'orders:write')),
      'invalid_scope',
    );
    assert.equal(
      code(() => exchangeScope(client, 'openid profile', 'profile')),
      'invalid_scope',
    );
    assert.equal(
      code(() => exchangeScope(client, 'openid', 'open"id')),
      'invalid_scope',
    );
  });
});

describe('token exchange token types and delegation policy', () => {
  const full = {
    ...policy,
    token_types: ['access_token', 'refresh_token', 'id_token', 'jwt'] as const,
    delegation: true,
    actor_clients: ['gateway'],
  };
  const all = { ...full, token_types: [...full.token_types] };
  it('accepts the token types the policy lists, and actor tokens only with delegation', () => {
    assert.deepEqual(
      exchangeRequest(all, {
        ...base,
        subject_token_type: REFRESH_TOKEN_TYPE,
        audience: 'billing',
        actor_token: 'a',
        actor_token_type: ID_TOKEN_TYPE,
      }),
      { audience: 'billing', subjectType: 'refresh_token', actorType: 'id_token', issuedType: ACCESS_TOKEN_TYPE },
    );
    assert.equal(
      exchangeRequest(all, { ...base, audience: 'billing', requested_token_type: JWT_TOKEN_TYPE }).issuedType,
      JWT_TOKEN_TYPE,
    );
    // Default policy: access tokens only, no delegation.
    assert.equal(
      code(() => exchangeRequest(policy, { ...base, subject_token_type: JWT_TOKEN_TYPE, audience: 'billing' })),
      'invalid_request',
    );
    assert.equal(
      code(() =>
        exchangeRequest(policy, {
          ...base,
          audience: 'billing',
          actor_token: 'a',
          actor_token_type: ACCESS_TOKEN_TYPE,
        }),
      ),
      'invalid_request',
    );
    assert.equal(
      code(() =>
        exchangeRequest(
          { ...all, delegation: false },
          { ...base, audience: 'billing', actor_token: 'a', actor_token_type: ACCESS_TOKEN_TYPE },
        ),
      ),
      'invalid_request',
    );
  });
  it('refuses unknown token types, an actor token without its type (and the reverse), other requested types', () => {
    assert.equal(
      code(() =>
        exchangeRequest(all, {
          ...base,
          subject_token_type: 'urn:ietf:params:oauth:token-type:saml2',
          audience: 'billing',
        }),
      ),
      'invalid_request',
    );
    assert.equal(
      code(() => exchangeRequest(all, { ...base, audience: 'billing', actor_token: 'a' })),
      'invalid_request',
    );
    assert.equal(
      code(() => exchangeRequest(all, { ...base, audience: 'billing', actor_token_type: ACCESS_TOKEN_TYPE })),
      'invalid_request',
    );
    assert.equal(
      code(() => exchangeRequest(all, { ...base, audience: 'billing', actor_token: 'a', actor_token_type: 'x' })),
      'invalid_request',
    );
    assert.equal(
      code(() => exchangeRequest(all, { ...base, audience: 'billing', requested_token_type: REFRESH_TOKEN_TYPE })),
      'invalid_request',
    );
    assert.equal(
      code(() => exchangeRequest(all, { ...base, audience: 'billing', requested_token_type: ID_TOKEN_TYPE })),
      'invalid_request',
    );
    // Several resource values (RFC 8707 repeats them; the parameter reader joins them with spaces).
    assert.equal(
      code(() => exchangeRequest(all, { ...base, resource: 'https://orders.example/ billing' })),
      'invalid_request',
    );
  });
  it("limits the scope to the policy's scopes too", () => {
    const narrow = { ...policy, scopes: ['orders:read'] };
    assert.equal(exchangeScope(client, 'openid orders:read orders:write', undefined, narrow), 'orders:read');
    assert.equal(
      code(() => exchangeScope(client, 'openid orders:read orders:write', 'orders:write', narrow)),
      'invalid_scope',
    );
    assert.equal(exchangeScope(client, 'orders:read', 'orders:read orders:read', narrow), 'orders:read');
  });
});

describe('act claim chain (RFC 8693 section 4.1)', () => {
  it("names the actor, with the subject token's chain nested inside (newest actor outermost)", () => {
    assert.deepEqual(actClaim({ sub: 'gateway', clientId: 'gateway', exp: 1 }, undefined), {
      sub: 'gateway',
      client_id: 'gateway',
    });
    const earlier = {
      sub: 'svc-a',
      client_id: 'svc-a',
      act: { sub: 'https://idp.example/u1', iss: 'https://idp.example' },
    };
    const chain = actClaim({ sub: 'bob', clientId: 'web', exp: 1 }, earlier);
    assert.deepEqual(chain, { sub: 'bob', client_id: 'web', act: earlier });
    assert.equal(actDepth(chain), 3);
    assert.deepEqual(actClaim({ sub: 'x', iss: 'https://idp.example', exp: 1 }, undefined), {
      sub: 'x',
      iss: 'https://idp.example',
    });
  });
  it('reads act claims from tokens: keeps sub, client_id, iss, act; refuses malformed or too deep chains', () => {
    assert.equal(readAct(undefined), undefined);
    assert.deepEqual(readAct({ sub: 'a', client_id: 'c', extra: 1, act: { sub: 'b' } }), {
      sub: 'a',
      client_id: 'c',
      act: { sub: 'b' },
    });
    for (const bad of [
      null,
      'a',
      ['a'],
      {},
      { sub: '' },
      { sub: 1 },
      { sub: 'a', client_id: 2 },
      { sub: 'a', act: 'b' },
      { sub: 'a', act: {} },
      { sub: 'x'.repeat(300) },
    ]) {
      assert.equal(readAct(bad), null, JSON.stringify(bad));
    }
    let deep: Record<string, unknown> = { sub: 'a0' };
    for (let i = 1; i < MAX_ACT_DEPTH; i++) deep = { sub: `a${i}`, act: deep };
    assert.equal(actDepth(readAct(deep)!), MAX_ACT_DEPTH);
    assert.equal(readAct({ sub: 'top', act: deep }), null);
  });
});

describe('may_act (RFC 8693 section 4.4)', () => {
  const actor = { sub: 'gateway', clientId: 'gateway', exp: 1 };
  it('allows any actor when absent, and an actor matching every member it names', () => {
    assert.equal(mayActAllows(undefined, actor), true);
    assert.equal(mayActAllows({ sub: 'gateway' }, actor), true);
    assert.equal(mayActAllows({ sub: 'gateway', client_id: 'gateway' }, actor), true);
    assert.equal(
      mayActAllows({ sub: 'u1', iss: 'https://idp.example' }, { sub: 'u1', iss: 'https://idp.example', exp: 1 }),
      true,
    );
  });
  it('refuses other actors and malformed may_act', () => {
    assert.equal(mayActAllows({ sub: 'other' }, actor), false);
    assert.equal(mayActAllows({ sub: 'gateway', client_id: 'web' }, actor), false);
    assert.equal(mayActAllows({ sub: 'gateway', iss: 'https://idp.example' }, actor), false);
    for (const bad of [null, 'gateway', ['gateway'], {}, { client_id: 'gateway' }])
      assert.equal(mayActAllows(bad, actor), false, JSON.stringify(bad));
  });
});

describe('sender-constrained subject and actor tokens', () => {
  const dpop = { jkt: 'key-1' } as NonNullable<DepsOf<typeof possessionProven>['dpop']>;
  it('accepts an unbound token, and a bound one when the request proves its key', () => {
    assert.equal(possessionProven({}, {}), true);
    assert.equal(possessionProven({}, { jkt: null, x5t: null }), true);
    assert.equal(possessionProven({ dpop }, { jkt: 'key-1' }), true);
    assert.equal(possessionProven({ certThumbprint: 'cert-1' }, { x5t: 'cert-1' }), true);
  });
  it('refuses a bound token without the proof, or with another key or certificate', () => {
    assert.equal(possessionProven({}, { jkt: 'key-1' }), false);
    assert.equal(possessionProven({ dpop: { ...dpop, jkt: 'key-2' } }, { jkt: 'key-1' }), false);
    assert.equal(possessionProven({}, { x5t: 'cert-1' }), false);
    assert.equal(possessionProven({ certThumbprint: 'cert-2' }, { x5t: 'cert-1' }), false);
    assert.equal(possessionProven({ dpop }, { x5t: 'cert-1' }), false);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wwwAuthenticate } from './challenge.ts';
import { InsufficientUserAuthenticationError } from './errors.ts';
import { acrSatisfies, TESSERA_ACR_VALUES } from './step-up.ts';

describe('step-up (RFC 9470)', () => {
  it('orders Tessera acr values: a level satisfies itself and every one before it', () => {
    assert.deepEqual(TESSERA_ACR_VALUES, ['urn:tessera:acr:password', 'urn:tessera:acr:mfa', 'phr', 'phrh']);
    assert.ok(acrSatisfies('phrh', 'urn:tessera:acr:password'));
    assert.ok(acrSatisfies('phr', 'urn:tessera:acr:mfa'));
    assert.ok(!acrSatisfies('phr', 'phrh'));
    assert.ok(!acrSatisfies('urn:tessera:acr:password', 'urn:tessera:acr:mfa'));
    assert.ok(!acrSatisfies(undefined, 'urn:tessera:acr:password'));
    assert.ok(acrSatisfies('gold', 'gold'));
    assert.ok(!acrSatisfies('gold', 'phr') && !acrSatisfies('phrh', 'gold'));
    assert.ok(acrSatisfies('b', 'a', ['a', 'b']));
  });

  it('the challenge names acr_values and max_age only when the error carries them', () => {
    const base = { schemes: ['Bearer'] as const, used: 'Bearer' as const };
    assert.equal(
      wwwAuthenticate(
        base,
        new InsufficientUserAuthenticationError('Stronger.', { acrValues: ['phr', 'phrh'], maxAge: 0 }),
      ),
      'Bearer error="insufficient_user_authentication", error_description="Stronger.", acr_values="phr phrh", max_age="0"',
    );
    assert.equal(
      wwwAuthenticate(base, new InsufficientUserAuthenticationError('Recent.', { maxAge: 300 })),
      'Bearer error="insufficient_user_authentication", error_description="Recent.", max_age="300"',
    );
  });
});

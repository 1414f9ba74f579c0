import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UpstreamProvider } from '../../ports/upstreams.ts';
import { appleUserName, profileFrom, subjectOf } from './profile.ts';

const provider = (over: Partial<UpstreamProvider> = {}) =>
  ({
    id: 'p',
    kind: 'oidc',
    claims: {
      subject: 'sub',
      username: 'preferred_username',
      name: 'name',
      email: 'email',
      emailVerified: 'email_verified',
    },
    ...over,
  }) as UpstreamProvider;
const who = { issuer: 'https://idp.example', subject: 's1' };

describe('upstream profiles', () => {
  it('subjects: strings up to 255 characters, non-negative safe integers as decimals; nothing else', () => {
    assert.equal(subjectOf('abc'), 'abc');
    assert.equal(subjectOf(583231), '583231');
    for (const bad of ['', 'x'.repeat(256), 1.5, -1, 2 ** 53, null, undefined, {}, ['a'], true])
      assert.equal(subjectOf(bad), undefined, String(bad));
  });
  it('email_verified: only a boolean true; Apple also "true"; Microsoft never; and never without an email', () => {
    const v = (p: UpstreamProvider, c: Record<string, unknown>) => profileFrom(p, c, who).emailVerified;
    assert.equal(v(provider(), { email: 'a@x.test', email_verified: true }), true);
    for (const bad of ['true', 1, 'yes', null, undefined])
      assert.equal(v(provider(), { email: 'a@x.test', email_verified: bad }), false, String(bad));
    assert.equal(v(provider({ preset: 'apple' }), { email: 'a@x.test', email_verified: 'true' }), true);
    assert.equal(v(provider({ preset: 'apple' }), { email: 'a@x.test', email_verified: 'false' }), false);
    assert.equal(v(provider({ preset: 'microsoft' }), { email: 'a@x.test', email_verified: true }), false);
    assert.equal(v(provider(), { email_verified: true }), false);
  });
  it('the claim mapping, lists, hd for Google only, and values that are not strings dropped', () => {
    const p = provider({
      preset: 'google',
      claims: {
        subject: 'sub',
        username: 'nick',
        name: 'display',
        email: 'mail',
        emailVerified: 'ok',
        groups: 'roles',
      },
    });
    assert.deepEqual(
      profileFrom(
        p,
        {
          nick: 'ann',
          display: 'Ann',
          mail: 'ann@corp.example',
          ok: true,
          roles: ['a', 7, 'b'],
          hd: 'Corp.Example',
          amr: 'pwd',
          acr: 3,
          sid: 'x',
        },
        who,
      ),
      {
        ...who,
        email: 'ann@corp.example',
        emailVerified: true,
        username: 'ann',
        name: 'Ann',
        groups: ['a', 'b'],
        amr: ['pwd'],
        hostedDomain: 'corp.example',
        sid: 'x',
      },
    );
    assert.equal(profileFrom(provider(), { hd: 'corp.example' }, who).hostedDomain, undefined);
    assert.equal(profileFrom(provider(), { name: 'x'.repeat(513) }, who).name, undefined);
  });
  it("Apple's user field: the first and last name only, and nothing from a malformed or oversized one", () => {
    assert.deepEqual(appleUserName('{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"x@y"}'), {
      givenName: 'Ada',
      familyName: 'Lovelace',
    });
    for (const bad of [
      null,
      '',
      'not json',
      '"str"',
      'null',
      '{"name":5}',
      `{"name":{"firstName":"${'a'.repeat(5000)}"}}`,
    ])
      assert.deepEqual(appleUserName(bad), {}, String(bad));
    const p = profileFrom(provider({ preset: 'apple' }), { email: 'r@privaterelay.appleid.com' }, who, {
      appleUser: '{"name":{"firstName":"Ada"},"email":"spoof@example.com"}',
    });
    assert.equal(p.name, 'Ada');
    assert.equal(p.email, 'r@privaterelay.appleid.com');
    // Only for Apple.
    assert.equal(profileFrom(provider(), {}, who, { appleUser: '{"name":{"firstName":"Ada"}}' }).name, undefined);
  });
});

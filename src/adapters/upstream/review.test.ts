import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UpstreamProvider } from '../../ports/upstreams.ts';
import { appleUserName, profileFrom, subjectOf, text } from './profile.ts';

// Adversarial review of the upstream adapter (issue 17): what an upstream's claims may carry into a
// profile. A value with a NUL cannot be stored by PostgreSQL (invalid byte sequence 0x00: the sign-in
// would fail with a store error, not a clear page); other control characters, line separators, bidi
// overrides and lone surrogates have no place in a name, an email, a username or a subject.

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
      groups: 'groups',
    },
    ...over,
  }) as UpstreamProvider;
const who = { issuer: 'https://idp.example', subject: 's1' };

const BAD = [
  'a\u0000b',
  'a\u0007b',
  'a\nb',
  'a\u001bb',
  'a\u007fb',
  'a\u0085b',
  'a\u2028b',
  'a\u202eb',
  'a\u2066b',
  'a\ud800b',
];

describe('upstream profiles: characters that have no place in a claim', () => {
  it('text values with control characters, line separators, bidi overrides or lone surrogates are dropped', () => {
    for (const bad of BAD) assert.equal(text(bad), undefined, JSON.stringify(bad));
    assert.equal(text('Zoë Ñandú 李 \u{1F600}'), 'Zoë Ñandú 李 \u{1F600}');
    assert.equal(text('  padded  '), 'padded');
  });
  it('subjects likewise: refused rather than stored', () => {
    for (const bad of BAD) assert.equal(subjectOf(bad), undefined, JSON.stringify(bad));
    assert.equal(subjectOf('248289761001'), '248289761001');
  });
  it('a profile keeps none of them (name, email, username, groups, sid, amr, acr)', () => {
    const p = profileFrom(
      provider(),
      {
        email: 'victim@example.com\u0000',
        email_verified: true,
        name: 'Alice\u0000',
        preferred_username: 'alice\u202e',
        given_name: 'A\nB',
        groups: ['admins', 'ops\u0000', 'x\u2028y'],
        sid: 's\u0000',
        amr: ['pwd\u0000'],
        acr: 'urn:x\u0007',
      },
      who,
    );
    assert.deepEqual(p, { issuer: who.issuer, subject: who.subject, emailVerified: false, groups: ['admins'] });
  });
  it("Apple's user field: a name with a NUL is dropped", () => {
    assert.deepEqual(appleUserName(JSON.stringify({ name: { firstName: 'Al\u0000', lastName: 'Lee' } })), {
      familyName: 'Lee',
    });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  pairwiseSubject,
  sectorFor,
  sectorIdentifierProblem,
  sectorOf,
  subjectFor,
  subjectProblems,
} from './subject.ts';
import { ClientKeysError, fetchClientJson } from '../client-auth/client-keys.ts';
import { outboundHttp } from '../../adapters/outbound/http-client.ts';

/** The server's own fetcher: the outbound adapter under client-keys.ts's rules. */
const realFetch = (name: string, uri: string, allowLoopback: boolean) =>
  fetchClientJson(outboundHttp(), name, uri, allowLoopback);

const SECRET = 'a-test-secret-of-at-least-32-bytes-long';
const pairwise = (redirectUris: string[], extra: Record<string, unknown> = {}) => ({
  redirectUris,
  metadata: { subject_type: 'pairwise' as const, ...extra },
});

describe('pairwise subjects', () => {
  it('are stable for a sector and user, and differ per sector, per user and per secret', () => {
    const a = pairwiseSubject(SECRET, 'a.example', 'user-1');
    assert.equal(pairwiseSubject(SECRET, 'a.example', 'user-1'), a);
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(pairwiseSubject(SECRET, 'b.example', 'user-1'), a);
    assert.notEqual(pairwiseSubject(SECRET, 'a.example', 'user-2'), a);
    assert.notEqual(pairwiseSubject(`${SECRET}!`, 'a.example', 'user-1'), a);
    // The separator keeps (sector, user) pairs from colliding by concatenation.
    assert.notEqual(pairwiseSubject(SECRET, 'a.example', 'x'), pairwiseSubject(SECRET, 'a.exam', 'plex'));
    assert.notEqual(a, 'user-1');
  });

  it('the sector is the sector_identifier_uri host, else the one host of the redirect URIs', () => {
    assert.equal(sectorOf(pairwise(['https://A.example/cb', 'https://a.example/other'])), 'a.example');
    assert.equal(sectorOf(pairwise(['https://a.example/cb', 'https://b.example/cb'])), undefined);
    assert.equal(
      sectorOf(
        pairwise(['https://a.example/cb', 'https://b.example/cb'], {
          sector_identifier_uri: 'https://sector.example/s.json',
        }),
      ),
      'sector.example',
    );
    assert.equal(sectorOf(pairwise(['com.example.app:/cb'])), 'com.example.app');
    // Two clients of one sector see the same sub; a public client sees the local id.
    assert.equal(
      subjectFor(SECRET, pairwise(['https://a.example/1']), 'u'),
      subjectFor(SECRET, pairwise(['https://a.example/2']), 'u'),
    );
    assert.equal(subjectFor(SECRET, { redirectUris: ['https://a.example/1'], metadata: {} }, 'u'), 'u');
    assert.equal(subjectFor(SECRET, undefined, 'u'), 'u');
  });

  it('sectorFor: loopback and private-use redirect URIs make the client its own sector; a stored sector wins over the URIs', () => {
    const own = (uris: string[], extra: Record<string, unknown> = {}) =>
      sectorFor({ clientId: 'c1', ...pairwise(uris, extra) });
    assert.equal(own(['http://127.0.0.1/cb']), 'client:c1');
    assert.equal(own(['http://[::1]/cb']), 'client:c1');
    assert.equal(own(['http://localhost:8080/cb']), 'client:c1');
    assert.equal(own(['com.example.app:/cb']), 'client:c1');
    assert.equal(
      own(['https://a.example/cb', 'http://127.0.0.1/cb']),
      'client:c1',
      'one loopback URI is enough: the https host is not proven',
    );
    assert.equal(
      own(['http://127.0.0.1/cb'], { sector_identifier_uri: 'https://sector.example/s.json' }),
      'sector.example',
    );
    assert.equal(own(['https://A.example/cb', 'https://a.example/x']), 'a.example');
    assert.equal(own(['https://a.example/cb', 'https://b.example/cb']), undefined);
    // The old rule, for clients stored without a sector, is unchanged.
    assert.equal(sectorOf(pairwise(['http://127.0.0.1/cb'])), '127.0.0.1');
    const legacy = pairwise(['http://127.0.0.1/cb']);
    assert.equal(subjectFor(SECRET, legacy, 'u'), pairwiseSubject(SECRET, '127.0.0.1', 'u'));
    const stored = pairwise(['http://127.0.0.1/cb'], { sector: 'client:c1' });
    assert.equal(subjectFor(SECRET, stored, 'u'), pairwiseSubject(SECRET, 'client:c1', 'u'));
    assert.notEqual(
      subjectFor(SECRET, stored, 'u'),
      subjectFor(SECRET, pairwise(['http://127.0.0.1/cb'], { sector: 'client:c2' }), 'u'),
    );
    // A new loopback-and-https client needs no sector_identifier_uri (own sector); a legacy one still does.
    assert.deepEqual(
      subjectProblems({ clientId: 'c1', ...pairwise(['https://a.example/cb', 'http://127.0.0.1/cb']) }),
      [],
    );
    assert.equal(subjectProblems(pairwise(['https://a.example/cb', 'http://127.0.0.1/cb']), true).length, 1);
  });

  it('subjectProblems refuses unknown types, a sector without pairwise, and pairwise without a sector', () => {
    assert.deepEqual(subjectProblems(pairwise(['https://a.example/cb'])), []);
    assert.deepEqual(subjectProblems({ redirectUris: [], metadata: {} }), []);
    assert.equal(subjectProblems({ redirectUris: [], metadata: { subject_type: 'other' as never } }).length, 1);
    assert.equal(
      subjectProblems({ redirectUris: [], metadata: { sector_identifier_uri: 'https://s.example/' } }).length,
      1,
    );
    assert.equal(subjectProblems(pairwise(['https://a.example/cb', 'https://b.example/cb'])).length, 1);
    assert.equal(subjectProblems(pairwise([])).length, 1);
    assert.deepEqual(subjectProblems(pairwise([], { sector_identifier_uri: 'https://s.example/' })), []);
    assert.throws(() => subjectFor(SECRET, pairwise([]), 'u'));
  });

  it('sectorIdentifierProblem needs a JSON array listing every redirect URI, and reports fetch refusals', async () => {
    const serve = (doc: unknown) => async () => doc;
    const uris = ['https://a.example/cb', 'https://b.example/cb'];
    assert.equal(
      await sectorIdentifierProblem('https://s.example/', uris, false, serve([...uris, 'https://c.example/cb'])),
      undefined,
    );
    assert.match(
      (await sectorIdentifierProblem('https://s.example/', uris, false, serve([uris[0]])))!,
      /does not list https:\/\/b\.example\/cb/,
    );
    assert.match((await sectorIdentifierProblem('https://s.example/', uris, false, serve({ uris })))!, /JSON array/);
    assert.match((await sectorIdentifierProblem('https://s.example/', uris, false, serve([1, 2])))!, /JSON array/);
    // Refusals are reported without the fetcher's detail (resolved addresses are not for the registrant).
    const refuse = async () => {
      throw new ClientKeysError('jwks_uri_refused', 'internal.example resolves to a non-public address (10.0.0.7)');
    };
    const refused = (await sectorIdentifierProblem('https://internal.example/', uris, false, refuse))!;
    assert.match(refused, /public address/);
    assert.doesNotMatch(refused, /10\.0\.0\.7/);
    const failed = async () => {
      throw new ClientKeysError('jwks_fetch_failed', 'connect ECONNREFUSED 203.0.113.9:443');
    };
    assert.doesNotMatch((await sectorIdentifierProblem('https://s.example/', uris, false, failed))!, /203\.0\.113/);
    // The real fetcher applies the jwks_uri rules: no http, no private addresses.
    assert.match(
      (await sectorIdentifierProblem('http://s.example/', uris, false, realFetch))!,
      /https URL on a public address/,
    );
    assert.match(
      (await sectorIdentifierProblem('https://127.0.0.1/s', uris, false, realFetch))!,
      /https URL on a public address/,
    );
  });
});

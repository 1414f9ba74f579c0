import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../config/config.ts';
import type { ClientStore } from '../../ports/clients.ts';
import { OutboundError, type OutboundDocument, type OutboundHttp } from '../../ports/outbound.ts';
import type { RateLimitStore } from '../../ports/rate-limits.ts';
import { OAuthError } from '../errors.ts';
import { isSelfRegistered } from '../resources.ts';
import {
  cacheSeconds,
  CACHE_SECONDS,
  clientIdUrlProblem,
  documentClient,
  FAILURE_BUDGETS,
  FETCH_BUDGETS,
  hostMatches,
  LOCAL_COUNTERS,
  REFETCH_BUDGETS,
  STALE_SECONDS,
  hostTrusted,
  isMetadataDocumentClient,
  MetadataDocumentError,
  MetadataDocuments,
  metadataDocumentClients,
} from './metadata-document.ts';

const URL_ID = 'https://client.example.com/oauth/client.json';
const config = (env: Record<string, string> = {}) =>
  loadConfig({
    TESSERA_ENV: 'development',
    TESSERA_ISSUER: 'http://localhost:4999',
    DATABASE_URL: 'sqlite::memory:',
    TESSERA_CLIENT_ID_METADATA_DOCUMENTS: 'on',
    TESSERA_EXTRA_SCOPES: 'mcp:tools',
    TESSERA_REGISTRATION_SCOPES: 'openid profile offline_access mcp:tools',
    ...env,
  });
const doc = (extra: Record<string, unknown> = {}) => ({
  client_id: URL_ID,
  client_name: 'Example Agent',
  redirect_uris: ['https://client.example.com/callback'],
  ...extra,
});

describe('client identifier URLs (draft section 3)', () => {
  it('accepts https URLs with a path', () => {
    for (const ok of [
      URL_ID,
      'https://client.example.com/c',
      'https://client.example.com:8443/a/b%20c',
      'https://client.example.com/a%2Fb/caf%C3%A9',
    ])
      assert.equal(clientIdUrlProblem(ok, false), undefined, ok);
  });
  it('refuses other schemes, no path, fragments, queries, user info, dot segments and non-canonical forms', () => {
    const cases: [string, RegExp][] = [
      ['http://client.example.com/c', /https/],
      ['https://client.example.com', /path/],
      ['https://client.example.com/', /path/],
      ['https://client.example.com/c#x', /fragment/],
      ['https://client.example.com/c#', /fragment/],
      ['https://client.example.com/c?x=1', /query/],
      ['https://client.example.com/c?', /query/],
      ['https://user@client.example.com/c', /user info/],
      ['https://u:p@client.example.com/c', /user info/],
      ['https://client.example.com/a/../c', /segments/],
      ['https://client.example.com/a/./c', /segments/],
      ['https://client.example.com/a/%2e%2E/c', /segments/],
      ['https://client.example.com/a/%2e', /segments/],
      ['https://CLIENT.example.com/c', /canonical/],
      ['https://client.example.com:443/c', /canonical/],
      // Other spellings of one host or path: a block of one URL, or a deny-list entry, would miss them.
      ['https://client.example.com./c', /end with a dot/],
      ['https://client.example.com../c', /empty label/],
      ['https://client..example.com/c', /empty label/],
      ['https://client.example.com/%63', /canonical/],
      ['https://client.example.com/a%2Db', /canonical/],
      ['https://client.example.com/%7E', /canonical/],
      ['https://client.example.com/a%2fb', /canonical/],
      ['https://client.example.com/caf%c3%a9', /canonical/],
      ['not a url', /not a URL/],
      [`https://client.example.com/${'a'.repeat(240)}`, /longer/],
    ];
    for (const [id, why] of cases) assert.match(clientIdUrlProblem(id, false) ?? '', why, id);
  });
  it('refuses non-public address literals and special-use names; loopback only with the test allowance', () => {
    for (const id of [
      'https://10.0.0.1/c',
      'https://169.254.169.254/latest',
      'https://[::1]/c',
      'https://127.0.0.1/c',
      'https://[fd00::1]/c',
      'https://localhost/c',
      'https://printer.local/c',
      'https://intranet/c',
    ])
      assert.ok(clientIdUrlProblem(id, false), id);
    assert.equal(clientIdUrlProblem('https://127.0.0.1:8443/c', true), undefined);
    assert.equal(clientIdUrlProblem('https://localhost:8443/c', true), undefined);
    assert.ok(clientIdUrlProblem('https://10.0.0.1/c', true));
  });
});

describe('the trust policy', () => {
  it('matches exact hosts and *. wildcards (subdomains only)', () => {
    assert.ok(hostMatches('client.example.com', 'CLIENT.example.com'));
    assert.ok(hostMatches('*.example.com', 'a.b.example.com'));
    assert.ok(!hostMatches('*.example.com', 'example.com'));
    assert.ok(!hostMatches('*.example.com', 'evilexample.com'));
    assert.ok(!hostMatches('example.com', 'a.example.com'));
    // Compared in the URL parser's form: punycode, lower case, a trailing dot on either side ignored.
    assert.ok(hostMatches('bücher.de', new URL('https://bücher.de/c').hostname));
    assert.ok(hostMatches('xn--bcher-kva.de', new URL('https://BÜCHER.de./c').hostname));
    assert.ok(hostMatches('*.bücher.de', 'a.xn--bcher-kva.de'));
    assert.ok(hostMatches('Evil.COM.', 'evil.com'));
    assert.ok(!hostMatches('*.bücher.de', 'xn--bcher-kva.de'));
  });
  it('open, allow_list and deny_list', () => {
    const hosts = ['*.trusted.example', 'one.example'];
    assert.ok(hostTrusted({ cimdTrust: 'open', cimdHosts: [] }, 'any.example'));
    assert.ok(hostTrusted({ cimdTrust: 'allow_list', cimdHosts: hosts }, 'app.trusted.example'));
    assert.ok(hostTrusted({ cimdTrust: 'allow_list', cimdHosts: hosts }, 'one.example'));
    assert.ok(!hostTrusted({ cimdTrust: 'allow_list', cimdHosts: hosts }, 'two.example'));
    assert.ok(!hostTrusted({ cimdTrust: 'deny_list', cimdHosts: hosts }, 'app.trusted.example'));
    assert.ok(hostTrusted({ cimdTrust: 'deny_list', cimdHosts: hosts }, 'two.example'));
  });
});

describe('caching time from Cache-Control', () => {
  it('max-age within [min, max], the default without one, min for no-store', () => {
    assert.equal(cacheSeconds(undefined), CACHE_SECONDS.default);
    assert.equal(cacheSeconds('public, max-age=3600'), 3600);
    assert.equal(cacheSeconds('max-age=5'), CACHE_SECONDS.min);
    assert.equal(cacheSeconds('max-age=99999999'), CACHE_SECONDS.max);
    assert.equal(cacheSeconds('no-store'), CACHE_SECONDS.min);
    assert.equal(cacheSeconds('private, no-cache, max-age=3600'), CACHE_SECONDS.min);
    assert.equal(cacheSeconds('max-age=abc'), CACHE_SECONDS.default);
  });
});

describe('the client a document describes', () => {
  it('builds a public client marked as self-registered, ignoring unknown properties', () => {
    const c = documentClient(config(), URL_ID, doc({ logo_uri: 'https://x/y.png', future_thing: { a: 1 } }), 100);
    assert.equal(c.clientId, URL_ID);
    assert.equal(c.clientName, 'Example Agent');
    assert.equal(c.tokenEndpointAuthMethod, 'none');
    assert.equal(c.secretHash, null);
    assert.deepEqual(c.redirectUris, ['https://client.example.com/callback']);
    assert.deepEqual(c.grantTypes, ['authorization_code']);
    assert.equal(c.skipConsent, false);
    assert.ok(isSelfRegistered(c));
    assert.ok(isMetadataDocumentClient(c));
    assert.equal(c.metadata.future_thing, undefined);
    assert.equal(c.metadata.logo_uri, 'https://x/y.png');
  });
  it('scope hints: with TESSERA_REGISTRATION_RESOURCE_SCOPES a scope outside the ceiling is kept for the per-resource checks', () => {
    const asked = doc({ scope: 'openid mcp:tools files:read email' });
    // Off: what the server does not offer to self-registered clients is left out.
    assert.deepEqual(documentClient(config(), URL_ID, asked, 1).scopes, ['openid', 'mcp:tools']);
    // On: files:read may be a registry scope (the document may outlive a registry change in the cache):
    // each authorization and each token holds it to the resource that declares it (resources.ts).
    const on = config({ TESSERA_REGISTRATION_RESOURCE_SCOPES: 'true' });
    assert.deepEqual(documentClient(on, URL_ID, asked, 1).scopes, ['openid', 'mcp:tools', 'files:read', 'email']);
  });
  it('the document client_id must equal its URL exactly', () => {
    for (const id of [
      'https://client.example.com/oauth/client.json/',
      'https://other.example.com/oauth/client.json',
      undefined,
    ])
      assert.throws(() => documentClient(config(), URL_ID, doc({ client_id: id }), 1), /another client_id/);
  });
  it('refuses shared secrets; private_key_jwt needs keys', () => {
    for (const m of ['client_secret_basic', 'client_secret_post', 'client_secret_jwt'])
      assert.throws(() => documentClient(config(), URL_ID, doc({ token_endpoint_auth_method: m }), 1), /shared secret/);
    assert.throws(() => documentClient(config(), URL_ID, doc({ client_secret: 'x' }), 1), /client_secret/);
    assert.throws(() => documentClient(config(), URL_ID, doc({ token_endpoint_auth_method: 'tls_client_auth' }), 1));
    assert.throws(
      () => documentClient(config(), URL_ID, doc({ token_endpoint_auth_method: 'private_key_jwt' }), 1),
      /jwks/,
    );
    const c = documentClient(
      config(),
      URL_ID,
      doc({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://client.example.com/jwks' }),
      1,
    );
    assert.equal(c.tokenEndpointAuthMethod, 'private_key_jwt');
    assert.equal(c.metadata.jwks_uri, 'https://client.example.com/jwks');
  });
  it('grant types and scopes are hints held to the ceilings of self-registered clients', () => {
    const c = documentClient(
      config(),
      URL_ID,
      doc({
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
        scope: 'openid mcp:tools admin',
      }),
      1,
    );
    assert.deepEqual(c.grantTypes, ['authorization_code', 'refresh_token']);
    assert.deepEqual(c.scopes, ['openid', 'mcp:tools']);
  });
  it('loopback-only redirect URIs make a native client; bad URIs and names are refused', () => {
    const native = documentClient(config(), URL_ID, doc({ redirect_uris: ['http://127.0.0.1:3334/callback'] }), 1);
    assert.equal(native.applicationType, 'native');
    assert.throws(() => documentClient(config(), URL_ID, doc({ redirect_uris: ['http://evil.example/cb'] }), 1));
    assert.throws(() => documentClient(config(), URL_ID, doc({ redirect_uris: 'https://x/cb' }), 1), /array/);
    assert.throws(() => documentClient(config(), URL_ID, doc({ client_name: 'a\u202Eb' }), 1), /client_name/);
    assert.throws(() => documentClient(config(), URL_ID, [], 1), MetadataDocumentError);
  });
});

/** An outbound port that answers from a table, counting fetches (the real one is tested in test/integration). */
const is429 = (e: unknown, budget: string) =>
  e instanceof OAuthError && e.status === 429 && e.detail === `metadata document fetch budget ${budget} spent`;

function fakeOutbound(answer: (uri: string) => Promise<OutboundDocument>): OutboundHttp & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    getJson: () => Promise.reject(new Error('not used')),
    postForm: () => Promise.reject(new Error('not used')),
    post: () => Promise.reject(new Error('not used')),
    fetch: () => Promise.reject(new Error('not used')),
    getJsonDocument: (uri) => {
      calls.push(uri);
      return answer(uri);
    },
  };
}

describe('the metadata document service', () => {
  const clock = { t: 1000 };
  const service = (outbound: OutboundHttp, env: Record<string, string> = {}, source?: () => string, max = 1000) =>
    new MetadataDocuments({ config: config(env), outbound, now: () => clock.t, source, maxEntries: max });

  it('caches for the Cache-Control time, never errors, and coalesces concurrent fetches', async () => {
    let fail = true;
    const out = fakeOutbound(async (uri) => {
      await new Promise((r) => setTimeout(r, 10));
      if (fail) throw new OutboundError('failed', 'answered 500');
      return { body: doc({ client_id: uri }), cacheControl: 'max-age=120' };
    });
    const s = service(out);
    await assert.rejects(s.resolve(URL_ID), (e) => e instanceof OAuthError && e.code === 'invalid_client');
    fail = false;
    const [a, b, c] = await Promise.all([s.resolve(URL_ID), s.resolve(URL_ID), s.resolve(URL_ID)]);
    assert.equal(out.calls.length, 2, 'the error was not cached; three concurrent reads made one fetch');
    assert.equal(a, b);
    assert.equal(b, c);
    clock.t += 119;
    await s.resolve(URL_ID);
    assert.equal(out.calls.length, 2);
    clock.t += 2;
    await s.resolve(URL_ID);
    assert.equal(out.calls.length, 3, 'refetched after max-age');
  });
  it('keeps at most maxEntries documents, dropping the least recently used', async () => {
    const out = fakeOutbound(async (uri) => ({ body: doc({ client_id: uri }) }));
    const s = service(out, {}, undefined, 2);
    const id = (n: number) => `https://client.example.com/c${n}`;
    await s.resolve(id(1));
    await s.resolve(id(2));
    await s.resolve(id(1)); // 1 is now the most recent
    await s.resolve(id(3)); // drops 2
    assert.equal(s.size, 2);
    const before = out.calls.length;
    await s.resolve(id(1));
    assert.equal(out.calls.length, before);
    await s.resolve(id(2));
    assert.equal(out.calls.length, before + 1);
  });
  it('refuses bad URLs and untrusted hosts without fetching', async () => {
    const out = fakeOutbound(async (uri) => ({ body: doc({ client_id: uri }) }));
    const s = service(out, { TESSERA_CIMD_TRUST: 'allow_list', TESSERA_CIMD_HOSTS: '*.trusted.example.net' });
    await assert.rejects(s.resolve(URL_ID), /not accepted/);
    await assert.rejects(s.resolve('https://10.0.0.1/c'), /not a public address/);
    await assert.rejects(s.resolve('https://a.trusted.example.net/c?x'), /query/);
    assert.equal(out.calls.length, 0);
    await s.resolve('https://a.trusted.example.net/c');
    assert.equal(out.calls.length, 1);
  });
  it('holds fetches to the per-client-id and per-source budgets (429, nothing fetched beyond)', async () => {
    const out = fakeOutbound(async () => {
      throw new OutboundError('failed', 'answered 404');
    });
    let ip = '192.0.2.1';
    const s = service(out, {}, () => ip);
    // One client id, from many requesters: its own budget stops it.
    for (let i = 0; i < FETCH_BUDGETS.clientId; i++) {
      ip = `192.0.2.${i + 10}`;
      await assert.rejects(s.resolve(URL_ID), /could not be fetched/);
    }
    await assert.rejects(s.resolve(URL_ID), (e) => is429(e, 'client'));
    assert.equal(out.calls.length, FETCH_BUDGETS.clientId);
    // One requester, many client ids on many hosts: its failure budget, then its fetch budget.
    ip = '198.51.100.1';
    const other = (n: number) => `https://h${n}.example.net/c${n}`;
    let n = 0;
    for (let i = 0; i < FAILURE_BUDGETS.source; i++)
      await assert.rejects(s.resolve(other(n++)), /could not be fetched/);
    await assert.rejects(s.resolve(other(n++)), (e) => is429(e, 'failed:source'));
    assert.equal(out.calls.length, FETCH_BUDGETS.clientId + FAILURE_BUDGETS.source);
    const calls = out.calls.length;
    ip = '198.51.100.2';
    await assert.rejects(s.resolve(other(n++)), /could not be fetched/);
    assert.equal(out.calls.length, calls + 1, 'another source still has its budget');
  });
  it('counts a requester by its IPv6 prefix, as every per-address limit (one /64 is one requester)', async () => {
    const out = fakeOutbound(async (uri) => ({ body: doc({ client_id: uri }) }));
    let ip = '';
    const s = service(out, {}, () => ip);
    // An attacker takes a fresh address of its /64 and a fresh path on hosts it owns for each request.
    let ok = 0;
    for (let i = 0; i < 200; i++) {
      ip = `2001:db8:1:2::${(i + 1).toString(16)}`;
      try {
        await s.resolve(`https://h${i % 10}.attacker.example.net/c${i}`);
        ok++;
      } catch (e) {
        assert.ok(is429(e, 'source'));
      }
    }
    assert.equal(ok, FETCH_BUDGETS.source, 'one /64 is one requester');
    assert.equal(out.calls.length, FETCH_BUDGETS.source);
    // The global budget is intact: a client from another network is fetched.
    ip = '198.51.100.7';
    assert.equal((await s.resolve(URL_ID)).clientId, URL_ID);
    // Another /64 is another requester; a shorter TESSERA_RATE_LIMIT_IPV6_PREFIX groups more.
    ip = '2001:db8:1:3::1';
    await s.resolve('https://h0.attacker.example.net/fresh');
    const wide = service(out, { TESSERA_RATE_LIMIT_IPV6_PREFIX: '48' }, () => ip);
    for (let i = 0; i < FETCH_BUDGETS.source; i++) {
      ip = `2001:db8:1:${i.toString(16)}::1`;
      await wide.resolve(`https://wide.example.org/c${i}`);
    }
    ip = '2001:db8:1:ff::1';
    await assert.rejects(wide.resolve('https://wide.example.org/last'), (e) => is429(e, 'source'));
  });
  it('junk URLs spend the failure budget of their host, never the refetch of a known-good document', async () => {
    const good = 'https://agent.example.com/client.json';
    let down = false;
    const out = fakeOutbound(async (uri) => {
      if (uri !== good) throw new OutboundError('failed', 'answered 404', 404);
      if (down) throw new OutboundError('failed', 'did not answer within 5000 ms');
      return { body: doc({ client_id: uri }), cacheControl: 'max-age=60' };
    });
    let ip = '198.51.100.7';
    const s = service(out, {}, () => ip);
    const first = await s.resolve(good);
    clock.t += 61; // expired: the next use refetches it
    // Junk paths on the victim's host, from many addresses (each its own requester).
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      ip = `203.0.113.${i + 1}`;
      await assert.rejects(s.resolve(`https://agent.example.com/junk${i}`), (e) => {
        if (is429(e, 'failed:host')) refused++;
        return e instanceof OAuthError;
      });
    }
    assert.equal(refused, 40 - FAILURE_BUDGETS.host, 'junk stops at the failure budget of the host');
    await assert.rejects(s.resolve('https://agent.example.com./junk'), /end with a dot/, 'one spelling per host');
    assert.equal(out.calls.length, 1 + FAILURE_BUDGETS.host);
    // The known-good document is refetched (not served stale: a fetch happened) despite the spent failure budget.
    ip = '198.51.100.8';
    const again = await s.resolve(good);
    assert.equal(out.calls.length, 2 + FAILURE_BUDGETS.host);
    assert.notEqual(again, first, 'a fresh record from the refetch');
    // A client id never seen from that host waits for the failure budget's window to end (documented).
    await assert.rejects(s.resolve('https://agent.example.com/new.json'), (e) => is429(e, 'failed:host'));
    // Junk on attacker hosts, from many requesters, spends first-fetch budgets only.
    for (let i = 0; i < 200; i++) {
      ip = `192.0.2.${i % 250}`;
      await s.resolve(`https://h${i}.attacker.example.net/c`).catch(() => {});
    }
    down = true;
    clock.t += 61;
    assert.equal(await s.resolve(good), again, 'host down: served stale');
    down = false;
    clock.t += 61;
    const third = await s.resolve(good);
    assert.notEqual(third, again, 'refetched once the host answers again');
  });
  it("a requester that spent its own budgets cannot stop the refetch of someone else's document (review F1)", async () => {
    let redirects = ['https://client.example.com/cb', 'https://old-callback.example.net/cb'];
    const out = fakeOutbound(async (uri) => {
      if (uri !== URL_ID) throw new OutboundError('failed', 'answered 404', 404);
      return { body: doc({ client_id: uri, redirect_uris: redirects }), cacheControl: 'max-age=60' };
    });
    let ip = '198.51.100.1';
    const s = service(out, {}, () => ip);
    assert.equal((await s.resolve(URL_ID)).redirectUris.length, 2);
    redirects = ['https://client.example.com/cb']; // the owner takes a callback back
    clock.t += 61;
    // The attacker spends its own requester budget, then asks first for the expired document.
    ip = '203.0.113.66';
    for (let i = 0; i <= FETCH_BUDGETS.source; i++) await s.resolve(`https://junk.example.org/j${i}`).catch(() => {});
    await assert.rejects(s.resolve('https://junk.example.org/more'), (e) => is429(e, 'source'));
    const calls = out.calls.length;
    assert.deepEqual((await s.resolve(URL_ID)).redirectUris, redirects, 'refetched, not served stale');
    assert.equal(out.calls.length, calls + 1);
    // Nor does a spent client_id budget: the refetch is charged to the host and in all only.
    clock.t += 61;
    for (let i = 0; i < FETCH_BUDGETS.clientId + 2; i++) {
      clock.t += 61;
      await s.resolve(URL_ID);
    }
    assert.equal(out.calls.length, calls + 2 + FETCH_BUDGETS.clientId + 1, 'every expiry refetched');
  });
  it('serves a cached document stale only while its host does not answer, up to STALE_SECONDS past freshness', async () => {
    let answer: 'ok' | 'timeout' | '503' = 'ok';
    const out = fakeOutbound(async (uri) => {
      if (answer === 'timeout') throw new OutboundError('failed', 'did not answer within 5000 ms');
      if (answer === '503') throw new OutboundError('failed', 'answered 503', 503);
      return { body: doc({ client_id: uri }), cacheControl: 'max-age=60' };
    });
    const s = service(out, {}, () => '198.51.100.9');
    const fetchedAt = clock.t;
    const client = await s.resolve(URL_ID);
    clock.t += 61;
    answer = 'timeout';
    const calls = out.calls.length;
    assert.equal(await s.resolve(URL_ID), client);
    assert.equal(out.calls.length, calls + 1);
    assert.equal(await s.resolve(URL_ID), client);
    assert.equal(out.calls.length, calls + 1, 'not retried for CACHE_SECONDS.min');
    clock.t += CACHE_SECONDS.min;
    answer = '503';
    assert.equal(await s.resolve(URL_ID), client, 'a 5xx serves it stale too');
    assert.equal(out.calls.length, calls + 2);
    clock.t = fetchedAt + 60 + STALE_SECONDS - 1;
    assert.equal(await s.resolve(URL_ID), client);
    clock.t = fetchedAt + 60 + STALE_SECONDS;
    await assert.rejects(s.resolve(URL_ID), /could not be fetched/, 'the ceiling: one hour, not 24');
    assert.ok(STALE_SECONDS <= 3600);
  });
  it('a 404, a 410, another 4xx, a redirect or an invalid document drops the cached copy (review F1)', async () => {
    for (const [status, body] of [
      [404, undefined],
      [410, undefined],
      [403, undefined],
      [302, undefined],
      [200, 'invalid'],
      [200, 'not json'],
    ] as const) {
      let gone = false;
      const out = fakeOutbound(async (uri) => {
        if (gone && body === 'not json') throw new OutboundError('invalid', 'answered text/html');
        if (gone && status !== 200) throw new OutboundError('failed', `answered ${status}`, status);
        const id = gone && body === 'invalid' ? 'https://other.example/c' : uri;
        return { body: doc({ client_id: id }), cacheControl: 'max-age=60' };
      });
      const s = service(out, {}, () => '192.0.2.1');
      await s.resolve(URL_ID);
      gone = true;
      clock.t += 61;
      await assert.rejects(s.resolve(URL_ID), (e) => e instanceof OAuthError && e.code === 'invalid_client');
      assert.equal(s.size, 0, `${status} ${body ?? ''}: dropped`);
      gone = false;
      await s.resolve(URL_ID); // a first fetch again
      assert.equal(out.calls.length, 3);
    }
  });
  it('refetches have a budget per host, and one host borrows at most a share of the pool of all hosts', async () => {
    // Documents with no-store on an attacker's hosts, asked for first after every expiry.
    const out = fakeOutbound(async (uri) => ({ body: doc({ client_id: uri }), cacheControl: 'no-store' }));
    let ip = '';
    const s = service(out, {}, () => ip, 2000);
    const hosts = Math.ceil(REFETCH_BUDGETS.total / (REFETCH_BUDGETS.hostMax - REFETCH_BUDGETS.host)) + 2;
    const victims = ['https://agent.example.com/a', 'https://agent.example.com/b'];
    const bigHost = Array.from({ length: REFETCH_BUDGETS.hostMax }, (_, i) => `https://platform.example.com/t${i}`);
    const attacker: string[] = [];
    for (let h = 0; h < hosts; h++)
      for (let i = 0; i < REFETCH_BUDGETS.hostMax + 5; i++) attacker.push(`https://h${h}.attacker.example.net/c${i}`);
    const records = new Map<string, unknown>();
    let n = 0;
    for (const id of [...victims, ...bigHost, ...attacker]) {
      ip = `2001:db8:${(n++).toString(16)}::1`;
      if (n % 25 === 0) clock.t += 61; // first fetches within their own budgets
      records.set(id, await s.resolve(id));
    }
    clock.t += 61; // every document expired
    out.calls.length = 0;
    for (const id of attacker) await s.resolve(id);
    const attackerHosts = new Map<string, number>();
    for (const c of out.calls) attackerHosts.set(new URL(c).host, (attackerHosts.get(new URL(c).host) ?? 0) + 1);
    for (const count of attackerHosts.values()) assert.ok(count <= REFETCH_BUDGETS.hostMax);
    assert.equal(
      out.calls.length,
      hosts * REFETCH_BUDGETS.host + REFETCH_BUDGETS.total,
      'each host its own share, and the pool, each host taking at most hostMax - host of it',
    );
    // Hosts with few documents are refetched with the pool spent: they have a share of their own.
    out.calls.length = 0;
    for (const id of victims) assert.notEqual(await s.resolve(id), records.get(id));
    assert.equal(out.calls.length, victims.length, 'the victims were refetched, not served stale');
    // A host past its own share, with the pool spent, is served stale (not dropped).
    out.calls.length = 0;
    for (const id of bigHost) await s.resolve(id);
    assert.equal(out.calls.length, REFETCH_BUDGETS.host);
    assert.equal(await s.resolve(bigHost.at(-1)!), records.get(bigHost.at(-1)!));
    assert.equal(s.size, records.size, 'nothing dropped');
    // A minute later the budgets are back: the refetch happens.
    clock.t += 61;
    assert.notEqual(await s.resolve(bigHost.at(-1)!), records.get(bigHost.at(-1)!));
  });
  it('without Redis, many /64 requesters cannot get past the budget of all first fetches (review F2)', async () => {
    const out = fakeOutbound(async (uri) => ({ body: doc({ client_id: uri }) }));
    let ip = '';
    const s = service(out, {}, () => ip);
    let n = 0;
    const sources = Math.ceil((LOCAL_COUNTERS * 1.5) / (FETCH_BUDGETS.source + 1));
    for (let src = 0; src < sources; src++) {
      ip = `2001:db8:${(src >> 8).toString(16)}:${(src & 255).toString(16)}::1`; // one /64 each
      for (let i = 0; i <= FETCH_BUDGETS.source; i++)
        await s.resolve(`https://h${n % 400}.attacker.example.net/c${n++}`).catch(() => {});
    }
    assert.ok(n > LOCAL_COUNTERS, 'more counter keys than the in-process maps hold');
    assert.equal(out.calls.length, FETCH_BUDGETS.total, 'never more than the budget of all first fetches');
    // The counters of requesters were evicted oldest first, never all at once: the last is still counted.
    await assert.rejects(s.resolve('https://h1.attacker.example.net/last'), (e) => is429(e, 'source'));
  });
  it('serves a cached document stale when the budget counters are unreachable', async () => {
    const out = fakeOutbound(async (uri) => ({ body: doc({ client_id: uri }), cacheControl: 'max-age=60' }));
    let reachable = true;
    const counts = new Map<string, number>();
    const budgets: RateLimitStore = {
      hit: async (key) => {
        if (!reachable) throw new Error('connection refused');
        counts.set(key, (counts.get(key) ?? 0) + 1);
        return { count: counts.get(key)!, resetMs: 60_000 };
      },
    };
    const s = new MetadataDocuments({ config: config(), outbound: out, now: () => clock.t, budgets: () => budgets });
    const client = await s.resolve(URL_ID);
    clock.t += 61;
    reachable = false;
    assert.equal(await s.resolve(URL_ID), client);
    await assert.rejects(s.resolve('https://client.example.com/unknown.json'), /connection refused/);
    assert.equal(out.calls.length, 1, 'nothing fetched without the counters');
  });
  it('keeps expired documents for the ceiling but drops those past it first when full', async () => {
    const out = fakeOutbound(async (uri) => ({ body: doc({ client_id: uri }), cacheControl: 'max-age=60' }));
    const s = service(out, {}, undefined, 3);
    const id = (n: number) => `https://client.example.com/c${n}`;
    await s.resolve(id(1));
    clock.t += 60 + STALE_SECONDS; // 1 is past the ceiling
    await s.resolve(id(2));
    await s.resolve(id(3));
    clock.t += 61; // 2 and 3 are expired, within the ceiling
    await s.resolve(id(2)); // refetched, now the most recent
    await s.resolve(id(4)); // full: drops 1 (past the ceiling), not 3
    assert.equal(s.size, 3);
    out.calls.length = 0;
    await s.resolve(id(3)); // expired: refetched, but was still known (a refetch, not a first fetch)
    await s.resolve(id(5)); // full, nothing past the ceiling: drops the least recently used, 2
    await s.resolve(id(4));
    await s.resolve(id(2));
    assert.deepEqual(out.calls, [id(3), id(5), id(2)]);
  });
  it("a spent budget leaves cached clients known through the client store (the review's reproduction)", async () => {
    const out = fakeOutbound(async (uri) => ({ body: doc({ client_id: uri }), cacheControl: 'max-age=60' }));
    let ip = '198.51.100.7';
    const s = service(out, {}, () => ip);
    const known = 'https://legit-agent.example.com/client.json';
    await s.resolve(known);
    clock.t += 61;
    // Attackers on many networks spend the first-fetch budgets in all.
    for (let i = 0; i < 200; i++) {
      ip = `2001:db8:${i.toString(16)}::1`;
      await s.resolve(`https://h${i % 10}.attacker.example.net/c${i}`).catch(() => {});
    }
    ip = '198.51.100.7';
    await assert.rejects(s.resolve('https://legit-agent.example.com/other.json'), (e) => is429(e, 'first:all'));
    const refusedIds: string[] = [];
    const store = metadataDocumentClients({} as ClientStore, s, { find: async () => undefined }, (id) =>
      refusedIds.push(id),
    );
    const calls = out.calls.length;
    assert.equal((await store.get(known))?.clientId, known);
    assert.equal(out.calls.length, calls + 1, 'refetched: refetches have budgets of their own');
    // Documents really served on the same host (a shared platform), from two addresses, spend its
    // first-fetch budget: new clients there wait, the known one is still refetched.
    clock.t += 61;
    for (let i = 0; i < FETCH_BUDGETS.host; i++) {
      ip = i < 15 ? '203.0.113.1' : '203.0.113.2';
      await s.resolve(`https://legit-agent.example.com/tenant${i}`);
    }
    await assert.rejects(s.resolve('https://legit-agent.example.com/new.json'), (e) => is429(e, 'first:host'));
    ip = '198.51.100.7';
    assert.equal((await store.get(known))?.clientId, known);
    assert.equal(out.calls.length, calls + 2 + FETCH_BUDGETS.host);
    assert.deepEqual(refusedIds, []);
  });
  it('a blocked URL has no other spelling that resolves to an enabled client (review F3/F4)', async () => {
    const blocked = 'https://agent.example.com/c';
    const out = fakeOutbound(async (uri) => ({ body: doc({ client_id: uri }) }));
    const s = service(out, {}, () => '192.0.2.1');
    const refusedIds: string[] = [];
    const find = async (id: string) => (id === blocked ? { clientId: id, blockedAt: 1 } : undefined);
    const store = metadataDocumentClients({} as ClientStore, s, { find }, (id) => refusedIds.push(id));
    assert.equal((await store.get(blocked))?.disabled, true);
    const spellings = [
      'https://agent.example.com./c',
      'https://agent.example.com../c',
      'https://agent.example.com/%63',
    ];
    for (const id of spellings) assert.equal(await store.get(id), undefined, id);
    assert.deepEqual(refusedIds, spellings);
    assert.equal(out.calls.length, 0, 'nothing fetched');
    // Another path is another client (documented: against a hostile owner, deny its host).
    assert.equal((await store.get('https://agent.example.com/c/'))?.disabled, false);
  });
  it('the wrapped client store resolves https client ids when on, and only then', async () => {
    const out = fakeOutbound(async (uri) => ({ body: doc({ client_id: uri }) }));
    const stored: string[] = [];
    const store: ClientStore = {
      get: async (id) => {
        stored.push(id);
        return undefined;
      },
      list: async () => [],
      page: async () => ({ items: [] }),
      put: async () => {},
      delete: async () => false,
      markUsed: async () => false,
      deleteUnusedRegistrations: async () => [],
      replaceSecretHash: async () => false,
    };
    const refusedIds: string[] = [];
    const on = metadataDocumentClients(store, service(out), { find: async () => undefined }, (id, err) => {
      assert.ok(err instanceof OAuthError);
      refusedIds.push(id);
    });
    assert.equal((await on.get(URL_ID))?.clientId, URL_ID);
    // A refused document is an unknown client (never an error from the store), and the reason is told.
    assert.equal(await on.get('https://client.example.com/?q'), undefined);
    assert.deepEqual(refusedIds, ['https://client.example.com/?q']);
    const resolved = (await on.get(URL_ID))!;
    await assert.rejects(on.put(resolved), /never stored/);
    assert.equal(await on.delete(URL_ID), false);
    assert.equal(await on.replaceSecretHash(URL_ID, 'a', 'b'), false);
    assert.equal(await on.get('web'), undefined);
    assert.deepEqual(stored, ['web']);
    const off = metadataDocumentClients(store, service(out, { TESSERA_CLIENT_ID_METADATA_DOCUMENTS: 'off' }), {
      find: async () => undefined,
    });
    assert.equal(off, store);
    assert.equal(await off.get(URL_ID), undefined);
    assert.equal(out.calls.length, 1);
  });
});

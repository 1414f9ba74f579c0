// An upstream's back-channel logout over real SQLite stores (test/fixtures/protocol.ts). What a logout
// token verifies to is the upstream client's answer (chosen here; the real client verifies real
// tokens in its own tests and in test/integration/upstream-account.test.ts): this file checks what
// Tessera does with it. Attacks: a forged token, one naming another provider's issuer, a replay, a
// provider that does not exist, keys that cannot be fetched.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UpstreamError, type UpstreamLogout } from '../../ports/upstream-client.ts';
import type { SessionUpstream } from '../../ports/sessions.ts';
import { testProvider, type TestProvider } from '../../../test/fixtures/protocol.ts';
import { chosenUpstream, upstreamRecord } from '../../../test/fixtures/upstream-account.ts';
import { startSession } from '../interaction/session.ts';
import type { OAuthResponse, Provider } from '../provider.ts';
import { issuerOfProvider, upstreamBackchannelLogout } from './backchannel.ts';

const ACME = 'https://acme.upstream.example';
const GLOBEX = 'https://globex.upstream.example';

describe('back-channel logout from an upstream', () => {
  let t: TestProvider;
  let p: Provider;
  const answers = new Map<string, UpstreamLogout | UpstreamError | Error>();
  before(async () => {
    t = await testProvider();
    p = { ...t.p, upstream: chosenUpstream({ logout: answers, down: new Set(['downco']) }) };
    await p.stores.upstreams.put(upstreamRecord('acme'));
    await p.stores.upstreams.put(upstreamRecord('globex'));
    await p.stores.upstreams.put(upstreamRecord('downco'));
    await p.stores.upstreams.put(upstreamRecord('off', { enabled: false }));
    await p.stores.upstreams.put(
      upstreamRecord('entra', { preset: 'microsoft', issuer: 'https://login.example/{tenantid}/v2.0' }),
    );
  });
  after(() => t.close());

  let n = 0;
  /** A token string the chosen client verifies to this logout (a fresh jti unless given). */
  function token(logout: Partial<UpstreamLogout> & { issuer: string }): string {
    const value = `token-${++n}`;
    answers.set(value, { jti: `jti-${n}`, expiresAt: t.clock.now() + 120, ...logout });
    return value;
  }
  const post = (provider: string, params: Record<string, string | string[]>) =>
    upstreamBackchannelLogout(p, t.request(params), '', provider);
  const statusOf = (r: OAuthResponse) => (r as { status: number }).status;
  const bodyOf = (r: OAuthResponse) => (r as { body: unknown }).body;

  /** A user signed in through an upstream identity (and the upstream's session id) in a new browser. */
  async function session(userId: string, upstream: SessionUpstream) {
    return (await startSession(p, t.request({}), userId, ['fed'], upstream)).session;
  }
  const live = async (userId: string) => (await p.stores.sessions.listByUser(userId)).map((s) => s.sid).sort();

  it('ends every session of the identity named by sub, and tells their clients; 200 no-store', async () => {
    const u = await t.addUser();
    const a = await session(u.id, { providerId: 'acme', issuer: ACME, subject: 'ann', sid: 'up-1' });
    const b = await session(u.id, { providerId: 'acme', issuer: ACME, subject: 'ann', sid: 'up-2' });
    // Not this identity: a password session, the same subject at another provider, another subject.
    const pwd = (await startSession(p, t.request({}), u.id, ['pwd'])).session;
    const globex = await session(u.id, { providerId: 'globex', issuer: GLOBEX, subject: 'ann' });
    const bob = await session(u.id, { providerId: 'acme', issuer: ACME, subject: 'bob' });
    const c = await t.addClient({ client_id: 'rp-bcl' });
    await p.stores.sessions.addClient({
      sid: a.sid,
      clientId: c.clientId,
      userId: u.id,
      createdAt: t.clock.now(),
      expiresAt: t.clock.now() + 3600,
    });
    const before = t.events.length;
    const r = await post('acme', { logout_token: token({ issuer: ACME, subject: 'ann' }) });
    assert.equal(statusOf(r), 200);
    assert.deepEqual((r as { headers?: Record<string, string> }).headers, { 'cache-control': 'no-store' });
    assert.deepEqual(await live(u.id), [pwd.sid, globex.sid, bob.sid].sort());
    assert.deepEqual(await p.stores.sessions.takeClients(a.sid), [], 'the clients were taken (told)');
    assert.ok(!(await live(u.id)).includes(b.sid));
    const events = t.events.slice(before);
    assert.deepEqual(
      events.filter((e) => e.type === 'upstream_logout'),
      [{ type: 'upstream_logout', provider: 'acme', sessions: 2 }],
    );
    assert.equal(events.filter((e) => e.type === 'logout').length, 2);
  });

  it('by sid alone ends only that upstream session; with both, both must match', async () => {
    const u = await t.addUser();
    const one = await session(u.id, { providerId: 'acme', issuer: ACME, subject: 'cy', sid: 'cy-1' });
    const two = await session(u.id, { providerId: 'acme', issuer: ACME, subject: 'cy', sid: 'cy-2' });
    const other = await session(u.id, { providerId: 'acme', issuer: ACME, subject: 'dee', sid: 'dee-1' });
    assert.equal(statusOf(await post('acme', { logout_token: token({ issuer: ACME, sid: 'cy-1' }) })), 200);
    assert.deepEqual(await live(u.id), [two.sid, other.sid].sort());
    assert.ok(!(await live(u.id)).includes(one.sid));
    // sub cy with dee's sid: no session has both.
    assert.equal(
      statusOf(await post('acme', { logout_token: token({ issuer: ACME, subject: 'cy', sid: 'dee-1' }) })),
      200,
    );
    assert.deepEqual(await live(u.id), [two.sid, other.sid].sort());
    assert.equal(
      statusOf(await post('acme', { logout_token: token({ issuer: ACME, subject: 'cy', sid: 'cy-2' }) })),
      200,
    );
    assert.deepEqual(await live(u.id), [other.sid]);
  });

  it('refuses a forged token, and one the client did not expect to fail so, with 400 invalid_request; nothing ends', async () => {
    const u = await t.addUser();
    const s = await session(u.id, { providerId: 'acme', issuer: ACME, subject: 'eve-target' });
    for (const logout_token of ['forged.jwt.value', 'eyJhbGciOiJub25lIn0.e30.']) {
      const r = await post('acme', { logout_token });
      assert.equal(statusOf(r), 400);
      assert.deepEqual(bodyOf(r), { error: 'invalid_request' });
    }
    answers.set('throws-oddly', new TypeError('Cannot read properties of undefined'));
    assert.equal(statusOf(await post('acme', { logout_token: 'throws-oddly' })), 400);
    answers.set('denied', new UpstreamError('denied', 'x'));
    assert.equal(statusOf(await post('acme', { logout_token: 'denied' })), 400);
    assert.deepEqual(await live(u.id), [s.sid]);
    assert.ok(!JSON.stringify(t.logs).includes('forged.jwt.value'), 'the token is never logged');
  });

  it("refuses a token naming another provider's issuer, even one the client let through", async () => {
    const u = await t.addUser();
    const s = await session(u.id, { providerId: 'globex', issuer: GLOBEX, subject: 'fay' });
    const t1 = token({ issuer: GLOBEX, subject: 'fay' });
    const r = await post('acme', { logout_token: t1 });
    assert.equal(statusOf(r), 400);
    assert.deepEqual(await live(u.id), [s.sid]);
    // And a real token of globex sent to acme's URL ends nothing of globex's through acme.
    const s2 = await session(u.id, { providerId: 'acme', issuer: GLOBEX, subject: 'fay' });
    assert.equal(statusOf(await post('acme', { logout_token: token({ issuer: GLOBEX, subject: 'fay' }) })), 400);
    assert.deepEqual(await live(u.id), [s.sid, s2.sid].sort());
  });

  it('accepts a jti once: the replay is refused and sessions started since survive it', async () => {
    const u = await t.addUser();
    await session(u.id, { providerId: 'acme', issuer: ACME, subject: 'gil' });
    const once = token({ issuer: ACME, subject: 'gil', jti: 'gil-jti' });
    assert.equal(statusOf(await post('acme', { logout_token: once })), 200);
    assert.deepEqual(await live(u.id), []);
    const again = await session(u.id, { providerId: 'acme', issuer: ACME, subject: 'gil' });
    const r = await post('acme', { logout_token: once });
    assert.equal(statusOf(r), 400);
    assert.deepEqual(await live(u.id), [again.sid]);
    // Another token with the same jti (the upstream's retry of one delivery, or a copy): refused as well.
    const sameJti = token({ issuer: ACME, subject: 'gil', jti: 'gil-jti' });
    assert.equal(statusOf(await post('acme', { logout_token: sameJti })), 400);
    // The same jti at another provider is another token.
    const g = await session(u.id, { providerId: 'globex', issuer: GLOBEX, subject: 'gil' });
    assert.equal(
      statusOf(await post('globex', { logout_token: token({ issuer: GLOBEX, subject: 'gil', jti: 'gil-jti' }) })),
      200,
    );
    assert.ok(!(await live(u.id)).includes(g.sid));
    // A very long jti is still claimed once (by its hash).
    const long = 'j'.repeat(2000);
    assert.equal(statusOf(await post('acme', { logout_token: token({ issuer: ACME, subject: 'x', jti: long }) })), 200);
    assert.equal(statusOf(await post('acme', { logout_token: token({ issuer: ACME, subject: 'x', jti: long }) })), 400);
  });

  it('a token that names neither sub nor sid, or lacks its jti, is refused', async () => {
    assert.equal(statusOf(await post('acme', { logout_token: token({ issuer: ACME }) })), 400);
    assert.equal(statusOf(await post('acme', { logout_token: token({ issuer: ACME, subject: '', sid: '' }) })), 400);
    assert.equal(statusOf(await post('acme', { logout_token: token({ issuer: ACME, subject: 'h', jti: '' }) })), 400);
  });

  it('404 for an unknown or malformed provider, 400 for a missing or repeated token, 503 when the keys cannot be fetched', async () => {
    for (const provider of ['nope', '../acme', 'ACME', '']) {
      const r = await post(provider, { logout_token: token({ issuer: ACME, subject: 'i' }) });
      assert.equal(statusOf(r), 404, provider);
      assert.equal((r as { kind: string }).kind, 'json');
    }
    assert.equal(statusOf(await post('acme', {})), 400);
    assert.equal(statusOf(await post('acme', { logout_token: '' })), 400);
    const x = token({ issuer: ACME, subject: 'i' });
    assert.equal(statusOf(await post('acme', { logout_token: [x, x] })), 400);
    assert.equal(statusOf(await post('acme', { logout_token: 'x'.repeat(20_000) })), 400);
    const down = await post('downco', {
      logout_token: token({ issuer: 'https://downco.upstream.example', subject: 'i' }),
    });
    assert.equal(statusOf(down), 503);
    assert.equal((down as { headers: Record<string, string> }).headers['retry-after'], '30');
  });

  it('a turned-off provider still ends the sessions it started', async () => {
    const u = await t.addUser();
    await session(u.id, { providerId: 'off', issuer: 'https://off.upstream.example', subject: 'j' });
    const r = await post('off', { logout_token: token({ issuer: 'https://off.upstream.example', subject: 'j' }) });
    assert.equal(statusOf(r), 200);
    assert.deepEqual(await live(u.id), []);
  });

  it('a multi-tenant template matches its tenants only', async () => {
    const u = await t.addUser();
    const tenantA = 'https://login.example/aaaa-1111/v2.0';
    await session(u.id, { providerId: 'entra', issuer: tenantA, subject: 'oid-1' });
    const b = await session(u.id, {
      providerId: 'entra',
      issuer: 'https://login.example/bbbb-2222/v2.0',
      subject: 'oid-1',
    });
    assert.equal(statusOf(await post('entra', { logout_token: token({ issuer: tenantA, subject: 'oid-1' }) })), 200);
    assert.deepEqual(await live(u.id), [b.sid]);
    const template = { issuer: 'https://login.example/{tenantid}/v2.0' };
    assert.equal(issuerOfProvider(template, tenantA), true);
    for (const bad of [
      'https://login.example/{tenantid}/v2.0',
      'https://login.example//v2.0',
      'https://login.example/a/b/v2.0',
      'https://login.example/aaaa/v2.0/x',
      'https://evil.example/aaaa/v2.0',
    ])
      assert.equal(issuerOfProvider(template, bad), false, bad);
    assert.equal(issuerOfProvider({ issuer: ACME }, ACME), true);
    assert.equal(issuerOfProvider({ issuer: ACME }, `${ACME}/`), false);
  });
});

/**
 * The contract of the session store (ports/sessions.ts). stores.test.ts declares it for every SQL
 * backend (backends.ts), with `stores` the open backend's stores.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Stores } from '../../src/ports/index.ts';
import { NOW, uid, session, user } from './factories.ts';

export function sessionsContract(stores: Stores): void {
  describe('sessions', () => {
    it('create/get/touch/delete', async () => {
      const s = session();
      await stores.sessions.create(s);
      assert.deepEqual(await stores.sessions.get(s.idHash), s);
      await stores.sessions.touch(s.idHash, NOW + 42);
      assert.deepEqual(await stores.sessions.get(s.idHash), { ...s, lastSeenAt: NOW + 42 });
      await stores.sessions.delete(s.idHash);
      assert.equal(await stores.sessions.get(s.idHash), undefined);
      await stores.sessions.delete(s.idHash); // idempotent
    });
    it('getForClient: the session with its user, admin role and consent to that client, each as its own store answers', async () => {
      const u = user({ mfaRequired: true, locale: 'de' });
      await stores.users.create(u);
      const [clientId, otherClient] = [uid('client'), uid('client')];
      await stores.adminRoles.set({ userId: u.id, role: 'support', grantedAt: NOW, grantedBy: 'cli' });
      await stores.consents.grant(u.id, clientId, ['openid', 'profile'], NOW, ['https://api.example/']);
      await stores.consents.grant(u.id, clientId, ['email'], NOW + 1);
      // Another user's consent to the same client, and this user's to another client, are not this one.
      const other = user();
      await stores.users.create(other);
      await stores.consents.grant(other.id, clientId, ['openid'], NOW);
      await stores.consents.grant(u.id, otherClient, ['openid'], NOW);
      const s = session({
        userId: u.id,
        upstream: { providerId: 'corp', issuer: 'https://idp.example', subject: 'x' },
      });
      await stores.sessions.create(s);
      const consent = await stores.consents.get(u.id, clientId);
      assert.ok(consent);
      assert.deepEqual(await stores.sessions.getForClient(s.idHash, clientId), {
        session: await stores.sessions.get(s.idHash),
        user: await stores.users.get(u.id),
        adminRole: 'support',
        consent,
      });
      assert.deepEqual((await stores.sessions.getForClient(s.idHash, uid('client')))?.consent, undefined);
      assert.equal(await stores.sessions.getForClient(uid('sess'), clientId), undefined);
      // What changes after the grant is read as it is now: consent revoked, role removed, user disabled.
      await stores.consents.revoke(u.id, clientId);
      await stores.adminRoles.remove(u.id);
      await stores.users.put({ ...u, disabled: true });
      assert.deepEqual(await stores.sessions.getForClient(s.idHash, clientId), {
        session: s,
        user: { ...u, disabled: true },
        adminRole: undefined,
        consent: undefined,
      });
    });
    it('getForClient: a session without a user, role or consent; an expired session too (the caller judges expiry)', async () => {
      const orphan = session({ expiresAt: NOW - 1, lastSeenAt: NOW - 100 });
      await stores.sessions.create(orphan);
      assert.deepEqual(await stores.sessions.getForClient(orphan.idHash, uid('client')), {
        session: orphan,
        user: undefined,
        adminRole: undefined,
        consent: undefined,
      });
      const u = user();
      await stores.users.create(u);
      const plain = session({ userId: u.id });
      await stores.sessions.create(plain);
      assert.deepEqual(await stores.sessions.getForClient(plain.idHash, uid('client')), {
        session: plain,
        user: u,
        adminRole: undefined,
        consent: undefined,
      });
      await stores.sessions.delete(plain.idHash);
      assert.equal(await stores.sessions.getForClient(plain.idHash, uid('client')), undefined);
    });
    it('getForClient: calls at once (one statement on PostgreSQL) each get their own session, user, role and consent', async () => {
      const [a, b] = [user(), user()];
      for (const u of [a, b]) await stores.users.create(u);
      const [c1, c2] = [uid('client'), uid('client')];
      await stores.adminRoles.set({ userId: b.id, role: 'auditor', grantedAt: NOW, grantedBy: 'cli' });
      await stores.consents.grant(a.id, c1, ['openid'], NOW);
      await stores.consents.grant(b.id, c2, ['email'], NOW);
      const [sa, sb, orphan] = [session({ userId: a.id }), session({ userId: b.id }), session()];
      for (const s of [sa, sb, orphan]) await stores.sessions.create(s);
      const asks: [string, string][] = [
        [sa.idHash, c1],
        [sa.idHash, c2],
        [sb.idHash, c1],
        [sb.idHash, c2],
        [orphan.idHash, c1],
        [uid('sess'), c1],
        [sa.idHash, c1],
      ];
      const together = await Promise.all(asks.map(([h, c]) => stores.sessions.getForClient(h, c)));
      const alone = [];
      for (const [h, c] of asks) alone.push(await stores.sessions.getForClient(h, c));
      assert.deepEqual(together, alone);
      assert.deepEqual(
        together.map((r) => r && [r.session.idHash, r.user?.id, r.adminRole, r.consent?.clientId]),
        [
          [sa.idHash, a.id, undefined, c1],
          [sa.idHash, a.id, undefined, undefined],
          [sb.idHash, b.id, 'auditor', undefined],
          [sb.idHash, b.id, 'auditor', c2],
          [orphan.idHash, undefined, undefined, undefined],
          undefined,
          [sa.idHash, a.id, undefined, c1],
        ],
      );
    });
    it('deleteByUser removes all sessions of that user only', async () => {
      const userId = uid('user');
      const mine = [session({ userId }), session({ userId }), session({ userId })];
      const other = session();
      for (const s of [...mine, other]) await stores.sessions.create(s);
      assert.equal(await stores.sessions.deleteByUser(userId), 3);
      assert.equal(await stores.sessions.get(mine[0]!.idHash), undefined);
      assert.deepEqual(await stores.sessions.get(other.idHash), other);
      assert.equal(await stores.sessions.deleteByUser(userId), 0);
    });
    it("listByUser lists that user's sessions (expired ones too, until cleanup), most recently seen first", async () => {
      const userId = uid('user');
      const older = session({ userId, lastSeenAt: NOW - 10 });
      const newer = session({
        userId,
        lastSeenAt: NOW - 5,
        amr: ['pwd', 'otp', 'mfa'],
        ip: '192.0.2.1',
        userAgent: 'UA',
      });
      const expired = session({ userId, lastSeenAt: NOW - 20, expiresAt: NOW - 1 });
      for (const s of [older, session(), expired, newer]) await stores.sessions.create(s);
      assert.deepEqual(await stores.sessions.listByUser(userId), [newer, older, expired]);
      assert.deepEqual(await stores.sessions.listByUser(uid('user')), []);
    });
    it('addClient is idempotent (extends expiry); takeClients returns and removes the clients of one sid', async () => {
      const [sid, other, userId] = [uid('sid'), uid('sid'), uid('user')];
      const e = (clientId: string, s = sid, expiresAt = NOW + 100) => ({
        sid: s,
        clientId,
        userId,
        createdAt: NOW,
        expiresAt,
      });
      await stores.sessions.addClient(e('rp-a'));
      await stores.sessions.addClient(e('rp-a', sid, NOW + 200));
      await stores.sessions.addClient(e('rp-b'));
      await stores.sessions.addClient(e('rp-a', other));
      const taken = await stores.sessions.takeClients(sid);
      assert.deepEqual(
        taken.sort((a, b) => a.clientId.localeCompare(b.clientId)),
        [e('rp-a', sid, NOW + 200), e('rp-b')],
      );
      assert.deepEqual(await stores.sessions.takeClients(sid), []);
      assert.deepEqual(await stores.sessions.takeClients(uid('sid')), []);
      assert.deepEqual(await stores.sessions.takeClientsByUser(userId), [e('rp-a', other)]);
      assert.deepEqual(await stores.sessions.takeClientsByUser(userId), []);
    });
    it('a session records the upstream identity and upstream session it was signed in with (issue 17)', async () => {
      const withSid = session({
        upstream: { providerId: 'corp', issuer: 'https://idp.example.com', subject: 's', sid: 'u-sid' },
      });
      const withoutSid = session({ upstream: { providerId: 'corp', issuer: 'https://idp.example.com', subject: 's' } });
      for (const s of [withSid, withoutSid]) await stores.sessions.create(s);
      assert.deepEqual(await stores.sessions.get(withSid.idHash), withSid);
      assert.deepEqual(await stores.sessions.get(withoutSid.idHash), withoutSid);
      assert.equal((await stores.sessions.get(withSid.idHash))!.upstream?.sid, 'u-sid');
    });
    it('deleteByUpstream ends the sessions of one upstream subject or upstream sid (both: both must match), at that provider and issuer only', async () => {
      const [providerId, issuer, subject] = [uid('p'), 'https://idp.example.com', uid('sub')];
      const up = (over: Partial<{ providerId: string; issuer: string; subject: string; sid: string }>) =>
        session({ upstream: { providerId, issuer, subject, ...over } });
      const a1 = up({ sid: 'sid-1' });
      const a2 = up({ sid: 'sid-2' });
      const a3 = up({});
      const otherSubject = up({ subject: uid('sub'), sid: 'sid-1' });
      const otherIssuer = up({ issuer: 'https://other.example.com', sid: 'sid-1' });
      const otherProvider = up({ providerId: uid('p'), sid: 'sid-1' });
      const local = session();
      const all = [a1, a2, a3, otherSubject, otherIssuer, otherProvider, local];
      for (const s of all) await stores.sessions.create(s);
      const ids = (r: { idHash: string }[]) => r.map((s) => s.idHash).sort();
      assert.deepEqual(await stores.sessions.deleteByUpstream(providerId, issuer, {}), [], 'neither: nothing matches');
      assert.deepEqual(await stores.sessions.deleteByUpstream(providerId, issuer, { subject, sid: 'sid-9' }), []);
      assert.deepEqual(await stores.sessions.deleteByUpstream(providerId, issuer, { subject, sid: 'sid-2' }), [a2]);
      // By sid alone: only sessions of that upstream session at that provider and issuer.
      assert.deepEqual(
        ids(await stores.sessions.deleteByUpstream(providerId, issuer, { sid: 'sid-1' })),
        ids([a1, otherSubject]),
      );
      assert.deepEqual(await stores.sessions.deleteByUpstream(providerId, issuer, { subject }), [a3]);
      assert.deepEqual(await stores.sessions.deleteByUpstream(providerId, issuer, { subject }), []);
      for (const s of [otherIssuer, otherProvider, local]) assert.deepEqual(await stores.sessions.get(s.idHash), s);
      for (const s of [a1, a2, a3, otherSubject]) assert.equal(await stores.sessions.get(s.idHash), undefined);
    });
    it('50 concurrent takeClients: each client goes to exactly one caller', async () => {
      const [sid, userId] = [uid('sid'), uid('user')];
      for (const c of ['rp-1', 'rp-2', 'rp-3'])
        await stores.sessions.addClient({ sid, clientId: c, userId, createdAt: NOW, expiresAt: NOW + 100 });
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          i % 2 ? stores.sessions.takeClients(sid) : stores.sessions.takeClientsByUser(userId),
        ),
      );
      assert.deepEqual(
        results
          .flat()
          .map((r) => r.clientId)
          .sort(),
        ['rp-1', 'rp-2', 'rp-3'],
      );
    });
  });
}

/**
 * The contract of the grant and revocation stores (ports/grants.ts), with the sender constraints
 * (DPoP, certificates) and claims requests that grants and codes keep. stores.test.ts declares it
 * for every SQL backend (backends.ts), with `stores` the open backend's stores.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  GrantRecord,
  IssuedAccessToken,
  RefreshTokenRecord,
  RotateResult,
  Stores,
} from '../../src/ports/index.ts';
import {
  NOW,
  uid,
  times,
  tally,
  user,
  code,
  grant,
  refreshFor,
  access,
  seedGrant,
  nextFor,
  accepted,
  refused,
} from './factories.ts';

export function grantsContract(stores: Stores): void {
  /**
   * A grant bound to a sender constraint (DPoP key or certificate): stored and read back whole,
   * with its refresh token; returns the grant that the next rotation sees.
   */
  async function boundGrantRoundTrip(binding: Partial<GrantRecord>): Promise<GrantRecord | undefined> {
    const g = grant(binding);
    const rt = refreshFor(g);
    await stores.grants.create(g, rt, access());
    assert.deepEqual(await stores.grants.get(g.id), g);
    assert.deepEqual(await stores.grants.getRefresh(rt.tokenHash), { refresh: rt, grant: g });
    let seen: GrantRecord | undefined;
    await stores.grants.rotate(
      rt.tokenHash,
      NOW + 1,
      (_r, gr) => {
        seen = gr;
        return accepted();
      },
      nextFor(),
    );
    return seen;
  }

  describe('DPoP bindings', () => {
    it('codes and grants keep the DPoP key they are bound to', async () => {
      const jkt = 'j'.repeat(43);
      const c = code({ dpopJkt: jkt });
      await stores.codes.create(c);
      assert.deepEqual(await stores.codes.consume(c.codeHash, NOW), { status: 'ok', code: c, user: undefined });
      assert.equal((await boundGrantRoundTrip({ dpopJkt: jkt }))?.dpopJkt, jkt);
    });
  });

  describe('a grant made under a browser session', () => {
    it('records the client under the session with the grant, with and without a refresh token, again extending it', async () => {
      const g = grant({ sid: uid('sid') });
      const entry = { sid: g.sid!, clientId: g.clientId, userId: g.userId, createdAt: NOW, expiresAt: NOW + 100 };
      await stores.grants.create(g, refreshFor(g), access(), entry);
      assert.deepEqual(await stores.grants.get(g.id), g);
      const again = grant({ sid: g.sid, clientId: g.clientId, userId: g.userId });
      await stores.grants.create(again, null, access(), { ...entry, createdAt: NOW + 1, expiresAt: NOW + 200 });
      assert.deepEqual(await stores.grants.get(again.id), again);
      assert.deepEqual(await stores.sessions.takeClients(g.sid!), [{ ...entry, expiresAt: NOW + 200 }]);
      // Without one, nothing is recorded under the session.
      const alone = grant({ sid: uid('sid') });
      await stores.grants.create(alone, null, access());
      assert.deepEqual(await stores.sessions.takeClients(alone.sid!), []);
    });
  });

  describe('claims requests (OIDC Core 5.5)', () => {
    it('codes and grants keep the claims asked for; records without them have none', async () => {
      const claims = { id_token: ['email', 'name'], userinfo: ['family_name'] };
      const c = code({ claims });
      await stores.codes.create(c);
      assert.deepEqual(await stores.codes.consume(c.codeHash, NOW), { status: 'ok', code: c, user: undefined });
      const g = grant({ claims });
      const rt = refreshFor(g);
      const a = access();
      await stores.grants.create(g, rt, a);
      assert.deepEqual(await stores.grants.get(g.id), g);
      assert.deepEqual((await stores.grants.findByAccessToken(a.jti))?.claims, claims);
      const plain = grant();
      await stores.grants.create(plain, null, access());
      assert.equal((await stores.grants.get(plain.id))?.claims, undefined);
    });
  });

  describe('certificate bindings (RFC 8705)', () => {
    it('grants keep the certificate thumbprint they are bound to, through rotation', async () => {
      const x5t = 'x'.repeat(43);
      assert.equal((await boundGrantRoundTrip({ certThumbprint: x5t }))?.certThumbprint, x5t);
      const plain = grant();
      await stores.grants.create(plain, null, access());
      assert.equal((await stores.grants.get(plain.id))?.certThumbprint, undefined);
    });
  });

  describe('grants', () => {
    it('findByAccessToken finds the grant an access token came from; addAccessToken links one more, which revocation reaches', async () => {
      const { g, at } = await seedGrant(stores);
      assert.deepEqual(await stores.grants.findByAccessToken(at.jti), g);
      assert.equal(await stores.grants.findByAccessToken(uid('jti')), undefined);
      const extra = access();
      assert.equal(await stores.grants.addAccessToken(g.id, extra), true);
      assert.deepEqual(await stores.grants.findByAccessToken(extra.jti), g);
      assert.equal(await stores.grants.addAccessToken(uid('grant'), access()), false);
      await stores.grants.revoke(g.id, NOW);
      assert.equal(await stores.revocations.isAccessTokenRevoked(extra.jti), true);
      const late = access();
      assert.equal(await stores.grants.addAccessToken(g.id, late), false);
      assert.equal(await stores.grants.findByAccessToken(late.jti), undefined);
    });
    it('addAccessToken racing a revocation: every token it linked ends up revoked', async () => {
      const { g } = await seedGrant(stores);
      const tokens = Array.from({ length: 30 }, () => access());
      const adds = tokens.map((t) => stores.grants.addAccessToken(g.id, t));
      const [revoked, ...added] = await Promise.all([stores.grants.revoke(g.id, NOW), ...adds]);
      assert.equal(revoked, true);
      for (const [i, ok] of added.entries()) {
        if (ok)
          assert.equal(
            await stores.revocations.isAccessTokenRevoked(tokens[i]!.jti),
            true,
            `token ${i} linked but not revoked`,
          );
      }
    });
    it('create stores the grant, its refresh token and access token; get/getRefresh read them', async () => {
      const { g, rt, at } = await seedGrant(stores);
      assert.deepEqual(await stores.grants.get(g.id), g);
      assert.deepEqual(await stores.grants.getRefresh(rt.tokenHash), { refresh: rt, grant: g });
      assert.equal(await stores.grants.get(uid('grant')), undefined);
      assert.equal(await stores.grants.getRefresh(uid('rt')), undefined);
      assert.equal(await stores.revocations.isAccessTokenRevoked(at.jti), false);
    });
    it('create without a refresh token, and with nullable fields null', async () => {
      const g = grant({ resource: null, sid: null, authTime: null, amr: [] });
      const at = access();
      await stores.grants.create(g, null, at);
      assert.deepEqual(await stores.grants.get(g.id), g);
      assert.equal(await stores.grants.revoke(g.id, NOW), true);
      assert.equal(await stores.revocations.isAccessTokenRevoked(at.jti), true);
    });
    it('create is one transaction: a failing part leaves nothing behind', async () => {
      const { at } = await seedGrant(stores);
      const g = grant();
      await assert.rejects(stores.grants.create(g, refreshFor(g), at)); // duplicate jti
      assert.equal(await stores.grants.get(g.id), undefined);
    });

    it('rotate: marks the token used, stores its successor and records the new access token', async () => {
      const { g, rt } = await seedGrant(stores);
      const issued: IssuedAccessToken[] = [];
      let seen: unknown;
      let nextRefresh: RefreshTokenRecord | undefined;
      const result = await stores.grants.rotate(
        rt.tokenHash,
        NOW + 5,
        (r, gr) => {
          seen = { r, gr };
          return { ok: true, value: 'checked' };
        },
        (r, gr, value) => {
          const n = nextFor(issued)(r);
          nextRefresh = n.refresh;
          assert.deepEqual(gr, g);
          assert.equal(value, 'checked');
          return n;
        },
      );
      assert.deepEqual(seen, { r: rt, gr: g });
      // The result carries the verdict's value and what next() made.
      assert.deepEqual(result, {
        status: 'rotated',
        grant: g,
        previous: { ...rt, usedAt: NOW + 5 },
        accepted: 'checked',
        issued: { refresh: nextRefresh, access: issued[0] },
      });
      assert.deepEqual(await stores.grants.getRefresh(rt.tokenHash), { refresh: { ...rt, usedAt: NOW + 5 }, grant: g });
      assert.deepEqual(await stores.grants.getRefresh(nextRefresh!.tokenHash), { refresh: nextRefresh, grant: g });
      // the new access token belongs to the grant: revoking the grant reaches it
      await stores.grants.revoke(g.id, NOW + 6);
      assert.equal(await stores.revocations.isAccessTokenRevoked(issued[0]!.jti), true);
    });
    it('rotate: unknown token is invalid', async () => {
      const r = await stores.grants.rotate(uid('rt'), NOW, accepted, nextFor());
      assert.deepEqual(r, { status: 'invalid' });
    });
    it('rotate: accept() returning false changes nothing', async () => {
      const { g, rt, at } = await seedGrant(stores);
      let nextCalled = false;
      const r = await stores.grants.rotate(rt.tokenHash, NOW, refused, (p) => {
        nextCalled = true;
        return nextFor()(p);
      });
      assert.deepEqual(r, { status: 'invalid' });
      assert.equal(nextCalled, false);
      assert.deepEqual(await stores.grants.getRefresh(rt.tokenHash), { refresh: rt, grant: g });
      assert.equal(await stores.revocations.isAccessTokenRevoked(at.jti), false);
      // and it still rotates afterwards
      assert.equal((await stores.grants.rotate(rt.tokenHash, NOW, accepted, nextFor())).status, 'rotated');
    });
    it('rotate: a rotated-out token presented again revokes the family and its access tokens', async () => {
      const { g, rt, at } = await seedGrant(stores);
      const issued: IssuedAccessToken[] = [];
      let second: RefreshTokenRecord | undefined;
      const next = (p: RefreshTokenRecord) => {
        const n = nextFor(issued)(p);
        second = n.refresh;
        return n;
      };
      assert.equal((await stores.grants.rotate(rt.tokenHash, NOW + 1, accepted, next)).status, 'rotated');
      const replay = await stores.grants.rotate(rt.tokenHash, NOW + 2, accepted, nextFor());
      assert.deepEqual(replay, { status: 'reused', grantId: g.id, clientId: g.clientId });
      assert.equal((await stores.grants.get(g.id))!.revokedAt, NOW + 2);
      for (const jti of [at.jti, issued[0]!.jti])
        assert.equal(await stores.revocations.isAccessTokenRevoked(jti), true);
      const successor = await stores.grants.getRefresh(second!.tokenHash);
      assert.equal(successor!.refresh.usedAt, NOW + 2);
      assert.equal(successor!.grant.revokedAt, NOW + 2);
      // the successor no longer rotates, and further replays are merely invalid
      assert.deepEqual(await stores.grants.rotate(second!.tokenHash, NOW + 3, accepted, nextFor()), {
        status: 'invalid',
      });
      assert.deepEqual(await stores.grants.rotate(rt.tokenHash, NOW + 3, accepted, nextFor()), { status: 'invalid' });
    });
    it('50 concurrent rotations of one token: exactly one rotated; the replays revoke the family', async () => {
      const { g, rt, at } = await seedGrant(stores);
      const issued: IssuedAccessToken[] = [];
      const successors: RefreshTokenRecord[] = [];
      const next = (p: RefreshTokenRecord) => {
        const n = nextFor(issued)(p);
        successors.push(n.refresh);
        return n;
      };
      const results = await times(50, () => stores.grants.rotate(rt.tokenHash, NOW + 1, accepted, next));
      assert.deepEqual(tally(results), { rotated: 1, reused: 1, invalid: 48 });
      assert.equal(successors.length, 1);
      const after = await stores.grants.getRefresh(successors[0]!.tokenHash);
      assert.notEqual(after!.refresh.usedAt, null);
      assert.notEqual(after!.grant.revokedAt, null);
      assert.deepEqual(await stores.grants.rotate(successors[0]!.tokenHash, NOW + 2, accepted, nextFor()), {
        status: 'invalid',
      });
      for (const jti of [at.jti, issued[0]!.jti])
        assert.equal(await stores.revocations.isAccessTokenRevoked(jti), true);
      assert.equal((await stores.grants.listActiveByUser(g.userId, NOW)).length, 0);
    });
    it('grants and codes keep their authorization_details (RFC 9396)', async () => {
      const details = JSON.stringify([{ type: 'account_information', actions: ['read'] }]);
      const { g } = await seedGrant(stores, { authorizationDetails: details });
      assert.equal((await stores.grants.get(g.id))!.authorizationDetails, details);
      const c = code({ authorizationDetails: details });
      await stores.codes.create(c);
      const consumed = await stores.codes.consume(c.codeHash, NOW);
      assert.equal(consumed.status === 'ok' && consumed.code.authorizationDetails, details);
    });
    it("rotate and useRefresh give accept the grant's user as stored (undefined when there is none)", async () => {
      const owner = user({ disabled: true });
      await stores.users.put(owner);
      const seen: unknown[] = [];
      const { rt } = await seedGrant(stores, { userId: owner.id });
      await stores.grants.rotate(
        rt.tokenHash,
        NOW + 1,
        (_r, _g, u) => {
          seen.push(u);
          return refused();
        },
        nextFor(),
      );
      await stores.grants.useRefresh(
        rt.tokenHash,
        NOW + 1,
        NOW + 100,
        (_r, _g, u) => {
          seen.push(u);
          return refused();
        },
        () => access(),
      );
      const { rt: orphan } = await seedGrant(stores);
      await stores.grants.rotate(
        orphan.tokenHash,
        NOW + 1,
        (_r, _g, u) => {
          seen.push(u);
          return refused();
        },
        nextFor(),
      );
      assert.deepEqual(seen, [owner, owner, undefined]);
    });
    it('useRefresh: keeps the token, moves its idle expiry (capped by the grant) and records the access token', async () => {
      const { g, rt } = await seedGrant(stores);
      const issued: IssuedAccessToken[] = [];
      let seen: unknown;
      const r = await stores.grants.useRefresh(
        rt.tokenHash,
        NOW + 5,
        NOW + 5 + 7200,
        (rr, gr) => {
          seen = { rr, gr };
          return accepted();
        },
        () => {
          const a = access();
          issued.push(a);
          return a;
        },
      );
      assert.deepEqual(seen, { rr: rt, gr: g });
      assert.deepEqual(r, {
        status: 'used',
        grant: g,
        refresh: { ...rt, expiresAt: NOW + 5 + 7200 },
        accepted: undefined,
        issued: issued[0],
      });
      assert.deepEqual(await stores.grants.getRefresh(rt.tokenHash), {
        refresh: { ...rt, expiresAt: NOW + 5 + 7200 },
        grant: g,
      });
      const capped = await stores.grants.useRefresh(rt.tokenHash, NOW + 6, NOW + 10 * 86400, accepted, () => access());
      assert.equal(capped.status === 'used' && capped.refresh.expiresAt, g.expiresAt);
      assert.deepEqual(
        await stores.grants.useRefresh(rt.tokenHash, NOW, NOW + 1, refused, () => assert.fail('next must not run')),
        { status: 'invalid' },
      );
      await stores.grants.revoke(g.id, NOW + 7);
      assert.equal(await stores.revocations.isAccessTokenRevoked(issued[0]!.jti), true);
      assert.deepEqual(await stores.grants.useRefresh(rt.tokenHash, NOW + 8, NOW + 100, accepted, () => access()), {
        status: 'invalid',
      });
      assert.deepEqual(await stores.grants.useRefresh(uid('rt'), NOW, NOW + 1, accepted, () => access()), {
        status: 'invalid',
      });
    });
    it('useRefresh: a token rotated out earlier is still reuse and revokes the family', async () => {
      const { g, rt, at } = await seedGrant(stores);
      assert.equal((await stores.grants.rotate(rt.tokenHash, NOW + 1, accepted, nextFor())).status, 'rotated');
      const r = await stores.grants.useRefresh(rt.tokenHash, NOW + 2, NOW + 100, accepted, () => access());
      assert.deepEqual(r, { status: 'reused', grantId: g.id, clientId: g.clientId });
      assert.equal(await stores.revocations.isAccessTokenRevoked(at.jti), true);
    });
    it('50 concurrent uses without rotation all succeed and each access token is recorded; a revocation racing them leaves none live', async () => {
      const { g, rt } = await seedGrant(stores);
      const issued: IssuedAccessToken[] = [];
      const results = await times(50, (i) =>
        i === 25
          ? stores.grants.revoke(g.id, NOW + 2).then(() => ({ status: 'revoke' }))
          : stores.grants.useRefresh(rt.tokenHash, NOW + 1, NOW + 100, accepted, () => {
              const a = access();
              issued.push(a);
              return a;
            }),
      );
      const t = tally(results);
      assert.equal((t.used ?? 0) + (t.invalid ?? 0), 49);
      assert.equal(issued.length, t.used ?? 0);
      for (const a of issued)
        assert.equal(
          await stores.revocations.isAccessTokenRevoked(a.jti),
          true,
          'every access token issued before the revocation is revoked',
        );
    });
    it('concurrent rotations along a chain and revocations neither deadlock nor leak a live token', async () => {
      const { g, rt } = await seedGrant(stores);
      const issued: IssuedAccessToken[] = [];
      let current = rt.tokenHash;
      // The two chains share `current`: one may present a token the other has just rotated, which is
      // reuse and revokes the grant itself (status 'reused'), possibly before any revoke() runs.
      let reuseRevocations = 0;
      const chain = async () => {
        for (let i = 0; i < 5; i++) {
          const r: RotateResult = await stores.grants.rotate(current, NOW + 1, accepted, (p) => {
            const n = nextFor(issued)(p);
            current = n.refresh.tokenHash;
            return n;
          });
          if (r.status === 'reused') reuseRevocations++;
          if (r.status !== 'rotated') return;
        }
      };
      const revokes = await Promise.all([
        chain(),
        ...Array.from({ length: 8 }, () => stores.grants.revoke(g.id, NOW + 1)),
        chain(),
      ]);
      assert.equal(
        revokes.filter((r) => r === true).length + reuseRevocations,
        1,
        'the grant is revoked exactly once, by revoke() or by reuse detection',
      );
      assert.notEqual((await stores.grants.get(g.id))!.revokedAt, null);
      for (const a of issued) assert.equal(await stores.revocations.isAccessTokenRevoked(a.jti), true);
      assert.deepEqual(await stores.grants.rotate(current, NOW + 2, accepted, nextFor()), { status: 'invalid' });
    });

    it('revoke: true once, false after and for unknown grants; the family is dead', async () => {
      const { g, rt, at } = await seedGrant(stores);
      assert.equal(await stores.grants.revoke(g.id, NOW + 7), true);
      assert.equal(await stores.grants.revoke(g.id, NOW + 8), false);
      assert.equal(await stores.grants.revoke(uid('grant'), NOW), false);
      assert.deepEqual(await stores.grants.getRefresh(rt.tokenHash), {
        refresh: { ...rt, usedAt: NOW + 7 },
        grant: { ...g, revokedAt: NOW + 7 },
      });
      assert.equal(await stores.revocations.isAccessTokenRevoked(at.jti), true);
      assert.deepEqual(await stores.grants.rotate(rt.tokenHash, NOW + 9, accepted, nextFor()), { status: 'invalid' });
    });
    it('revokeByUserAndClient revokes every active grant of the pair only', async () => {
      const userId = uid('user');
      const clientId = uid('client');
      const a = await seedGrant(stores, { userId, clientId });
      const b = await seedGrant(stores, { userId, clientId });
      const already = await seedGrant(stores, { userId, clientId });
      await stores.grants.revoke(already.g.id, NOW);
      const otherClient = await seedGrant(stores, { userId });
      assert.equal(await stores.grants.revokeByUserAndClient(userId, clientId, NOW + 1), 2);
      for (const { at } of [a, b]) assert.equal(await stores.revocations.isAccessTokenRevoked(at.jti), true);
      assert.equal(await stores.revocations.isAccessTokenRevoked(otherClient.at.jti), false);
      assert.deepEqual(
        (await stores.grants.listActiveByUser(userId, NOW)).map((g) => g.id),
        [otherClient.g.id],
      );
      assert.equal(await stores.grants.revokeByUserAndClient(userId, clientId, NOW + 2), 0);
    });
    it("listActiveByUser excludes revoked, expired and other users' grants", async () => {
      const userId = uid('user');
      const live1 = await seedGrant(stores, { userId, createdAt: NOW - 2 });
      const live2 = await seedGrant(stores, { userId, createdAt: NOW - 1 });
      await seedGrant(stores, { userId, expiresAt: NOW });
      const revoked = await seedGrant(stores, { userId });
      await stores.grants.revoke(revoked.g.id, NOW);
      await seedGrant(stores);
      assert.deepEqual(await stores.grants.listActiveByUser(userId, NOW), [live1.g, live2.g]);
    });
  });

  describe('refresh reuse grace (rotate with grace)', () => {
    /** A rotation's next that also hands the store a replay (the caller's sealed response) to keep. */
    const sealing = (made: { refresh: RefreshTokenRecord; replay: string }[] = []) => {
      const next = nextFor();
      return (prev: RefreshTokenRecord) => {
        const rotation = { ...next(prev), replay: `sealed ${uid('response')}` };
        made.push(rotation);
        return rotation;
      };
    };
    const mustNotRun = () => assert.fail('next must not run for a replay');
    const grace = (binding = 'binding-a', until = NOW + 31) => ({ binding, until });
    /** A grant rotated once with grace at NOW + 1: the presented token, its successor and what was kept. */
    const rotatedOnce = async (over: Partial<GrantRecord> = {}) => {
      const seeded = await seedGrant(stores, over);
      const made: { refresh: RefreshTokenRecord; replay: string }[] = [];
      const first = await stores.grants.rotate(seeded.rt.tokenHash, NOW + 1, accepted, sealing(made), grace());
      assert.equal(first.status, 'rotated');
      return { ...seeded, successor: made[0]!.refresh, replay: made[0]!.replay };
    };
    const live = async (g: GrantRecord) => assert.equal((await stores.grants.get(g.id))!.revokedAt, null);
    const revoked = async (g: GrantRecord, at: number) => assert.equal((await stores.grants.get(g.id))!.revokedAt, at);

    it('within the window, the same binding gets what the rotation kept; nothing is written, the successor still rotates', async () => {
      const { g, rt, at, successor, replay } = await rotatedOnce();
      let seen: unknown;
      const again = await stores.grants.rotate(
        rt.tokenHash,
        NOW + 30,
        (r, gr) => {
          seen = { r, gr };
          return { ok: true, value: 'checked again' };
        },
        mustNotRun,
        grace('binding-a', NOW + 60),
      );
      assert.deepEqual(again, { status: 'replayed', grant: g, accepted: 'checked again', replay, rotatedAt: NOW + 1 });
      // accept judged the presented (used) token and its grant
      assert.deepEqual(seen, { r: { ...rt, usedAt: NOW + 1 }, gr: g });
      await live(g);
      assert.equal(await stores.revocations.isAccessTokenRevoked(at.jti), false);
      assert.deepEqual(await stores.grants.getRefresh(successor.tokenHash), { refresh: successor, grant: g });
      assert.equal((await stores.grants.rotate(successor.tokenHash, NOW + 31, accepted, nextFor())).status, 'rotated');
    });
    it("within the window, accept's refusal is returned as for a live token and revokes nothing", async () => {
      const { g, rt } = await rotatedOnce();
      const refusal = await stores.grants.rotate(
        rt.tokenHash,
        NOW + 2,
        () => ({ ok: false, why: 'user disabled' }) as const,
        mustNotRun,
        grace(),
      );
      assert.deepEqual(refusal, { status: 'invalid', why: 'user disabled' });
      await live(g);
    });
    const refusedCases: { name: string; when: number; presented?: { binding: string; until: number } }[] = [
      { name: 'another binding (client, DPoP key, certificate or request)', when: NOW + 2, presented: grace('b') },
      { name: 'at the end of the window', when: NOW + 31, presented: grace() },
      { name: 'after the window', when: NOW + 400, presented: grace() },
      { name: 'without grace (the setting off)', when: NOW + 2 },
    ];
    for (const { name, when, presented } of refusedCases) {
      it(`${name}: reuse, which revokes the family as without grace`, async () => {
        const { g, rt, successor } = await rotatedOnce();
        const r = await stores.grants.rotate(rt.tokenHash, when, accepted, mustNotRun, presented);
        assert.deepEqual(r, { status: 'reused', grantId: g.id, clientId: g.clientId });
        await revoked(g, when);
        assert.deepEqual(await stores.grants.rotate(successor.tokenHash, when, accepted, nextFor(), grace()), {
          status: 'invalid',
        });
      });
    }
    it('once the successor was used itself, the token it replaced is reuse again', async () => {
      const { g, rt, successor } = await rotatedOnce();
      const onwards = await stores.grants.rotate(successor.tokenHash, NOW + 2, accepted, sealing(), grace());
      assert.equal(onwards.status, 'rotated');
      const r = await stores.grants.rotate(rt.tokenHash, NOW + 3, accepted, mustNotRun, grace());
      assert.deepEqual(r, { status: 'reused', grantId: g.id, clientId: g.clientId });
      await revoked(g, NOW + 3);
    });
    it('the successor rotated without grace: still reuse (its use alone ends the replay)', async () => {
      const { g, rt, successor } = await rotatedOnce();
      assert.equal((await stores.grants.rotate(successor.tokenHash, NOW + 2, accepted, nextFor())).status, 'rotated');
      const r = await stores.grants.rotate(rt.tokenHash, NOW + 3, accepted, mustNotRun, grace());
      assert.equal(r.status, 'reused');
      await revoked(g, NOW + 3);
    });
    it('an older token of the family (not the one rotated last) is reuse', async () => {
      const { g, rt, successor } = await rotatedOnce();
      const made: { refresh: RefreshTokenRecord; replay: string }[] = [];
      await stores.grants.rotate(successor.tokenHash, NOW + 2, accepted, sealing(made), grace());
      // The last rotation is still in its window, for its own token...
      const kept = await stores.grants.rotate(successor.tokenHash, NOW + 3, accepted, mustNotRun, grace());
      assert.equal(kept.status === 'replayed' && kept.replay, made[0]!.replay);
      // ...but not for the one before it.
      assert.equal((await stores.grants.rotate(rt.tokenHash, NOW + 3, accepted, mustNotRun, grace())).status, 'reused');
      await revoked(g, NOW + 3);
    });
    it('a rotation whose next kept no replay leaves nothing to answer with: reuse', async () => {
      const { g, rt } = await seedGrant(stores);
      assert.equal((await stores.grants.rotate(rt.tokenHash, NOW + 1, accepted, nextFor(), grace())).status, 'rotated');
      assert.equal((await stores.grants.rotate(rt.tokenHash, NOW + 2, accepted, mustNotRun, grace())).status, 'reused');
      await revoked(g, NOW + 2);
    });
    it('an expired grant or a revoked family: no replay', async () => {
      const short = await rotatedOnce({ expiresAt: NOW + 5 });
      const late = await stores.grants.rotate(short.rt.tokenHash, NOW + 5, accepted, mustNotRun, grace());
      assert.equal(late.status, 'reused');
      const { g, rt } = await rotatedOnce();
      await stores.grants.revoke(g.id, NOW + 2);
      assert.deepEqual(await stores.grants.rotate(rt.tokenHash, NOW + 3, accepted, mustNotRun, grace()), {
        status: 'invalid',
      });
    });
    it('50 concurrent presentations of one token within the window: one rotation, 49 replays of it, the family kept', async () => {
      const { g, rt, at } = await seedGrant(stores);
      const made: { refresh: RefreshTokenRecord; replay: string }[] = [];
      const next = sealing(made);
      const results = await times(50, () => stores.grants.rotate(rt.tokenHash, NOW + 1, accepted, next, grace()));
      assert.deepEqual(tally(results), { rotated: 1, replayed: 49 });
      assert.equal(made.length, 1, 'one successor made, none re-minted');
      for (const r of results) {
        if (r.status === 'rotated') assert.equal(r.issued.replay, made[0]!.replay);
        else assert.equal(r.status === 'replayed' && r.replay, made[0]!.replay);
      }
      await live(g);
      assert.equal(await stores.revocations.isAccessTokenRevoked(at.jti), false);
      assert.equal(
        (await stores.grants.rotate(made[0]!.refresh.tokenHash, NOW + 2, accepted, nextFor())).status,
        'rotated',
      );
    });
    it('concurrent presentations with two bindings: the first rotates, the other binding revokes the family once', async () => {
      const { g, rt } = await seedGrant(stores);
      const results = await times(50, (i) =>
        stores.grants.rotate(rt.tokenHash, NOW + 1, accepted, sealing(), grace(i % 2 ? 'binding-b' : 'binding-a')),
      );
      const t = tally(results);
      assert.equal(t.rotated, 1);
      assert.equal(t.reused, 1, 'the family is revoked exactly once');
      assert.equal((t.replayed ?? 0) + (t.invalid ?? 0), 48);
      assert.notEqual((await stores.grants.get(g.id))!.revokedAt, null);
    });
  });

  describe('revocations', () => {
    it('revokeAccessToken is idempotent; isAccessTokenRevoked looks it up', async () => {
      const jti = uid('jti');
      assert.equal(await stores.revocations.isAccessTokenRevoked(jti), false);
      await stores.revocations.revokeAccessToken(jti, NOW + 60);
      await stores.revocations.revokeAccessToken(jti, NOW + 60);
      assert.equal(await stores.revocations.isAccessTokenRevoked(jti), true);
    });
    it('revoking a single access token does not touch the grant', async () => {
      const { g, at } = await seedGrant(stores);
      await stores.revocations.revokeAccessToken(at.jti, at.expiresAt);
      assert.equal((await stores.grants.get(g.id))!.revokedAt, null);
      assert.equal(await stores.grants.revoke(g.id, NOW), true); // and the grant's revocation copes with the duplicate
    });
  });
}
